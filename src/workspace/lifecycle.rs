//! A consultation's lifecycle: publish a draft (freezing it as a version), set the times and the results
//! policy, open early, close early or extend, archive, discard a draft, and delete a consultation that was
//! never published. Phases follow from the stored times (`domain::phase`), so none of these needs a scheduler.

use super::{audit, Error, Result};
use crate::db::{self, DbConnection};
use crate::domain::phase::{self, Phase, Warning};
use crate::models::audit::Actor;
use crate::models::consultation::{self, Consultation, EmailRules, Schedule};
use crate::models::{now, response, setting, version};
use chrono::NaiveDateTime;

/// Publishes the draft as the live version; returns its number. Refused, naming each problem, when the draft
/// is not ready, the times are not set, or — once there are responses — it changes what an earlier version's
/// key meant.
pub fn publish(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<i32> {
    db::write(conn, |conn| {
        let c = consultation::find(conn, c.id)?;
        let Some(draft) = version::draft(conn, c.id)? else {
            return Err(Error::invalid("There are no changes to publish: edit the questionnaire first"));
        };
        let content = draft.content()?;
        let mut problems = content.check().err().unwrap_or_default();
        if c.opens_at.is_none() || c.closes_at.is_none() {
            problems.push("Set when the consultation opens and closes before publishing it".to_string());
        }
        if response::count(conn, c.id)? > 0 {
            let earlier = version::published_questionnaires(conn, c.id)?;
            let earlier: Vec<(i32, &crate::domain::questionnaire::Questionnaire)> =
                earlier.iter().map(|(_, number, q)| (*number, q)).collect();
            if let Err(more) = content.questionnaire.check_against(&earlier) {
                problems.extend(more);
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        version::publish(conn, c.id, &draft)?;
        audit(conn, actor, &c, "consultation.publish", serde_json::json!({ "version": draft.number }))?;
        Ok(draft.number)
    })
}

/// The warnings (never refusals) for a consultation running from `opens` to `closes`.
pub fn warnings(conn: &mut DbConnection, opens: NaiveDateTime, closes: NaiveDateTime) -> Result<Vec<Warning>> {
    let weeks = setting::minimum_weeks(conn)?;
    let periods = crate::models::election_period::for_warnings(conn)?;
    Ok(phase::warnings(opens, closes, weeks, &periods))
}

/// Sets the opening and closing times and the results policy; returns the warnings they raise.
pub fn schedule(conn: &mut DbConnection, actor: &Actor, c: &Consultation, new: Schedule) -> Result<Vec<Warning>> {
    if let (Some(o), Some(cl)) = (new.opens_at, new.closes_at) {
        if cl <= o {
            return Err(Error::invalid("The closing time must be after the opening time"));
        }
    }
    if crate::auth::Visibility::from_input(&new.results_visibility).is_none() {
        return Err(Error::invalid("Choose who can see the results"));
    }
    db::write(conn, |conn| {
        consultation::set_schedule(conn, c.id, &new)?;
        audit(
            conn,
            actor,
            c,
            "consultation.schedule",
            serde_json::json!({
                "opens_at": new.opens_at.map(crate::domain::definition::utc::format),
                "closes_at": new.closes_at.map(crate::domain::definition::utc::format),
                "results_visibility": new.results_visibility,
            }),
        )?;
        Ok::<_, Error>(())
    })?;
    match (new.opens_at, new.closes_at) {
        (Some(o), Some(cl)) => warnings(conn, o, cl),
        _ => Ok(Vec::new()),
    }
}

/// How many days after closing a consultation's email addresses may be kept, at least and at most.
pub const RETENTION_DAYS: std::ops::RangeInclusive<i32> = 1..=3650;

/// What an officer is told when the retention period is out of range.
pub fn retention_problem() -> String {
    format!("Enter a number of days from {} to {}", RETENTION_DAYS.start(), RETENTION_DAYS.end())
}

/// Sets whether each person may respond once and how long addresses are kept; audited when they change.
pub fn set_email_rules(conn: &mut DbConnection, actor: &Actor, c: &Consultation, rules: EmailRules) -> Result<()> {
    if !RETENTION_DAYS.contains(&rules.retention_days) {
        return Err(Error::Invalid(vec![retention_problem()]));
    }
    if c.email_rules() == rules {
        return Ok(());
    }
    db::write(conn, |conn| {
        consultation::set_email_rules(conn, c.id, &rules)?;
        let detail = serde_json::json!({
            "one_response_per_person": rules.one_response_per_person,
            "retention_days": rules.retention_days,
        });
        audit(conn, actor, c, "consultation.email_rules", detail)?;
        Ok(())
    })
}

/// Opens a scheduled consultation now.
pub fn open_now(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<()> {
    let at = now();
    if c.phase(at) != Phase::Forthcoming {
        return Err(Error::invalid("Only a scheduled consultation can be opened early"));
    }
    set_time(conn, actor, c, "consultation.open_early", Schedule { opens_at: Some(at), ..current(c) })
}

/// Closes an open consultation now: no response is taken after this moment.
pub fn close_now(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<()> {
    let at = now();
    if c.phase(at) != Phase::Open {
        return Err(Error::invalid("Only an open consultation can be closed"));
    }
    set_time(conn, actor, c, "consultation.close", Schedule { closes_at: Some(at), ..current(c) })
}

/// Moves the closing time later (also reopening a closed consultation whose results are not published).
pub fn extend(conn: &mut DbConnection, actor: &Actor, c: &Consultation, closes: NaiveDateTime) -> Result<Vec<Warning>> {
    if c.results_published_at.is_some() {
        return Err(Error::invalid("The results are published: this consultation cannot be extended"));
    }
    if closes <= now() || c.closes_at.is_some_and(|old| closes <= old) {
        return Err(Error::invalid("The new closing time must be later than the current one and in the future"));
    }
    set_time(conn, actor, c, "consultation.extend", Schedule { closes_at: Some(closes), ..current(c) })?;
    match c.opens_at {
        Some(o) => warnings(conn, o, closes),
        None => Ok(Vec::new()),
    }
}

fn current(c: &Consultation) -> Schedule {
    Schedule { opens_at: c.opens_at, closes_at: c.closes_at, results_visibility: c.results_visibility.clone() }
}

fn set_time(conn: &mut DbConnection, actor: &Actor, c: &Consultation, action: &str, new: Schedule) -> Result<()> {
    db::write(conn, |conn| {
        consultation::set_schedule(conn, c.id, &new)?;
        let detail = serde_json::json!({
            "opens_at": new.opens_at.map(crate::domain::definition::utc::format),
            "closes_at": new.closes_at.map(crate::domain::definition::utc::format),
        });
        audit(conn, actor, c, action, detail)?;
        Ok(())
    })
}

/// Archives a closed consultation (or a draft): it leaves the hub, its pages and results stay.
pub fn archive(conn: &mut DbConnection, actor: &Actor, c: &Consultation, archived: bool) -> Result<()> {
    if archived && matches!(c.phase(now()), Phase::Open | Phase::Forthcoming) {
        return Err(Error::invalid("Close the consultation before archiving it"));
    }
    db::write(conn, |conn| {
        consultation::set_archived(conn, c.id, archived.then(now))?;
        let action = if archived { "consultation.archive" } else { "consultation.unarchive" };
        audit(conn, actor, c, action, serde_json::json!({}))?;
        Ok(())
    })
}

/// Throws away the draft of a published consultation, keeping the live version.
pub fn discard_draft(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<()> {
    if c.live_version_id.is_none() {
        return Err(Error::invalid("This consultation has never been published: delete it instead"));
    }
    db::write(conn, |conn| {
        let Some(draft) = version::draft(conn, c.id)? else { return Ok(()) };
        version::delete_draft(conn, draft.id)?;
        audit(conn, actor, c, "consultation.discard_draft", serde_json::json!({ "version": draft.number }))?;
        Ok(())
    })
}

/// Deletes a consultation that was never published (so has no responses).
pub fn delete(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<()> {
    if c.live_version_id.is_some() {
        return Err(Error::invalid("A published consultation cannot be deleted: archive it instead"));
    }
    db::write(conn, |conn| {
        audit(conn, actor, c, "consultation.delete", serde_json::json!({}))?;
        consultation::delete_unpublished(conn, c.id)?;
        Ok(())
    })
}
