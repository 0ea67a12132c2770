//! A full recount from the stored answers, independent of the running totals: what the totals must always equal.

use super::tally::Tally;
use crate::db::DbConnection;
use crate::domain::answers::{Answer, Answers, Value};
use crate::models::{questionnaire, response};
use diesel::QueryResult;
use std::collections::HashMap;

/// Recounts every response of a consultation from its answers, against the version each response answered.
pub fn recount(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Tally> {
    let (responses, stored) = response::all_with_answers(conn, consultation_id)?;
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
