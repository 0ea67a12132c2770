//! Officers' links sent by email — an admin's invitation to set a first password, and a password reset — in
//! `account_links`. Only the SHA-256 of each link's token is stored (see `auth::secret`); a link works once,
//! until it expires, and a newer link of the same purpose ends the older ones.

use crate::db::schema::account_links;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What a link is for; stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_links)]
pub struct AccountLink {
    pub token_hash: String,
    pub user_id: i64,
    pub purpose: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Adds a link for `user_id`. The caller holds the write transaction.
pub fn create(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i64,
    purpose: Purpose,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(account_links::table)
        .values((
            account_links::token_hash.eq(token_hash),
            account_links::user_id.eq(user_id),
            account_links::purpose.eq(purpose.as_str()),
            account_links::created_at.eq(now),
            account_links::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// The link with this token hash and purpose, used or not.
pub fn find(conn: &mut DbConnection, token_hash: &str, purpose: Purpose) -> QueryResult<Option<AccountLink>> {
    account_links::table
        .find(token_hash)
        .filter(account_links::purpose.eq(purpose.as_str()))
        .select(AccountLink::as_select())
        .first(conn)
        .optional()
}

/// Marks every unused link of `user_id` for `purpose` used: the one just followed, and any older or newer one,
/// so that none works after the password is set (or after a fresh invitation replaces them). Returns how many.
pub fn use_all(conn: &mut DbConnection, user_id: i64, purpose: Purpose, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        account_links::table
            .filter(account_links::user_id.eq(user_id))
            .filter(account_links::purpose.eq(purpose.as_str()))
            .filter(account_links::used_at.is_null()),
    )
    .set(account_links::used_at.eq(now))
    .execute(conn)
}
