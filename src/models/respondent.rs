//! Confirmed respondents, where a consultation takes one response per person: a link sent to an address, kept
//! as the digest of its token beside the keyed hash of the address (never the address itself), until it is
//! confirmed and a journey begins that answers for that hash.

use crate::db::schema::respondents;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = respondents)]
pub struct Respondent {
    pub token_hash: String,
    pub consultation_id: i64,
    /// `auth::secret::address_hash` of the address the link was sent to.
    pub email_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = respondents)]
pub struct NewRespondent<'a> {
    pub token_hash: &'a str,
    pub consultation_id: i64,
    pub email_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewRespondent) -> QueryResult<()> {
    diesel::insert_into(respondents::table).values(new).execute(conn).map(drop)
}

/// The link whose token has this digest, for this consultation, expired or not (the caller tells the two
/// apart, to say which).
pub fn find(conn: &mut DbConnection, consultation_id: i64, token_hash: &str) -> QueryResult<Option<Respondent>> {
    respondents::table
        .find(token_hash)
        .filter(respondents::consultation_id.eq(consultation_id))
        .select(Respondent::as_select())
        .first(conn)
        .optional()
}

/// Marks a link used; false when it was used already (by a request racing this one, say).
pub fn confirm(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(respondents::table.find(token_hash).filter(respondents::confirmed_at.is_null()))
        .set(respondents::confirmed_at.eq(now))
        .execute(conn)?;
    Ok(changed == 1)
}
