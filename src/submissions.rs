//! Storing responses with group commit. Handlers validate a response, then hand it to a writer thread; the
//! writer takes every response waiting, stores them all in one transaction (one fsync), applies their summed
//! running totals in the same transaction, and only then acknowledges each. A response that conflicts (its key
//! used before) is settled alone, so it never fails its neighbours.

use crate::db::{self, DbConnection, Pool};
use crate::domain::answers::{canonical_json, Answers};
use crate::domain::phase::Phase;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::reference::new_reference;
use crate::models::{self, consultation, response, totals};
use crate::results::tally::Tally;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use diesel::Connection as _;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A validated response on its way to the database.
pub struct Submission {
    pub consultation_id: i64,
    pub version_id: i64,
    pub questionnaire: Arc<Questionnaire>,
    pub channel: response::Channel,
    pub idempotency_key: String,
    pub answers: Answers,
}

impl Submission {
    /// Identifies the content, so that a replay can be told from a different response under the same key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(canonical_json(&self.answers).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What became of a submission once its transaction committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        reference: String,
    },
    /// The same key with the same answers again: nothing new stored.
    Replayed {
        reference: String,
    },
    /// The same key with different answers.
    KeyReused,
    /// The consultation is not taking responses.
    NotOpen(Phase),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("too many responses are waiting to be stored")]
    Overloaded,
    #[error("the response could not be stored")]
    Storage(#[source] anyhow::Error),
}

struct Job {
    submission: Submission,
    fingerprint: String,
    reply: oneshot::Sender<Result<Outcome, Arc<anyhow::Error>>>,
}

/// The handle handlers use; cheap to clone.
#[derive(Clone)]
pub struct Submitter {
    queue: Sender<Job>,
}

/// Responses stored per transaction at most.
const MAX_BATCH: usize = 2_000;

impl Submitter {
    /// Starts `writers` writer threads over the pool. Waiting submissions beyond `queue_limit` are refused so
    /// that overload is shed quickly instead of piling up.
    pub fn start(pool: Pool, writers: usize, queue_limit: usize) -> Submitter {
        let (queue, jobs) = crossbeam_channel::bounded(queue_limit);
        // Each writer adds to a stripe of its own; other instances start at other stripes.
        let first_stripe = rand::random_range(0..totals::STRIPES);
        for n in 0..writers.max(1) {
            let pool = pool.clone();
            let jobs = jobs.clone();
            let stripe = (first_stripe + n as i32) % totals::STRIPES;
            std::thread::Builder::new()
                .name(format!("response-writer-{n}"))
                .spawn(move || writer(pool, jobs, stripe))
                .expect("the writer thread starts");
        }
        Submitter { queue }
    }

    /// Stores a submission; resolves once the transaction holding it has committed.
    pub async fn submit(&self, submission: Submission) -> Result<Outcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let fingerprint = submission.fingerprint();
        match self.queue.try_send(Job { submission, fingerprint, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => {
                return Err(SubmitError::Storage(anyhow::anyhow!("the response writer has stopped")))
            }
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(SubmitError::Storage(anyhow::anyhow!("{e:#}"))),
            Err(_) => Err(SubmitError::Storage(anyhow::anyhow!("the response writer stopped before replying"))),
        }
    }
}

fn writer(pool: Pool, jobs: Receiver<Job>, stripe: i32) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A panic is a bug, but it must not stop every later response being stored: it fails this batch alone.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.get().map_err(anyhow::Error::from).and_then(|mut conn| Ok(store_batch(&mut conn, &batch, stripe)?))
        }))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the response writer panicked")));
        match result {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome.map_err(Arc::new));
                }
            }
            Err(e) => {
                // Nothing in the batch was acknowledged. Usually nothing was committed either, but a COMMIT that
                // fails with the connection lost may have taken effect on PostgreSQL: the clients retry under the
                // same keys, which find whatever was stored.
                tracing::error!(
                    error = format!("{e:#}"),
                    responses = batch.len(),
                    "storing a batch of responses failed"
                );
                let e = Arc::new(e);
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Stores a batch in one write transaction and returns each job's outcome, in order.
///
/// The common case costs a handful of statements whatever the batch size: one look-up of the batch's keys, one
/// multi-row insert of the new responses and one of their answers (inside a savepoint), and the summed totals.
/// If the multi-row insert fails — a key or reference stored meanwhile by another writer — the savepoint is
/// rolled back and each new response is stored alone in a savepoint of its own, so that only the one at fault
/// is affected. Only a failure of the whole transaction fails the batch.
fn store_batch(
    conn: &mut DbConnection,
    batch: &[Job],
    stripe: i32,
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
                repeats.sort_unstable();
            }
        }
        for i in repeats {
            outcomes[i] = Some(
                store_one(conn, &batch[i], now)
                    .map_err(|e| anyhow::Error::from(e).context("storing one response failed")),
            );
        }

        let mut tallies: BTreeMap<i64, Tally> = BTreeMap::new();
        for (job, outcome) in batch.iter().zip(&outcomes) {
            if matches!(outcome, Some(Ok(Outcome::Created { .. }))) {
                tallies
                    .entry(job.submission.consultation_id)
                    .or_default()
                    .add(&job.submission.questionnaire, &job.submission.answers);
            }
        }
        // In consultation order, so that writers sharing a stripe never wait on each other's rows in a cycle.
        for (id, tally) in &tallies {
            totals::apply(conn, *id, stripe, tally)?;
        }
        Ok(outcomes.into_iter().map(|o| o.expect("every job has an outcome")).collect())
    })
}

fn new_row<'a>(job: &'a Job, reference: &'a str, now: chrono::NaiveDateTime) -> response::NewResponse<'a> {
    let s = &job.submission;
    response::NewResponse {
        consultation_id: s.consultation_id,
        version_id: s.version_id,
        reference,
        channel: s.channel.as_str(),
        idempotency_key: &s.idempotency_key,
        fingerprint: &job.fingerprint,
        submitted_at: now,
    }
}

fn replay(job: &Job, reference: String, fingerprint: &str) -> Outcome {
    if fingerprint == job.fingerprint {
        Outcome::Replayed { reference }
    } else {
        Outcome::KeyReused
    }
}

/// Stores one response in its own savepoint; a key stored meanwhile makes it a replay (or a reused key).
fn store_one(conn: &mut DbConnection, job: &Job, now: chrono::NaiveDateTime) -> Result<Outcome, diesel::result::Error> {
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
