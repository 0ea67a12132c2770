//! The running totals: one row per consultation, per question and per option, kept in step with the responses.

use crate::db::bulk::{self, CounterDelta};
use crate::db::schema::{option_totals, question_totals, response_totals};
use crate::db::DbConnection;
use crate::domain::questionnaire::Questionnaire;
use crate::results::tally::{OptionCounts, QuestionCounts, Tally};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Creates any missing total rows for `q`'s questions and options (at publication), so that applying a tally
/// only ever updates rows.
pub fn ensure_rows(conn: &mut DbConnection, consultation_id: i64, q: &Questionnaire) -> QueryResult<()> {
    let have = response_totals::table.find(consultation_id).count().get_result::<i64>(conn)? > 0;
    if !have {
        diesel::insert_into(response_totals::table)
            .values((response_totals::consultation_id.eq(consultation_id), response_totals::responses.eq(0i64)))
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
    insert_rows(conn, consultation_id, &zero)
}

fn insert_rows(conn: &mut DbConnection, consultation_id: i64, t: &Tally) -> QueryResult<()> {
    for (key, c) in &t.questions {
        diesel::insert_into(question_totals::table)
            .values((
                question_totals::consultation_id.eq(consultation_id),
                question_totals::question_key.eq(key),
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
                option_totals::count.eq(c.count),
                option_totals::rank_sum.eq(c.rank_sum),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a tally to the totals: three statements, whatever the number of questions and options. Rows missing
/// for any reason (a version published without them) are created rather than lost.
pub fn apply(conn: &mut DbConnection, consultation_id: i64, t: &Tally) -> QueryResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    diesel::update(response_totals::table.find(consultation_id))
        .set(response_totals::responses.eq(response_totals::responses + t.responses))
        .execute(conn)?;
    let question_rows: Vec<CounterDelta> = t
        .questions
        .iter()
        .map(|(key, c)| CounterDelta { keys: vec![key.as_str()], add: vec![c.answered, c.not_shown, c.skipped] })
        .collect();
    let updated = bulk::add_to_counters(
        conn,
        "question_totals",
        ("consultation_id", consultation_id),
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
        ("consultation_id", consultation_id),
        &["question_key", "option_key"],
        &["count", "rank_sum"],
        &option_rows,
    )?;
    if updated < question_rows.len() || updated_options < option_rows.len() {
        let existing = read_keys(conn, consultation_id)?;
        let missing = Tally {
            responses: 0,
            questions: t
                .questions
                .iter()
                .filter(|(k, _)| !existing.0.contains(*k))
                .map(|(k, c)| (k.clone(), *c))
                .collect(),
            options: t.options.iter().filter(|(k, _)| !existing.1.contains(*k)).map(|(k, c)| (k.clone(), *c)).collect(),
        };
        insert_rows(conn, consultation_id, &missing)?;
    }
    Ok(())
}

type Keys = (std::collections::BTreeSet<String>, std::collections::BTreeSet<(String, String)>);

fn read_keys(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Keys> {
    let t = read(conn, consultation_id)?;
    Ok((t.questions.into_keys().collect(), t.options.into_keys().collect()))
}

/// Reads a consultation's totals: a handful of indexed rows, whatever the number of responses.
pub fn read(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Tally> {
    let responses = response_totals::table
        .find(consultation_id)
        .select(response_totals::responses)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0);
    let questions: BTreeMap<String, QuestionCounts> = question_totals::table
        .filter(question_totals::consultation_id.eq(consultation_id))
        .select((
            question_totals::question_key,
            question_totals::answered,
            question_totals::not_shown,
            question_totals::skipped,
        ))
        .load::<(String, i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(k, answered, not_shown, skipped)| (k, QuestionCounts { answered, not_shown, skipped }))
        .collect();
    let options = option_totals::table
        .filter(option_totals::consultation_id.eq(consultation_id))
        .select((option_totals::question_key, option_totals::option_key, option_totals::count, option_totals::rank_sum))
        .load::<(String, String, i64, i64)>(conn)?
        .into_iter()
        .map(|(q, o, count, rank_sum)| ((q, o), OptionCounts { count, rank_sum }))
        .collect();
    Ok(Tally { responses, questions, options })
}

/// How many responses a consultation has: one row, for the live stream to notice change cheaply.
pub fn responses(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    response_totals::table
        .find(consultation_id)
        .select(response_totals::responses)
        .first::<i64>(conn)
        .optional()
        .map(|n| n.unwrap_or(0))
}
