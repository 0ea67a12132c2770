//! The sign-in throttle's counts, kept in `sign_in_throttle` so that every app instance counts together. The
//! rules — what is counted, and what blocks for how long — are in `auth::throttle`.

use crate::auth::throttle::Scope;
use crate::db::schema::sign_in_throttle as throttle;
use crate::db::DbConnection;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// How long the longest of these keys' blocks still has to run, if any is blocked.
pub fn blocked_for(conn: &mut DbConnection, keys: &[String], now: NaiveDateTime) -> QueryResult<Option<Duration>> {
    let until: Vec<Option<NaiveDateTime>> =
        throttle::table.filter(throttle::key.eq_any(keys)).select(throttle::blocked_until).load(conn)?;
    Ok(until.into_iter().flatten().filter(|u| *u > now).max().map(|u| u - now))
}

/// Counts a failure against `key`. The caller holds the write transaction; the count is incremented in the
/// database, so failures arriving together through several instances are all counted.
pub fn fail(conn: &mut DbConnection, scope: Scope, key: &str, now: NaiveDateTime) -> QueryResult<()> {
    let counted: Option<(i32, NaiveDateTime)> = diesel::update(throttle::table.find(key))
        .set(throttle::failures.eq(throttle::failures + 1))
        .returning((throttle::failures, throttle::window_started_at))
        .get_result(conn)
        .optional()?;
    let (failures, started) = match counted {
        Some((n, started)) if now - started < scope.window() => (n, started),
        // The window is over: this failure starts the count again.
        Some(_) => {
            diesel::update(throttle::table.find(key))
                .set((throttle::failures.eq(1), throttle::window_started_at.eq(now)))
                .execute(conn)?;
            (1, now)
        }
        None => {
            let inserted = conn.transaction(|conn| {
                diesel::insert_into(throttle::table)
                    .values((
                        throttle::key.eq(key),
                        throttle::failures.eq(1),
                        throttle::window_started_at.eq(now),
                        throttle::blocked_until.eq(scope.blocked_until(1, now, now)),
                    ))
                    .execute(conn)
            });
            return match inserted {
                // Another instance counted the first failure meanwhile: count this one on top.
                Err(e) if crate::db::is_unique_violation(&e) => fail(conn, scope, key, now),
                other => other.map(drop),
            };
        }
    };
    diesel::update(throttle::table.find(key))
        .set(throttle::blocked_until.eq(scope.blocked_until(failures, started, now)))
        .execute(conn)
        .map(drop)
}

/// Forgets a key's failures (a successful sign-in clears its pair).
pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(throttle::table.find(key)).execute(conn).map(drop)
}

/// Deletes counts whose longest window is over and that block nothing.
pub fn delete_stale(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let longest = Scope::Pair.window();
    diesel::delete(
        throttle::table.filter(
            throttle::window_started_at
                .le(now - longest)
                .and(throttle::blocked_until.is_null().or(throttle::blocked_until.le(now))),
        ),
    )
    .execute(conn)
}
