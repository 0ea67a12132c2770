//! Responses and their answers.

use super::version;
use crate::db::bulk::{self, AnswerRow, ROWS_PER_STATEMENT};
use crate::db::schema::{answers, responses};
use crate::db::{on_backend, DbConnection};
use crate::domain::answers::{Answer, Answers, Value};
use crate::results::tally::Tallies;
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
    pub const ALL: [Channel; 5] = [Channel::Online, Channel::Api, Channel::Paper, Channel::Email, Channel::Event];

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether an officer keys responses of this channel on a resident's behalf.
    pub fn is_keyed(self) -> bool {
        matches!(self, Channel::Paper | Channel::Email | Channel::Event)
    }

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
    pub entered_by: Option<i64>,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
    pub submitted_at: NaiveDateTime,
    /// The keyed hash of the confirmed address, where each person responds once.
    pub respondent: Option<&'a str>,
}

/// Inserts responses and their answers in a few multi-row statements; `given[i]` holds the answers of `new[i]`.
/// The caller holds the transaction. A unique violation (a key or reference already stored) fails the lot.
pub fn insert_many(conn: &mut DbConnection, new: &[NewResponse], given: &[&Answers]) -> QueryResult<()> {
    // Keys are unique per consultation only: the same key may arrive for two consultations in one batch, so
    // stored rows are matched back to their answers by both.
    let mut ids: HashMap<(i64, String), i64> = HashMap::with_capacity(new.len());
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let stored: Vec<(i64, i64, String)> = on_backend!(conn, |c| diesel::insert_into(responses::table)
            .values(chunk)
            .returning((responses::id, responses::consultation_id, responses::idempotency_key))
            .get_results(c))?;
        ids.extend(stored.into_iter().map(|(id, consultation, key)| ((consultation, key), id)));
    }
    let rows: Vec<AnswerRow> = new
        .iter()
        .zip(given)
        .flat_map(|(r, answers)| {
            let response_id = ids[&(r.consultation_id, r.idempotency_key.to_string())];
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

/// Whether a response from this respondent (a keyed address hash) is stored for the consultation.
pub fn has_respondent(conn: &mut DbConnection, consultation_id: i64, respondent: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        responses::table
            .filter(responses::consultation_id.eq(consultation_id).and(responses::respondent.eq(respondent))),
    ))
    .get_result(conn)
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

/// A stored response as the recount reads it.
#[derive(Debug, Queryable)]
pub struct StoredResponse {
    pub id: i64,
    pub version_id: i64,
    pub channel: String,
    pub submitted_at: NaiveDateTime,
}

/// Every response of a consultation, and every answer, ordered by response. For recounts; it reads the whole
/// consultation.
pub fn all_with_answers(
    conn: &mut DbConnection,
    consultation_id: i64,
) -> QueryResult<(Vec<StoredResponse>, Vec<StoredAnswer>)> {
    let rs = responses::table
        .filter(responses::consultation_id.eq(consultation_id))
        .select((responses::id, responses::version_id, responses::channel, responses::submitted_at))
        .order(responses::id)
        .load(conn)?;
    let answers = answers::table
        .filter(answers::consultation_id.eq(consultation_id))
        .select((answers::response_id, answers::question_key, answers::value, answers::other_text))
        .order((answers::response_id, answers::question_key))
        .load(conn)?;
    Ok((rs, answers))
}

pub fn count(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<i64> {
    responses::table.filter(responses::consultation_id.eq(consultation_id)).count().get_result(conn)
}

/// Recounts every response of a consultation from its stored answers, against the version each answered,
/// independently of the running totals: what they must always equal.
pub fn recount(conn: &mut DbConnection, consultation_id: i64, zone: chrono_tz::Tz) -> QueryResult<Tallies> {
    let (responses, stored) = all_with_answers(conn, consultation_id)?;
    let mut versions = HashMap::new();
    let mut by_response: HashMap<i64, Answers> = HashMap::new();
    for r in &responses {
        if !versions.contains_key(&r.version_id) {
            versions.insert(r.version_id, version::load(conn, r.version_id)?.content.questionnaire);
        }
        by_response.insert(r.id, Answers::new());
    }
    let version_of: HashMap<i64, i64> = responses.iter().map(|r| (r.id, r.version_id)).collect();
    for a in stored {
        let corrupt = || {
            diesel::result::Error::DeserializationError(
                format!("stored answer to {} of response {} cannot be read", a.question_key, a.response_id).into(),
            )
        };
        let version = version_of.get(&a.response_id).ok_or_else(corrupt)?;
        let kind = versions[version].question(&a.question_key).map(|qq| qq.kind).ok_or_else(corrupt)?;
        let value = Value::from_stored(kind, &a.value).ok_or_else(corrupt)?;
        by_response
            .get_mut(&a.response_id)
            .ok_or_else(corrupt)?
            .insert(a.question_key, Answer { value, other: a.other_text });
    }
    let mut tallies = Tallies::new();
    for r in &responses {
        let day = super::day_in(r.submitted_at, zone);
        tallies.entry(r.version_id).or_default().add(&versions[&r.version_id], &by_response[&r.id], &r.channel, &day);
    }
    crate::results::tally::days_in_latest(&mut tallies);
    Ok(tallies)
}

/// A stored response as exports read it: never its idempotency key or fingerprint.
#[derive(Debug, Queryable)]
pub struct ExportedResponse {
    pub id: i64,
    pub version_id: i64,
    pub reference: String,
    pub channel: String,
    pub submitted_at: NaiveDateTime,
}

/// Where a page of up to `limit` responses of a consultation after response id `after` ends: the id of its
/// last response (none when there are none after `after`). One step of a keyset walk over the index, whose cost
/// does not grow with how far it has gone.
pub fn page_end(conn: &mut DbConnection, consultation_id: i64, after: i64, limit: i64) -> QueryResult<Option<i64>> {
    let after_it = responses::consultation_id.eq(consultation_id).and(responses::id.gt(after));
    let full: Option<i64> = responses::table
        .filter(after_it)
        .select(responses::id)
        .order(responses::id)
        .offset(limit - 1)
        .limit(1)
        .first(conn)
        .optional()?;
    match full {
        Some(id) => Ok(Some(id)),
        None => responses::table.filter(after_it).select(diesel::dsl::max(responses::id)).first(conn),
    }
}

/// The responses of a consultation with ids after `after`, up to and including `last`, in id order.
pub fn between(
    conn: &mut DbConnection,
    consultation_id: i64,
    after: i64,
    last: i64,
) -> QueryResult<Vec<ExportedResponse>> {
    responses::table
        .filter(responses::consultation_id.eq(consultation_id).and(responses::id.gt(after)).and(responses::id.le(last)))
        .select((
            responses::id,
            responses::version_id,
            responses::reference,
            responses::channel,
            responses::submitted_at,
        ))
        .order(responses::id)
        .load(conn)
}

/// Hands `each` the answers of those responses (see `between`), ordered by response, then question key, as
/// the database returns them, so that a page's answers are never gathered into one list first.
pub fn each_answer_between<E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    consultation_id: i64,
    after: i64,
    last: i64,
    mut each: impl FnMut(StoredAnswer) -> Result<(), E>,
) -> Result<(), E> {
    let answers = answers::table
        .filter(
            answers::consultation_id
                .eq(consultation_id)
                .and(answers::response_id.gt(after))
                .and(answers::response_id.le(last)),
        )
        .select((answers::response_id, answers::question_key, answers::value, answers::other_text))
        .order((answers::response_id, answers::question_key))
        .load_iter::<StoredAnswer, diesel::connection::DefaultLoadingMode>(conn)?;
    for answer in answers {
        each(answer?)?;
    }
    Ok(())
}

/// A page of the written answers to question `key`, oldest first: for the officers' reader of free text.
pub fn text_answers(
    conn: &mut DbConnection,
    consultation_id: i64,
    key: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    answers::table
        .filter(answers::consultation_id.eq(consultation_id).and(answers::question_key.eq(key)))
        .select(answers::value)
        .order(answers::id)
        .offset(offset)
        .limit(limit)
        .load(conn)
}
