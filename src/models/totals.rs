//! The running totals: per consultation and questionnaire version, one row per question (and grid row) and per
//! option, in a few stripes, kept in step with the responses in the same transaction.

use crate::db::bulk::{self, CounterDelta};
use crate::db::schema::{option_totals, question_totals, response_totals};
use crate::db::DbConnection;
use crate::domain::questionnaire::Questionnaire;
use crate::results::tally::{OptionCounts, QuestionCounts, Tallies, Tally};
use diesel::prelude::*;

/// How many stripes each total is split over: enough that the writers of several instances rarely share one.
pub const STRIPES: i32 = 4;

/// Creates a version's total rows, zero, in every stripe (at publication), so that applying a tally only
/// ever updates rows.
pub fn ensure_rows(
    conn: &mut DbConnection,
    consultation_id: i64,
    version_id: i64,
    q: &Questionnaire,
) -> QueryResult<()> {
    let existing = present(conn, consultation_id, version_id, None)?;
    let mut zero = Tally::default();
    for question in q.questions() {
        // The question as a whole, and each grid row.
        let mut rows = vec![""];
        rows.extend(question.rows.iter().map(|r| r.key.as_str()));
        for row in rows {
            let key = (question.key.clone(), row.to_string());
            if !existing.questions.contains_key(&key) {
                zero.questions.insert(key, QuestionCounts::default());
            }
        }
        for row in question.row_keys() {
            for o in &question.options {
                let key = (question.key.clone(), row.to_string(), o.key.clone());
                if !existing.options.contains_key(&key) {
                    zero.options.insert(key, OptionCounts::default());
                }
            }
        }
    }
    let stripes: Vec<i32> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id).and(response_totals::version_id.eq(version_id)))
        .select(response_totals::stripe)
        .load(conn)?;
    for stripe in 0..STRIPES {
        if !stripes.contains(&stripe) {
            diesel::insert_into(response_totals::table)
                .values((
                    response_totals::consultation_id.eq(consultation_id),
                    response_totals::version_id.eq(version_id),
                    response_totals::stripe.eq(stripe),
                    response_totals::responses.eq(0i64),
                ))
                .execute(conn)?;
        }
        insert_rows(conn, consultation_id, version_id, stripe, &zero)?;
    }
    Ok(())
}

fn insert_rows(
    conn: &mut DbConnection,
    consultation_id: i64,
    version_id: i64,
    stripe: i32,
    t: &Tally,
) -> QueryResult<()> {
    for ((key, row), c) in &t.questions {
        diesel::insert_into(question_totals::table)
            .values((
                question_totals::consultation_id.eq(consultation_id),
                question_totals::version_id.eq(version_id),
                question_totals::question_key.eq(key),
                question_totals::row_key.eq(row),
                question_totals::stripe.eq(stripe),
                question_totals::answered.eq(c.answered),
                question_totals::not_shown.eq(c.not_shown),
                question_totals::skipped.eq(c.skipped),
            ))
            .execute(conn)?;
    }
    for ((question, row, option), c) in &t.options {
        diesel::insert_into(option_totals::table)
            .values((
                option_totals::consultation_id.eq(consultation_id),
                option_totals::version_id.eq(version_id),
                option_totals::question_key.eq(question),
                option_totals::row_key.eq(row),
                option_totals::option_key.eq(option),
                option_totals::stripe.eq(stripe),
                option_totals::count.eq(c.count),
                option_totals::rank_sum.eq(c.rank_sum),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a version's tally to the totals in one stripe: three statements, whatever the number of questions and
/// options. Rows missing for any reason are created rather than lost.
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
    diesel::update(response_totals::table.find((consultation_id, version_id, stripe)))
        .set(response_totals::responses.eq(response_totals::responses + t.responses))
        .execute(conn)?;
    let scope = [("consultation_id", consultation_id), ("version_id", version_id), ("stripe", i64::from(stripe))];
    let question_rows: Vec<CounterDelta> = t
        .questions
        .iter()
        .map(|((key, row), c)| CounterDelta {
            keys: vec![key.as_str(), row.as_str()],
            add: vec![c.answered, c.not_shown, c.skipped],
        })
        .collect();
    let updated = bulk::add_to_counters(
        conn,
        "question_totals",
        &scope,
        &["question_key", "row_key"],
        &["answered", "not_shown", "skipped"],
        &question_rows,
    )?;
    let option_rows: Vec<CounterDelta> = t
        .options
        .iter()
        .map(|((q, row, o), c)| CounterDelta {
            keys: vec![q.as_str(), row.as_str(), o.as_str()],
            add: vec![c.count, c.rank_sum],
        })
        .collect();
    let updated_options = bulk::add_to_counters(
        conn,
        "option_totals",
        &scope,
        &["question_key", "row_key", "option_key"],
        &["count", "rank_sum"],
        &option_rows,
    )?;
    if updated < question_rows.len() || updated_options < option_rows.len() {
        let there = present(conn, consultation_id, version_id, Some(stripe))?;
        let missing = Tally {
            responses: 0,
            questions: t
                .questions
                .iter()
                .filter(|(k, _)| !there.questions.contains_key(*k))
                .map(|(k, c)| (k.clone(), *c))
                .collect(),
            options: t
                .options
                .iter()
                .filter(|(k, _)| !there.options.contains_key(*k))
                .map(|(k, c)| (k.clone(), *c))
                .collect(),
        };
        insert_rows(conn, consultation_id, version_id, stripe, &missing)?;
    }
    Ok(())
}

/// Reads a consultation's totals for every version, summing the stripes: a fixed number of indexed rows,
/// whatever the number of responses.
pub fn read(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Tallies> {
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
    Ok(tallies)
}

/// Which of a version's total rows exist (with zero counts), in one stripe or in any.
fn present(conn: &mut DbConnection, consultation_id: i64, version_id: i64, stripe: Option<i32>) -> QueryResult<Tally> {
    let mut questions_query = question_totals::table
        .filter(question_totals::consultation_id.eq(consultation_id).and(question_totals::version_id.eq(version_id)))
        .select((question_totals::question_key, question_totals::row_key))
        .into_boxed();
    let mut options_query = option_totals::table
        .filter(option_totals::consultation_id.eq(consultation_id).and(option_totals::version_id.eq(version_id)))
        .select((option_totals::question_key, option_totals::row_key, option_totals::option_key))
        .into_boxed();
    if let Some(stripe) = stripe {
        questions_query = questions_query.filter(question_totals::stripe.eq(stripe));
        options_query = options_query.filter(option_totals::stripe.eq(stripe));
    }
    let mut t = Tally::default();
    for key in questions_query.load::<(String, String)>(conn)? {
        t.questions.entry(key).or_default();
    }
    for (q, row, o) in options_query.load::<(String, String, String)>(conn)? {
        t.options.entry((q, row, o)).or_default();
    }
    Ok(t)
}

/// How many responses a consultation has: a few rows, for the live stream to notice change cheaply.
pub fn responses(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    let stripes: Vec<i64> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id))
        .select(response_totals::responses)
        .load(conn)?;
    Ok(stripes.into_iter().sum())
}
