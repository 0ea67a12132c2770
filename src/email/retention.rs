//! The retention rule: the email addresses a consultation holds are erased once it has been closed for its
//! `retention_days` — addresses waiting for the results, messages not yet sent, save-and-return links and
//! confirmed respondents — while every anonymous response and answer stays as it was. Run by the hourly
//! sweeper (`startup`); each statement only erases, so running it twice, or on several instances at once, is
//! harmless.

use crate::db::schema::{consultations, respondents, return_links};
use crate::db::{self, DbConnection};
use crate::models::{outbox, subscription};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// How much one run erased, for the log (counts only: never an address).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub consultations: usize,
    pub addresses: usize,
    pub messages: usize,
    pub links: usize,
    pub respondents: usize,
}

impl Erased {
    pub fn is_empty(&self) -> bool {
        self.addresses + self.messages + self.links + self.respondents == 0
    }
}

/// The consultations closed longer ago than their retention period at `now`.
fn past_retention(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let closed: Vec<(i64, Option<NaiveDateTime>, i32)> = consultations::table
        .filter(consultations::closes_at.lt(now))
        .select((consultations::id, consultations::closes_at, consultations::retention_days))
        .load(conn)?;
    // Compared in Rust: adding a column's days to a time is written differently on each backend.
    Ok(closed
        .into_iter()
        .filter(|(_, closes_at, days)| closes_at.is_some_and(|at| at + Duration::days(i64::from(*days)) < now))
        .map(|(id, _, _)| id)
        .collect())
}

/// Erases the addresses of every consultation past its retention period, each consultation in one transaction.
pub fn erase_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Erased> {
    let mut erased = Erased::default();
    for id in past_retention(conn, now)? {
        let one = db::write(conn, |conn| erase_consultation(conn, id))?;
        erased.consultations += one.consultations;
        erased.addresses += one.addresses;
        erased.messages += one.messages;
        erased.links += one.links;
        erased.respondents += one.respondents;
    }
    Ok(erased)
}

/// Erases what one consultation holds; it counts as a consultation erased only when it held something.
fn erase_consultation(conn: &mut DbConnection, id: i64) -> QueryResult<Erased> {
    let mut one = Erased {
        consultations: 0,
        addresses: subscription::erase_addresses(conn, id)?,
        messages: outbox::erase(conn, id, None)?,
        links: diesel::delete(return_links::table.filter(return_links::consultation_id.eq(id))).execute(conn)?,
        respondents: diesel::delete(respondents::table.filter(respondents::consultation_id.eq(id))).execute(conn)?,
    };
    one.consultations = usize::from(!one.is_empty());
    Ok(one)
}
