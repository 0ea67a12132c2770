//! Which questions a consultation's results dashboard leads with as headline cards: officers choose among
//! the live version's agree/disagree scale questions.

use super::{audit, Error, Result};
use crate::db::{self, DbConnection};
use crate::domain::questionnaire::{Kind, Questionnaire};
use crate::models::audit::Actor;
use crate::models::consultation::{self, Consultation};

/// The questions that can be headlines: the scale questions of `q`, as (key, prompt).
pub fn choices(q: &Questionnaire) -> Vec<(String, String)> {
    q.questions().filter(|x| x.kind == Kind::Scale).map(|x| (x.key.clone(), x.prompt.to_string())).collect()
}

/// Stores the chosen headline questions (in the questionnaire's order), with its audit record.
pub fn set(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    q: &Questionnaire,
    chosen: &[String],
) -> Result<()> {
    let allowed = choices(q);
    if let Some(unknown) = chosen.iter().find(|k| !allowed.iter().any(|(key, _)| key == *k)) {
        return Err(Error::invalid(format!("‘{unknown}’ is not an agree/disagree question of this consultation")));
    }
    let keys: Vec<String> = allowed.into_iter().map(|(k, _)| k).filter(|k| chosen.contains(k)).collect();
    db::write(conn, |conn| {
        consultation::set_headlines(conn, c.id, &keys)?;
        audit(conn, actor, c, "results.headlines", serde_json::json!({ "questions": keys }))?;
        Ok(())
    })
}
