//! The outbox: every message waits here, written in the same transaction as the event that causes it, until
//! the worker (`email::worker`) has sent it. Several instances share the table: a worker takes a message with
//! a lease, so that only it sends it until the lease runs out, and a message is enqueued once per event by its
//! de-duplication key.

use crate::db::schema::outbox;
use crate::db::{on_backend, DbConnection};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// A message to send.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub consultation_id: Option<i64>,
    /// What it is (`email::Kind::name`): it names the templates it is written from.
    pub kind: &'a str,
    /// The event it is for, like `receipt:HYS-ABCD-EFGH`: the same key again is ignored.
    pub dedup_key: &'a str,
    pub recipient: &'a str,
    /// What the templates need (JSON): a link's token, a reference. Erased once sent.
    pub payload: serde_json::Value,
}

/// A message as the worker and the admins' page read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Message {
    pub id: i64,
    pub consultation_id: Option<i64>,
    pub kind: String,
    pub dedup_key: String,
    pub recipient: Option<String>,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Adds a message, unless one with its de-duplication key is there already; true when it was added. Part of
/// the caller's transaction, so the message exists exactly when the event does.
pub fn enqueue(conn: &mut DbConnection, m: &NewMessage, now: NaiveDateTime) -> QueryResult<bool> {
    let payload = m.payload.to_string();
    let values = (
        outbox::consultation_id.eq(m.consultation_id),
        outbox::kind.eq(m.kind),
        outbox::dedup_key.eq(m.dedup_key),
        outbox::recipient.eq(Some(m.recipient)),
        outbox::payload.eq(&payload),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::created_at.eq(now),
    );
    let added = on_backend!(conn, |c| diesel::insert_into(outbox::table)
        .values(values)
        .on_conflict(outbox::dedup_key)
        .do_nothing()
        .execute(c))?;
    Ok(added == 1)
}

/// Whether a message is waiting: not sent, not failed for good, not erased.
#[diesel::dsl::auto_type]
fn waiting() -> _ {
    outbox::sent_at.is_null().and(outbox::failed_at.is_null()).and(outbox::recipient.is_not_null())
}

/// Takes up to `limit` messages that are due and that no live lease holds, leasing them to `owner` until
/// `now + lease`. Safe with several instances at once: the update claims only rows still unleased, so a row
/// two workers both saw goes to one of them (PostgreSQL re-checks the condition on the row it waited for).
pub fn lease(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let free = outbox::leased_until.is_null().or(outbox::leased_until.lt(now));
    let due: Vec<i64> = outbox::table
        .filter(waiting().and(outbox::next_attempt_at.le(now)).and(free))
        .order(outbox::next_attempt_at)
        .select(outbox::id)
        .limit(limit)
        .load(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let until = now + lease;
    diesel::update(outbox::table.filter(outbox::id.eq_any(&due)).filter(waiting()).filter(free))
        .set((outbox::lease_owner.eq(owner), outbox::leased_until.eq(until), outbox::attempts.eq(outbox::attempts + 1)))
        .execute(conn)?;
    outbox::table
        .filter(outbox::id.eq_any(&due))
        .filter(outbox::lease_owner.eq(owner).and(outbox::leased_until.eq(until)))
        .order(outbox::id)
        .select(Message::as_select())
        .load(conn)
}

/// The message `id` is sent: its address and payload are erased, keeping the record that it went.
pub fn sent(conn: &mut DbConnection, id: i64, owner: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::lease_owner.eq(owner)))
        .set((
            outbox::sent_at.eq(now),
            outbox::recipient.eq(None::<String>),
            outbox::payload.eq("{}"),
            outbox::lease_owner.eq(None::<String>),
            outbox::leased_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// The send failed for now: try again at `next`.
pub fn retry(conn: &mut DbConnection, id: i64, owner: &str, next: NaiveDateTime, error: &str) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::lease_owner.eq(owner)))
        .set((
            outbox::next_attempt_at.eq(next),
            outbox::lease_owner.eq(None::<String>),
            outbox::leased_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(drop)
}

/// The relay refused the message for good (5xx): kept for an admin to see and resend.
pub fn failed(conn: &mut DbConnection, id: i64, owner: &str, now: NaiveDateTime, error: &str) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::lease_owner.eq(owner)))
        .set((
            outbox::failed_at.eq(now),
            outbox::lease_owner.eq(None::<String>),
            outbox::leased_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(drop)
}

/// Puts a failed message back in the queue, due now; false when there is no such failed message.
pub fn resend(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(outbox::table.find(id).filter(outbox::failed_at.is_not_null()))
        .set((outbox::failed_at.eq(None::<NaiveDateTime>), outbox::attempts.eq(0), outbox::next_attempt_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Messages refused for good, newest first, for the admins' page.
pub fn failures(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Message>> {
    outbox::table
        .filter(outbox::failed_at.is_not_null())
        .order(outbox::failed_at.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)
}

/// How many messages are waiting to be sent (retries included).
pub fn waiting_count(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox::table.filter(waiting()).count().get_result(conn)
}

/// One message by id.
pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Message>> {
    outbox::table.find(id).select(Message::as_select()).first(conn).optional()
}

/// Erases the address and payload of a consultation's messages not yet sent — all of them (the retention
/// rule), or the one with a de-duplication key (a resident deleting what they saved) — so that they are never
/// sent; returns how many.
pub fn erase(conn: &mut DbConnection, consultation_id: i64, dedup_key: Option<&str>) -> QueryResult<usize> {
    let mut target = outbox::table
        .filter(outbox::consultation_id.eq(consultation_id))
        .filter(outbox::recipient.is_not_null())
        .into_boxed();
    if let Some(key) = dedup_key {
        target = target.filter(outbox::dedup_key.eq(key));
    }
    let ids: Vec<i64> = target.select(outbox::id).load(conn)?;
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set((outbox::recipient.eq(None::<String>), outbox::payload.eq("{}")))
        .execute(conn)
}

/// Whether a message was enqueued for this event (sent or not).
pub fn has(conn: &mut DbConnection, dedup_key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(outbox::table.filter(outbox::dedup_key.eq(dedup_key)))).get_result(conn)
}
