//! Publishing a closed consultation's results: a snapshot of the running totals at that moment, with what the
//! council decided and why. Every publication is kept; the latest is what the public read, and later
//! responses (paper ones keyed late) change it only when the results are published again.

use super::{audit, Error, Result};
use crate::db::{self, DbConnection};
use crate::domain::phase::Phase;
use crate::domain::questionnaire::{limits, Questionnaire};
use crate::email::{notify, Mail};
use crate::models::audit::Actor;
use crate::models::consultation::{self, Consultation};
use crate::models::{now, snapshot, totals, version};
use crate::results::published::Figures;
use chrono::NaiveDateTime;

/// A publication made.
#[derive(Debug, Clone)]
pub struct Publication {
    pub number: i32,
    pub published_at: NaiveDateTime,
    pub responses: i64,
}

/// What the council decided and why, checked: required, and no longer than a consultation's background.
pub fn check_outcome(outcome: &str) -> std::result::Result<(), String> {
    if outcome.trim().is_empty() {
        return Err("Enter what the council decided and why".into());
    }
    if outcome.chars().count() > limits::BODY {
        return Err(format!("What the council decided must be {} characters or fewer", limits::BODY));
    }
    Ok(())
}

/// Publishes the results of a closed consultation (again, if they were published before): the figures the
/// running totals give now, in the same transaction that reads them, with `outcome` (markdown). Without an
/// outcome the snapshot keeps the latest publication's, so that refreshing the figures does not take away a
/// decision already recorded; with none recorded yet, the public page says so. Residents who asked to hear of
/// it are emailed, written to the outbox in the same transaction (links built with `mail`).
pub fn publish_results(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    outcome: Option<&str>,
    mail: &Mail,
) -> Result<Publication> {
    if let Some(outcome) = outcome {
        check_outcome(outcome).map_err(Error::invalid)?;
    }
    let made = db::write(conn, |conn| {
        let c = consultation::find(conn, c.id)?;
        let at = now();
        if c.phase(at) != Phase::Closed {
            return Err(Error::NotClosed);
        }
        let published = version::published_questionnaires(conn, c.id)?;
        let tallies = totals::read(conn, c.id, &totals::Parts::default())?;
        let by_id: Vec<(i64, &Questionnaire)> = published.iter().map(|(id, _, q)| (*id, q)).collect();
        let report = crate::results::report::build(&c.slug, &by_id, &tallies);
        let questionnaires: Vec<&Questionnaire> = published.iter().map(|(_, _, q)| q).collect();
        let responses = report.responses;
        let figures = Figures::new(report, &questionnaires);
        let kept = match outcome {
            Some(outcome) => Some(outcome.trim().to_string()),
            None => snapshot::latest(conn, c.id)?.and_then(|s| snapshot::decision(&s.outcome).map(str::to_string)),
        };
        let number =
            snapshot::insert(conn, c.id, at, actor.user_id, &actor.name, kept.as_deref(), responses, &figures)?;
        audit(
            conn,
            actor,
            &c,
            "results.publish",
            serde_json::json!({ "publication": number, "responses": responses }),
        )?;
        notify::results_published(conn, &c, mail, at)?;
        Ok(Publication { number, published_at: at, responses })
    })?;
    mail.wake.wake();
    Ok(made)
}
