//! One batch of responses and journey pages in one write transaction.

use super::idempotency::replay;
use super::{Job, JourneySave, Outcome};
use crate::db::{self, DbConnection};
use crate::domain::answers::Answers;
use crate::domain::phase::Phase;
use crate::email::Kind;
use crate::models::{self, consultation, journey, outbox, response, totals};
use crate::results::tally::Tally;
use diesel::Connection as _;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Stores a batch in one write transaction and returns each job's outcome, in order.
///
/// The common case costs a handful of statements whatever the batch size: one look-up of the batch's keys, one
/// multi-row insert of the new responses and one of their answers (inside a savepoint), and the summed totals.
/// If the multi-row insert fails — a key or reference stored meanwhile by another writer — the savepoint is
/// rolled back and each new response is stored alone in a savepoint of its own, so that only the one at fault
/// is affected. Only a failure of the whole transaction fails the batch.
///
/// Journey pages are saved in the same transaction, one statement each, in (consultation, token) order as the
/// responses are; a stored response sent from a journey marks the journey submitted.
pub(super) fn store(
    conn: &mut DbConnection,
    batch: &[Job],
    saves: &[&JourneySave],
    stripe: i32,
    zone: chrono_tz::Tz,
    new_reference: &(dyn Fn() -> String + Send + Sync),
) -> Result<Vec<Result<Outcome, anyhow::Error>>, diesel::result::Error> {
    db::write(conn, |conn| {
        let now = models::now();
        let mut phases: HashMap<i64, Phase> = HashMap::new();
        let mut known: HashMap<i64, HashMap<String, (String, String)>> = HashMap::new();
        for job in batch {
            let id = job.submission.consultation_id;
            if !phases.contains_key(&id) {
                phases.insert(id, consultation::find(conn, id)?.phase(now));
                let keys: Vec<&str> = batch
                    .iter()
                    .filter(|j| j.submission.consultation_id == id)
                    .map(|j| j.submission.idempotency_key.as_str())
                    .collect();
                known.insert(id, response::find_by_keys(conn, id, &keys)?);
            }
        }

        let mut outcomes: Vec<Option<Result<Outcome, anyhow::Error>>> = batch.iter().map(|_| None).collect();
        // New responses to insert together, and repeats of a key that is new in this very batch, which are
        // settled one by one once the first is stored.
        let mut fresh: Vec<(usize, String)> = Vec::new();
        let mut repeats: Vec<usize> = Vec::new();
        let mut claimed: HashSet<(i64, &str)> = HashSet::new();
        for (i, job) in batch.iter().enumerate() {
            let s = &job.submission;
            if let Some((reference, fingerprint)) = known[&s.consultation_id].get(&s.idempotency_key) {
                outcomes[i] = Some(Ok(replay(job, reference.clone(), fingerprint)));
            } else if phases[&s.consultation_id] != Phase::Open {
                outcomes[i] = Some(Ok(Outcome::NotOpen(phases[&s.consultation_id])));
            } else if !claimed.insert((s.consultation_id, s.idempotency_key.as_str())) {
                repeats.push(i);
            } else {
                fresh.push((i, new_reference()));
            }
        }

        // Rows are written in (consultation, key) order by every writer of every instance, so that two batches
        // racing for the same keys wait for one another on the unique index instead of deadlocking.
        let key_of = |i: usize| (batch[i].submission.consultation_id, batch[i].submission.idempotency_key.as_str(), i);
        fresh.sort_by_key(|(i, _)| key_of(*i));
        let rows: Vec<response::NewResponse> =
            fresh.iter().map(|(i, reference)| new_row(&batch[*i], reference, now)).collect();
        let given: Vec<&Answers> = fresh.iter().map(|(i, _)| &batch[*i].submission.answers).collect();
        match conn.transaction(|conn| response::insert_many(conn, &rows, &given)) {
            Ok(()) => {
                for (i, reference) in &fresh {
                    outcomes[*i] = Some(Ok(Outcome::Created { reference: reference.clone() }));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a multi-row insert of responses failed: storing them one by one");
                repeats.extend(fresh.iter().map(|(i, _)| *i));
            }
        }
        repeats.sort_by_key(|i| key_of(*i));
        for i in repeats {
            outcomes[i] = Some(
                store_one(conn, &batch[i], now, new_reference)
                    .map_err(|e| anyhow::Error::from(e).context("storing one response failed")),
            );
        }

        save_journeys(conn, batch, &outcomes, saves)?;
        enqueue_receipts(conn, batch, &outcomes, now)?;

        let mut tallies: BTreeMap<(i64, i64), Tally> = BTreeMap::new();
        let day = models::day_in(now, zone);
        for (job, outcome) in batch.iter().zip(&outcomes) {
            if matches!(outcome, Some(Ok(Outcome::Created { .. }))) {
                let s = &job.submission;
                tallies.entry((s.consultation_id, s.version.id)).or_default().add(
                    &s.version.content.questionnaire,
                    &s.answers,
                    s.channel.as_str(),
                    &day,
                );
            }
        }
        // In (consultation, version) order, so that writers sharing a stripe never wait on each other's rows in
        // a cycle.
        for ((id, version), tally) in &tallies {
            totals::apply(conn, *id, *version, stripe, tally)?;
        }
        let mut changed: Vec<i64> = tallies.keys().map(|(id, _)| *id).collect();
        changed.dedup();
        crate::live::announce(conn, &changed)?;
        Ok(outcomes.into_iter().map(|o| o.expect("every job has an outcome")).collect())
    })
}

/// The journeys' saved pages, and the journeys whose responses were stored, in (consultation, token) order.
fn save_journeys(
    conn: &mut DbConnection,
    batch: &[Job],
    outcomes: &[Option<Result<Outcome, anyhow::Error>>],
    saves: &[&JourneySave],
) -> Result<(), diesel::result::Error> {
    let mut saves = saves.to_vec();
    // Stable: two saves of one journey keep the order they were sent in.
    saves.sort_by(|a, b| (a.consultation_id, &a.token).cmp(&(b.consultation_id, &b.token)));
    for save in saves {
        if save.begins {
            journey::insert(
                conn,
                &journey::NewJourney {
                    consultation_id: save.consultation_id,
                    token: &save.token,
                    version_id: save.version_id,
                    answers: &save.progress,
                    created_at: save.at,
                    updated_at: save.at,
                    expires_at: save.expires_at,
                    respondent: None,
                },
            )?;
        } else {
            journey::save_progress(conn, save.consultation_id, &save.token, &save.progress, save.at, save.expires_at)?;
        }
    }
    let mut submitted: Vec<(i64, &str, &str)> = batch
        .iter()
        .zip(outcomes)
        .filter_map(|(job, outcome)| match (&job.submission.journey, outcome) {
            (Some(token), Some(Ok(Outcome::Created { reference } | Outcome::Replayed { reference }))) => {
                Some((job.submission.consultation_id, token.as_str(), reference.as_str()))
            }
            _ => None,
        })
        .collect();
    submitted.sort_unstable();
    let now = models::now();
    for (consultation_id, token, reference) in submitted {
        journey::mark_submitted(conn, consultation_id, token, reference, now)?;
    }
    Ok(())
}

/// The receipts asked for with the responses stored: in the response's transaction, so that a receipt exists
/// exactly when its response does. No statement at all when none was asked for.
fn enqueue_receipts(
    conn: &mut DbConnection,
    batch: &[Job],
    outcomes: &[Option<Result<Outcome, anyhow::Error>>],
    now: chrono::NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    for (job, outcome) in batch.iter().zip(outcomes) {
        let (Some(receipt), Some(Ok(Outcome::Created { reference }))) = (&job.submission.receipt, outcome) else {
            continue;
        };
        let id = job.submission.consultation_id;
        outbox::enqueue(
            conn,
            &outbox::NewMessage {
                consultation_id: Some(id),
                kind: Kind::Receipt.name(),
                dedup_key: &super::receipt_key(id, reference),
                recipient: &receipt.to,
                payload: serde_json::json!({ "reference": reference, "answers": receipt.answers }),
            },
            now,
        )?;
    }
    Ok(())
}

fn new_row<'a>(job: &'a Job, reference: &'a str, now: chrono::NaiveDateTime) -> response::NewResponse<'a> {
    let s = &job.submission;
    response::NewResponse {
        consultation_id: s.consultation_id,
        version_id: s.version.id,
        reference,
        channel: s.channel.as_str(),
        entered_by: s.entered_by,
        idempotency_key: &s.idempotency_key,
        fingerprint: &job.fingerprint,
        submitted_at: now,
        respondent: s.respondent.as_deref(),
    }
}

/// Stores one response in its own savepoint; a key stored meanwhile makes it a replay (or a reused key), and a
/// response stored meanwhile from the same confirmed address a refusal: the unique index on the respondent is
/// the last word on one response per person, whatever raced.
fn store_one(
    conn: &mut DbConnection,
    job: &Job,
    now: chrono::NaiveDateTime,
    new_reference: &(dyn Fn() -> String + Send + Sync),
) -> Result<Outcome, diesel::result::Error> {
    // A fresh reference can collide with a stored one (about one in 10^11); try again with another.
    for _ in 0..3 {
        let reference = new_reference();
        let row = new_row(job, &reference, now);
        match conn.transaction(|conn| response::insert_many(conn, &[row], &[&job.submission.answers])) {
            Ok(()) => return Ok(Outcome::Created { reference }),
            Err(e) if db::is_unique_violation(&e) => {
                if let Some(outcome) = previous(conn, job)? {
                    return Ok(outcome);
                }
                if let Some(respondent) = &job.submission.respondent {
                    if response::has_respondent(conn, job.submission.consultation_id, respondent)? {
                        return Ok(Outcome::AlreadyResponded);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// The outcome for a key that was used before, if it was.
fn previous(conn: &mut DbConnection, job: &Job) -> Result<Option<Outcome>, diesel::result::Error> {
    let s = &job.submission;
    Ok(response::find_by_key(conn, s.consultation_id, &s.idempotency_key)?
        .map(|(reference, fingerprint)| replay(job, reference, &fingerprint)))
}
