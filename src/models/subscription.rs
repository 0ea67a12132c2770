//! Residents' requests to be told when a consultation's results are published (`subscriptions`): one row per
//! address and consultation, found by the digest of the token its latest email carried. The address is kept
//! only until it is no longer needed: once unsubscribed, once the results email is written to the outbox, or
//! when the retention rule erases it.

use crate::db::schema::subscriptions;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    pub token_hash: String,
    pub consultation_id: i64,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub notified_at: Option<NaiveDateTime>,
    pub unsubscribed_at: Option<NaiveDateTime>,
}

/// Whether a subscription still waits for the results: neither unsubscribed nor notified.
#[diesel::dsl::auto_type]
fn waiting() -> _ {
    subscriptions::unsubscribed_at.is_null().and(subscriptions::notified_at.is_null())
}

/// Records a request from `email` (already normalised) under a new token digest. An address that already waits
/// for these results keeps its one row, now found by the new digest (its earlier link stops working), so that
/// asking twice never means two results emails.
pub fn request(
    conn: &mut DbConnection,
    consultation_id: i64,
    email: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let same = subscriptions::table
        .filter(subscriptions::consultation_id.eq(consultation_id))
        .filter(subscriptions::email.eq(email))
        .filter(waiting());
    let rekeyed = diesel::update(same).set(subscriptions::token_hash.eq(token_hash)).execute(conn)?;
    if rekeyed == 0 {
        diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::token_hash.eq(token_hash),
                subscriptions::consultation_id.eq(consultation_id),
                subscriptions::email.eq(Some(email)),
                subscriptions::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The subscription a link's token digest names, in its consultation.
pub fn find(conn: &mut DbConnection, consultation_id: i64, token_hash: &str) -> QueryResult<Option<Subscription>> {
    subscriptions::table
        .find(token_hash)
        .filter(subscriptions::consultation_id.eq(consultation_id))
        .select(Subscription::as_select())
        .first(conn)
        .optional()
}

/// The subscription a token digest names, whatever its consultation (an unsubscribe link names none).
pub fn find_any(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<Subscription>> {
    subscriptions::table.find(token_hash).select(Subscription::as_select()).first(conn).optional()
}

/// Confirms a waiting subscription (double opt-in); false when it was confirmed already, or is over.
pub fn confirm(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let target = subscriptions::table.find(token_hash).filter(waiting()).filter(subscriptions::confirmed_at.is_null());
    Ok(diesel::update(target).set(subscriptions::confirmed_at.eq(now)).execute(conn)? == 1)
}

/// Unsubscribes and erases the address; false when it had been unsubscribed already.
pub fn unsubscribe(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let target = subscriptions::table.find(token_hash).filter(subscriptions::unsubscribed_at.is_null());
    let changed = diesel::update(target)
        .set((subscriptions::unsubscribed_at.eq(now), subscriptions::email.eq(None::<String>)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The confirmed subscriptions still waiting for a consultation's results, with their addresses.
pub fn to_notify(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<(String, Option<String>)> = subscriptions::table
        .filter(subscriptions::consultation_id.eq(consultation_id))
        .filter(waiting())
        .filter(subscriptions::confirmed_at.is_not_null())
        .filter(subscriptions::email.is_not_null())
        .select((subscriptions::token_hash, subscriptions::email))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(hash, email)| Some((hash, email?))).collect())
}

/// Marks a subscription notified, erases its address (the results email in the outbox keeps it until sent),
/// and re-keys it to the digest of the token that email carries for unsubscribing. False when it no longer
/// waits (unsubscribed, or notified by another instance meanwhile): then no email is to be written.
pub fn notified(conn: &mut DbConnection, token_hash: &str, new_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(subscriptions::table.find(token_hash).filter(waiting()))
        .set((
            subscriptions::token_hash.eq(new_hash),
            subscriptions::notified_at.eq(now),
            subscriptions::email.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Erases every address a consultation's subscriptions hold (the retention rule); returns how many.
pub fn erase_addresses(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<usize> {
    let held = subscriptions::table
        .filter(subscriptions::consultation_id.eq(consultation_id))
        .filter(subscriptions::email.is_not_null());
    diesel::update(held).set(subscriptions::email.eq(None::<String>)).execute(conn)
}
