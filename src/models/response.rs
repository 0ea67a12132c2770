//! Responses and their answers.

use super::questionnaire;
use crate::db::bulk::{self, AnswerRow, ROWS_PER_STATEMENT};
use crate::db::schema::{answers, responses};
use crate::db::{on_backend, DbConnection};
use crate::domain::answers::{Answer, Answers, Value};
use crate::results::tally::Tally;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

/// How a response reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Api,
    Paper,
    Email,
    Event,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Api => "api",
            Channel::Paper => "paper",
            Channel::Email => "email",
            Channel::Event => "event",
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = responses)]
pub struct NewResponse<'a> {
    pub consultation_id: i64,
    pub version_id: i64,
    pub reference: &'a str,
    pub channel: &'a str,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
    pub submitted_at: NaiveDateTime,
}

/// Inserts responses and their answers in a few multi-row statements; `given[i]` holds the answers of `new[i]`.
/// The caller holds the transaction. A unique violation (a key or reference already stored) fails the lot.
pub fn insert_many(conn: &mut DbConnection, new: &[NewResponse], given: &[&Answers]) -> QueryResult<()> {
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(new.len());
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let stored: Vec<(i64, String)> = on_backend!(conn, |c| diesel::insert_into(responses::table)
            .values(chunk)
            .returning((responses::id, responses::idempotency_key))
            .get_results(c))?;
        ids.extend(stored.into_iter().map(|(id, key)| (key, id)));
    }
    let rows: Vec<AnswerRow> = new
        .iter()
        .zip(given)
        .flat_map(|(r, answers)| {
            let response_id = ids[r.idempotency_key];
            answers.iter().map(move |(key, answer)| AnswerRow {
                consultation_id: r.consultation_id,
                response_id,
                question_key: key,
                value: answer.value.to_stored(),
                other_text: answer.other.as_deref(),
            })
        })
        .collect();
    bulk::insert_answers(conn, &rows)
}

/// The reference and fingerprint stored under each of `keys` that is already used.
pub fn find_by_keys(
    conn: &mut DbConnection,
    consultation_id: i64,
    keys: &[&str],
) -> QueryResult<HashMap<String, (String, String)>> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(String, String, String)> = responses::table
            .filter(responses::consultation_id.eq(consultation_id).and(responses::idempotency_key.eq_any(chunk)))
            .select((responses::idempotency_key, responses::reference, responses::fingerprint))
            .load(conn)?;
        found.extend(rows.into_iter().map(|(key, reference, fingerprint)| (key, (reference, fingerprint))));
    }
    Ok(found)
}

/// The reference and fingerprint of the response stored under an idempotency key, if any.
pub fn find_by_key(conn: &mut DbConnection, consultation_id: i64, key: &str) -> QueryResult<Option<(String, String)>> {
    responses::table
        .filter(responses::consultation_id.eq(consultation_id).and(responses::idempotency_key.eq(key)))
        .select((responses::reference, responses::fingerprint))
        .first(conn)
        .optional()
}

/// One stored answer as the recount reads it.
#[derive(Debug, Queryable)]
pub struct StoredAnswer {
    pub response_id: i64,
    pub question_key: String,
    pub value: String,
    pub other_text: Option<String>,
}

/// Every response of a consultation with its version, and every answer, ordered by response. For recounts and
/// exports; it reads the whole consultation.
pub fn all_with_answers(
    conn: &mut DbConnection,
    consultation_id: i64,
) -> QueryResult<(Vec<(i64, i64)>, Vec<StoredAnswer>)> {
    let rs = responses::table
        .filter(responses::consultation_id.eq(consultation_id))
        .select((responses::id, responses::version_id))
        .order(responses::id)
        .load(conn)?;
    let answers = answers::table
        .filter(answers::consultation_id.eq(consultation_id))
        .select((answers::response_id, answers::question_key, answers::value, answers::other_text))
        .order((answers::response_id, answers::id))
        .load(conn)?;
    Ok((rs, answers))
}

pub fn count(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    responses::table.filter(responses::consultation_id.eq(consultation_id)).count().get_result(conn)
}

/// Recounts every response of a consultation from its stored answers, against the version each answered,
/// independently of the running totals: what they must always equal.
pub fn recount(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Tally> {
    let (responses, stored) = all_with_answers(conn, consultation_id)?;
    let mut versions = HashMap::new();
    let mut by_response: HashMap<i64, Answers> = HashMap::new();
    for (response_id, version_id) in &responses {
        if !versions.contains_key(version_id) {
            versions.insert(*version_id, questionnaire::load(conn, *version_id)?);
        }
        by_response.insert(*response_id, Answers::new());
    }
    let version_of: HashMap<i64, i64> = responses.iter().copied().collect();
    for a in stored {
        let q = &versions[&version_of[&a.response_id]];
        let Some(kind) = q.question(&a.question_key).map(|qq| qq.kind) else { continue };
        let Some(value) = Value::from_stored(kind, &a.value) else { continue };
        by_response
            .get_mut(&a.response_id)
            .expect("answers belong to responses")
            .insert(a.question_key, Answer { value, other: a.other_text });
    }
    let mut tally = Tally::default();
    for (response_id, version_id) in &responses {
        tally.add(&versions[version_id], &by_response[response_id]);
    }
    Ok(tally)
}
