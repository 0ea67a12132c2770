//! Responses and their answers.

use crate::db::schema::{answers, responses};
use crate::db::DbConnection;
use crate::domain::answers::Answers;
use chrono::NaiveDateTime;
use diesel::prelude::*;

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

#[derive(Debug, Insertable)]
#[diesel(table_name = answers)]
struct NewAnswer<'a> {
    consultation_id: i64,
    response_id: i64,
    question_key: &'a str,
    value: String,
    other_text: Option<&'a str>,
}

/// Inserts a response and its answers; the caller holds the transaction.
pub fn insert(conn: &mut DbConnection, new: &NewResponse, given: &Answers) -> QueryResult<i64> {
    let response_id: i64 =
        diesel::insert_into(responses::table).values(new).returning(responses::id).get_result(conn)?;
    for (key, answer) in given {
        diesel::insert_into(answers::table)
            .values(&NewAnswer {
                consultation_id: new.consultation_id,
                response_id,
                question_key: key,
                value: answer.value.to_stored(),
                other_text: answer.other.as_deref(),
            })
            .execute(conn)?;
    }
    Ok(response_id)
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
