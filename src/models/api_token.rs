//! Personal API tokens: a label, the first characters for recognising it, and the SHA-256 of the token itself
//! (see `auth::secret`). A token acts as its account with that account's role; revoking it, or disabling the
//! account, stops it at once.

use super::user::User;
use crate::db::schema::{api_tokens, users};
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    #[serde(skip)]
    pub token_hash: String,
    pub prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub const MAX_LABEL: usize = 100;

/// Stores a new token (given whole: only its digest and prefix are kept). The caller holds the transaction.
pub fn create(conn: &mut DbConnection, user_id: i64, label: &str, token: &str) -> QueryResult<ApiToken> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user_id),
            api_tokens::label.eq(label),
            api_tokens::token_hash.eq(crate::auth::secret::digest(token)),
            api_tokens::prefix.eq(crate::auth::secret::token_prefix(token)),
            api_tokens::created_at.eq(super::now()),
        ))
        .returning(api_tokens::all_columns)
        .get_result(conn)
}

/// A token that is not revoked, with its account if that is not disabled: one query, for every API request
/// that carries a token.
pub fn find_active(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<(ApiToken, User)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null().and(users::disabled.eq(false)))
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// An account's tokens that still work, newest first.
pub fn active_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id).and(api_tokens::revoked_at.is_null()))
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

/// One of an account's working tokens.
pub fn find_active_for_user(conn: &mut DbConnection, user_id: i64, id: i64) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::id.eq(id).and(api_tokens::user_id.eq(user_id)).and(api_tokens::revoked_at.is_null()))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

pub fn revoke(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.filter(api_tokens::id.eq(id).and(api_tokens::revoked_at.is_null())))
        .set(api_tokens::revoked_at.eq(at))
        .execute(conn)
        .map(drop)
}

/// Revokes every working token of an account; how many there were.
pub fn revoke_all_for_user(conn: &mut DbConnection, user_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_tokens::table.filter(api_tokens::user_id.eq(user_id).and(api_tokens::revoked_at.is_null())))
        .set(api_tokens::revoked_at.eq(at))
        .execute(conn)
}

pub fn touch(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id)).set(api_tokens::last_used_at.eq(at)).execute(conn).map(drop)
}
