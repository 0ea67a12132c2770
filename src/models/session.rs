//! Officers' sessions, kept in the database so that every app instance sees them, and so that ending one
//! (signing out, or an admin disabling the account) takes effect on the next request wherever it lands. Only
//! the SHA-256 of each session id is stored (see `auth::secret`).

use super::user::User;
use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Starts a session for `user_id` ending at `expires_at` at the latest. The caller holds the write transaction.
pub fn create(
    conn: &mut DbConnection,
    id_hash: &str,
    user_id: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(id_hash),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// A session with its account, if the account is not disabled: one query, for every signed-in request.
pub fn find(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(id_hash).and(users::disabled.eq(false)))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConnection, id_hash: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id_hash)).set(sessions::last_seen_at.eq(at)).execute(conn).map(drop)
}

pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id_hash)).execute(conn).map(drop)
}

/// Ends every session of an account; how many there were.
pub fn delete_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Deletes sessions past either timeout. Safe with several instances: deleting twice is harmless.
pub fn delete_ended(conn: &mut DbConnection, now: NaiveDateTime, idle: Duration) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now).or(sessions::last_seen_at.le(now - idle))))
        .execute(conn)
}
