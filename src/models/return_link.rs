//! "Save and come back later": the links that restore a resident's journey on any device. A link's token is
//! sent by email only; the row keeps its SHA-256 (`auth::secret::digest`), apart from the journey's own token.

use crate::db::schema::{journeys, return_links};
use crate::db::DbConnection;
use crate::models::outbox;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = return_links)]
pub struct ReturnLink {
    pub token_hash: String,
    pub consultation_id: i64,
    pub journey_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// The outbox de-duplication key of the message carrying a link: one message per link.
pub fn dedup_key(token_hash: &str) -> String {
    format!("return_link:{token_hash}")
}

/// Makes a link to a journey and keeps the journey at least as long as the link works, so that the sweeper
/// never deletes answers a link still promises.
pub fn insert(conn: &mut DbConnection, link: &ReturnLink) -> QueryResult<()> {
    diesel::insert_into(return_links::table)
        .values((
            return_links::token_hash.eq(&link.token_hash),
            return_links::consultation_id.eq(link.consultation_id),
            return_links::journey_token.eq(&link.journey_token),
            return_links::created_at.eq(link.created_at),
            return_links::expires_at.eq(link.expires_at),
        ))
        .execute(conn)?;
    diesel::update(journeys::table.find((link.consultation_id, &link.journey_token)))
        .filter(journeys::expires_at.lt(link.expires_at))
        .set(journeys::expires_at.eq(link.expires_at))
        .execute(conn)
        .map(drop)
}

/// The link with this token's digest in a consultation, expired or not (the caller tells the resident which).
pub fn find(conn: &mut DbConnection, consultation_id: i64, token_hash: &str) -> QueryResult<Option<ReturnLink>> {
    return_links::table
        .find(token_hash)
        .filter(return_links::consultation_id.eq(consultation_id))
        .select(ReturnLink::as_select())
        .first(conn)
        .optional()
}

/// Whether a journey has been saved with a link (so its pages offer to delete what was saved).
pub fn exists_for(conn: &mut DbConnection, consultation_id: i64, journey_token: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        return_links::table
            .filter(return_links::consultation_id.eq(consultation_id))
            .filter(return_links::journey_token.eq(journey_token)),
    ))
    .get_result(conn)
}

/// Deletes a journey's saved answers and every link to it, and erases any message carrying one of its links
/// that has not gone yet (with the address it was for). Returns whether there was a journey to delete.
pub fn delete_journey(conn: &mut DbConnection, consultation_id: i64, journey_token: &str) -> QueryResult<bool> {
    let links = return_links::table
        .filter(return_links::consultation_id.eq(consultation_id))
        .filter(return_links::journey_token.eq(journey_token));
    let hashes: Vec<String> = links.select(return_links::token_hash).load(conn)?;
    for hash in &hashes {
        outbox::erase(conn, consultation_id, Some(&dedup_key(hash)))?;
    }
    diesel::delete(links).execute(conn)?;
    let deleted = diesel::delete(journeys::table.find((consultation_id, journey_token))).execute(conn)?;
    Ok(deleted == 1)
}

/// Removes expired links (their journeys go by their own expiry).
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(return_links::table.filter(return_links::expires_at.le(now))).execute(conn)
}
