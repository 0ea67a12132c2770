//! The running totals, kept in step with the responses in the same transaction: per consultation and
//! questionnaire version, one row per question (and grid row), per option, per number answer and per cross-tab
//! cell, and per consultation the responses of each day and channel — each split over a few stripes so that
//! writers never wait for one another's rows. A read sums the stripes: a number of rows that does not grow
//! with the number of responses.

use crate::db::bulk::{self, CounterDelta};
use crate::db::schema::{cross_totals, daily_totals, option_totals, question_totals, response_totals, value_totals};
use crate::db::{on_backend, DbConnection};
use crate::results::tally::{Tallies, Tally};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// How many stripes each total is split over: enough that the writers of several instances rarely share one.
pub const STRIPES: i32 = 4;

/// Adds a version's tally to the totals in one stripe: a statement per table, whatever the number of
/// questions, options and groups.
pub fn apply(
    conn: &mut DbConnection,
    consultation_id: i64,
    version_id: i64,
    stripe: i32,
    t: &Tally,
) -> QueryResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    on_backend!(conn, |c| {
        use response_totals::dsl;
        diesel::insert_into(dsl::response_totals)
            .values((
                dsl::consultation_id.eq(consultation_id),
                dsl::version_id.eq(version_id),
                dsl::stripe.eq(stripe),
                dsl::responses.eq(t.responses),
            ))
            .on_conflict((dsl::consultation_id, dsl::version_id, dsl::stripe))
            .do_update()
            .set(dsl::responses.eq(dsl::responses + t.responses))
            .execute(c)
    })?;
    let versioned = [("consultation_id", consultation_id), ("version_id", version_id), ("stripe", i64::from(stripe))];
    let rows: Vec<CounterDelta> = t
        .questions
        .iter()
        .map(|((key, row), c)| CounterDelta { keys: vec![key, row], add: vec![c.answered, c.not_shown, c.skipped] })
        .collect();
    bulk::add_to_counters(
        conn,
        "question_totals",
        &versioned,
        &["question_key", "row_key"],
        &["answered", "not_shown", "skipped"],
        &rows,
    )?;
    let rows: Vec<CounterDelta> = t
        .options
        .iter()
        .map(|((q, row, o), c)| CounterDelta { keys: vec![q, row, o], add: vec![c.count, c.rank_sum] })
        .collect();
    bulk::add_to_counters(
        conn,
        "option_totals",
        &versioned,
        &["question_key", "row_key", "option_key"],
        &["count", "rank_sum"],
        &rows,
    )?;
    let values: Vec<(String, String, i64)> =
        t.values.iter().map(|((q, v), n)| (q.clone(), v.to_string(), *n)).collect();
    let rows: Vec<CounterDelta> =
        values.iter().map(|(q, v, n)| CounterDelta { keys: vec![q, v], add: vec![*n] }).collect();
    bulk::add_to_counters(conn, "value_totals", &versioned, &["question_key", "value"], &["count"], &rows)?;
    let rows: Vec<CounterDelta> = t
        .cross
        .iter()
        .map(|((by, by_option, q, row, o), n)| CounterDelta { keys: vec![by, by_option, q, row, o], add: vec![*n] })
        .collect();
    bulk::add_to_counters(
        conn,
        "cross_totals",
        &versioned,
        &["by_key", "by_option", "question_key", "row_key", "option_key"],
        &["count"],
        &rows,
    )?;
    let daily = [("consultation_id", consultation_id), ("stripe", i64::from(stripe))];
    let rows: Vec<CounterDelta> =
        t.days.iter().map(|((day, channel), n)| CounterDelta { keys: vec![day, channel], add: vec![*n] }).collect();
    bulk::add_to_counters(conn, "daily_totals", &daily, &["day", "channel"], &["responses"], &rows)
}

/// Which totals a read needs beyond the responses, questions and options every report shows: each costs
/// rows, so a results read does not pay for a cross-tab it does not show.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// The answers of number questions.
    pub values: bool,
    /// Responses by day and channel.
    pub days: bool,
    /// Cross-tabs: by one question's groups (`Some(key)`), or by all (`Some("")`, for recounts).
    pub cross: Option<String>,
}

impl Parts {
    /// Everything, as a recount gives it.
    pub fn all() -> Parts {
        Parts { values: true, days: true, cross: Some(String::new()) }
    }
}

/// Reads a consultation's totals for every version, summing the stripes. The responses by day and channel
/// are not kept per version: they are in the tally of the latest version.
pub fn read(conn: &mut DbConnection, consultation_id: i64, parts: &Parts) -> QueryResult<Tallies> {
    let mut tallies = Tallies::new();
    let responses: Vec<(i64, i64)> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id))
        .select((response_totals::version_id, response_totals::responses))
        .load(conn)?;
    for (version, n) in responses {
        tallies.entry(version).or_default().responses += n;
    }
    let questions: Vec<(i64, String, String, i64, i64, i64)> = question_totals::table
        .filter(question_totals::consultation_id.eq(consultation_id))
        .select((
            question_totals::version_id,
            question_totals::question_key,
            question_totals::row_key,
            question_totals::answered,
            question_totals::not_shown,
            question_totals::skipped,
        ))
        .load(conn)?;
    for (version, key, row, answered, not_shown, skipped) in questions {
        let c = tallies.entry(version).or_default().questions.entry((key, row)).or_default();
        c.answered += answered;
        c.not_shown += not_shown;
        c.skipped += skipped;
    }
    let options: Vec<(i64, String, String, String, i64, i64)> = option_totals::table
        .filter(option_totals::consultation_id.eq(consultation_id))
        .select((
            option_totals::version_id,
            option_totals::question_key,
            option_totals::row_key,
            option_totals::option_key,
            option_totals::count,
            option_totals::rank_sum,
        ))
        .load(conn)?;
    for (version, q, row, o, count, rank_sum) in options {
        let c = tallies.entry(version).or_default().options.entry((q, row, o)).or_default();
        c.count += count;
        c.rank_sum += rank_sum;
    }
    if parts.values {
        let values: Vec<(i64, String, String, i64)> = value_totals::table
            .filter(value_totals::consultation_id.eq(consultation_id))
            .select((value_totals::version_id, value_totals::question_key, value_totals::value, value_totals::count))
            .load(conn)?;
        for (version, q, value, n) in values {
            let Ok(value) = value.parse::<i64>() else { continue };
            *tallies.entry(version).or_default().values.entry((q, value)).or_default() += n;
        }
    }
    if let Some(by) = &parts.cross {
        read_cross(conn, consultation_id, by, &mut tallies)?;
    }
    if parts.days {
        if let Some((_, latest)) = tallies.iter_mut().next_back() {
            latest.days = days(conn, consultation_id)?;
        }
    }
    Ok(tallies)
}

/// Adds the cross-tab cells by `by` (all of them for "") to the tallies.
fn read_cross(conn: &mut DbConnection, consultation_id: i64, by: &str, tallies: &mut Tallies) -> QueryResult<()> {
    let mut query = cross_totals::table.filter(cross_totals::consultation_id.eq(consultation_id)).into_boxed();
    if !by.is_empty() {
        query = query.filter(cross_totals::by_key.eq(by));
    }
    let cross: Vec<(i64, String, String, String, String, String, i64)> = query
        .select((
            cross_totals::version_id,
            cross_totals::by_key,
            cross_totals::by_option,
            cross_totals::question_key,
            cross_totals::row_key,
            cross_totals::option_key,
            cross_totals::count,
        ))
        .load(conn)?;
    for (version, by, by_option, q, row, o, n) in cross {
        *tallies.entry(version).or_default().cross.entry((by, by_option, q, row, o)).or_default() += n;
    }
    Ok(())
}

/// Responses by (day, channel).
pub fn days(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<BTreeMap<(String, String), i64>> {
    let rows: Vec<(String, String, i64)> = daily_totals::table
        .filter(daily_totals::consultation_id.eq(consultation_id))
        .select((daily_totals::day, daily_totals::channel, daily_totals::responses))
        .load(conn)?;
    let mut out = BTreeMap::new();
    for (day, channel, n) in rows {
        *out.entry((day, channel)).or_default() += n;
    }
    Ok(out)
}

/// How many responses a consultation has: a few rows, for the live stream to notice change cheaply.
pub fn responses(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    let stripes: Vec<i64> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id))
        .select(response_totals::responses)
        .load(conn)?;
    Ok(stripes.into_iter().sum())
}
