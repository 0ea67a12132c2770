//! The running totals: one row per consultation, per question and per option, kept in step with the responses.

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

/// Adds a tally to the totals, in key order (see `Tally`). Rows missing for any reason are created rather than
/// lost.
pub fn apply(conn: &mut DbConnection, consultation_id: i64, t: &Tally) -> QueryResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    diesel::update(response_totals::table.find(consultation_id))
        .set(response_totals::responses.eq(response_totals::responses + t.responses))
        .execute(conn)?;
    let mut missing = Tally::default();
    for (key, c) in &t.questions {
        let updated = diesel::update(question_totals::table.find((consultation_id, key)))
            .set((
                question_totals::answered.eq(question_totals::answered + c.answered),
                question_totals::not_shown.eq(question_totals::not_shown + c.not_shown),
                question_totals::skipped.eq(question_totals::skipped + c.skipped),
            ))
            .execute(conn)?;
        if updated == 0 {
            missing.questions.insert(key.clone(), *c);
        }
    }
    for ((question, option), c) in &t.options {
        let updated = diesel::update(option_totals::table.find((consultation_id, question, option)))
            .set((
                option_totals::count.eq(option_totals::count + c.count),
                option_totals::rank_sum.eq(option_totals::rank_sum + c.rank_sum),
            ))
            .execute(conn)?;
        if updated == 0 {
            missing.options.insert((question.clone(), option.clone()), *c);
        }
    }
    insert_rows(conn, consultation_id, &missing)
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
