//! The running totals: one row per consultation, per question and per option, kept in step with the responses.

use crate::db::bulk::{self, CounterDelta};
use crate::db::schema::{option_totals, question_totals, response_totals};
use crate::db::DbConnection;
use crate::domain::questionnaire::Questionnaire;
use crate::results::tally::{OptionCounts, QuestionCounts, Tally};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// How many stripes each total is split over: enough that the writers of several instances rarely share one.
pub const STRIPES: i32 = 4;

/// Creates any missing total rows for `q`'s questions and options, in every stripe (at publication), so that
/// applying a tally only ever updates rows.
pub fn ensure_rows(conn: &mut DbConnection, consultation_id: i64, q: &Questionnaire) -> QueryResult<()> {
    let stripes: Vec<i32> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id))
        .select(response_totals::stripe)
        .load(conn)?;
    for stripe in (0..STRIPES).filter(|s| !stripes.contains(s)) {
        diesel::insert_into(response_totals::table)
            .values((
                response_totals::consultation_id.eq(consultation_id),
                response_totals::stripe.eq(stripe),
                response_totals::responses.eq(0i64),
            ))
            .execute(conn)?;
    }
    let existing = read(conn, consultation_id)?;
    let mut zero = Tally::default();
    for question in q.questions() {
        if !existing.questions.contains_key(&question.key) {
            zero.questions.insert(question.key.clone(), QuestionCounts::default());
        }
        for o in &question.options {
            let key = (question.key.clone(), o.key.clone());
            if !existing.options.contains_key(&key) {
                zero.options.insert(key, OptionCounts::default());
            }
        }
    }
    for stripe in 0..STRIPES {
        insert_rows(conn, consultation_id, stripe, &zero)?;
    }
    Ok(())
}

fn insert_rows(conn: &mut DbConnection, consultation_id: i64, stripe: i32, t: &Tally) -> QueryResult<()> {
    for (key, c) in &t.questions {
        diesel::insert_into(question_totals::table)
            .values((
                question_totals::consultation_id.eq(consultation_id),
                question_totals::question_key.eq(key),
                question_totals::stripe.eq(stripe),
                question_totals::answered.eq(c.answered),
                question_totals::not_shown.eq(c.not_shown),
                question_totals::skipped.eq(c.skipped),
            ))
            .execute(conn)?;
    }
    for ((question, option), c) in &t.options {
        diesel::insert_into(option_totals::table)
            .values((
                option_totals::consultation_id.eq(consultation_id),
                option_totals::question_key.eq(question),
                option_totals::option_key.eq(option),
                option_totals::stripe.eq(stripe),
                option_totals::count.eq(c.count),
                option_totals::rank_sum.eq(c.rank_sum),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a tally to the totals in one stripe: three statements, whatever the number of questions and options.
/// Rows missing for any reason (a version published without them) are created rather than lost.
pub fn apply(conn: &mut DbConnection, consultation_id: i64, stripe: i32, t: &Tally) -> QueryResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    diesel::update(response_totals::table.find((consultation_id, stripe)))
        .set(response_totals::responses.eq(response_totals::responses + t.responses))
        .execute(conn)?;
    let scope = [("consultation_id", consultation_id), ("stripe", i64::from(stripe))];
    let question_rows: Vec<CounterDelta> = t
        .questions
        .iter()
        .map(|(key, c)| CounterDelta { keys: vec![key.as_str()], add: vec![c.answered, c.not_shown, c.skipped] })
        .collect();
    let updated = bulk::add_to_counters(
        conn,
        "question_totals",
        &scope,
        &["question_key"],
        &["answered", "not_shown", "skipped"],
        &question_rows,
    )?;
    let option_rows: Vec<CounterDelta> = t
        .options
        .iter()
        .map(|((q, o), c)| CounterDelta { keys: vec![q.as_str(), o.as_str()], add: vec![c.count, c.rank_sum] })
        .collect();
    let updated_options = bulk::add_to_counters(
        conn,
        "option_totals",
        &scope,
        &["question_key", "option_key"],
        &["count", "rank_sum"],
        &option_rows,
    )?;
    if updated < question_rows.len() || updated_options < option_rows.len() {
        let present = read_stripe(conn, consultation_id, stripe)?;
        let missing = Tally {
            responses: 0,
            questions: t
                .questions
                .iter()
                .filter(|(k, _)| !present.questions.contains_key(*k))
                .map(|(k, c)| (k.clone(), *c))
                .collect(),
            options: t
                .options
                .iter()
                .filter(|(k, _)| !present.options.contains_key(*k))
                .map(|(k, c)| (k.clone(), *c))
                .collect(),
        };
        insert_rows(conn, consultation_id, stripe, &missing)?;
    }
    Ok(())
}

/// Reads a consultation's totals, summing the stripes: a fixed number of indexed rows, whatever the number of
/// responses.
pub fn read(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Tally> {
    read_where(conn, consultation_id, None)
}

fn read_stripe(conn: &mut DbConnection, consultation_id: i64, stripe: i32) -> QueryResult<Tally> {
    read_where(conn, consultation_id, Some(stripe))
}

fn read_where(conn: &mut DbConnection, consultation_id: i64, stripe: Option<i32>) -> QueryResult<Tally> {
    let responses = responses(conn, consultation_id)?;
    let mut questions_query = question_totals::table
        .filter(question_totals::consultation_id.eq(consultation_id))
        .select((
            question_totals::question_key,
            question_totals::answered,
            question_totals::not_shown,
            question_totals::skipped,
        ))
        .into_boxed();
    let mut options_query = option_totals::table
        .filter(option_totals::consultation_id.eq(consultation_id))
        .select((option_totals::question_key, option_totals::option_key, option_totals::count, option_totals::rank_sum))
        .into_boxed();
    if let Some(stripe) = stripe {
        questions_query = questions_query.filter(question_totals::stripe.eq(stripe));
        options_query = options_query.filter(option_totals::stripe.eq(stripe));
    }
    let mut questions: BTreeMap<String, QuestionCounts> = BTreeMap::new();
    for (key, answered, not_shown, skipped) in questions_query.load::<(String, i64, i64, i64)>(conn)? {
        let c = questions.entry(key).or_default();
        c.answered += answered;
        c.not_shown += not_shown;
        c.skipped += skipped;
    }
    let mut options: BTreeMap<(String, String), OptionCounts> = BTreeMap::new();
    for (q, o, count, rank_sum) in options_query.load::<(String, String, i64, i64)>(conn)? {
        let c = options.entry((q, o)).or_default();
        c.count += count;
        c.rank_sum += rank_sum;
    }
    Ok(Tally { responses, questions, options })
}

/// How many responses a consultation has: a few rows, for the live stream to notice change cheaply.
pub fn responses(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    let stripes: Vec<i64> = response_totals::table
        .filter(response_totals::consultation_id.eq(consultation_id))
        .select(response_totals::responses)
        .load(conn)?;
    Ok(stripes.into_iter().sum())
}
