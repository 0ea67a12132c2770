//! Storing responses with group commit. Handlers validate a response, then hand it to a writer thread; the
//! writer takes every response waiting, stores them all in one transaction (one fsync), applies their summed
//! running totals in the same transaction, and only then acknowledges each. Each response is stored inside its
//! own savepoint, so one that conflicts never fails its neighbours.

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
use std::collections::HashMap;
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
        for n in 0..writers.max(1) {
            let pool = pool.clone();
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("response-writer-{n}"))
                .spawn(move || writer(pool, jobs))
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

fn writer(pool: Pool, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = pool
            .get()
            .map_err(anyhow::Error::from)
            .and_then(|mut conn| store_batch(&mut conn, &batch).map_err(anyhow::Error::from));
        match result {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome.map_err(Arc::new));
                }
            }
            Err(e) => {
                // Nothing in the batch was committed, so nothing was acknowledged: each client may retry.
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

/// Stores a batch in one write transaction and returns each job's outcome, in order. A job whose own statements
/// fail is rolled back to its savepoint and reported alone; only a failure of the whole transaction fails all.
fn store_batch(
    conn: &mut DbConnection,
    batch: &[Job],
) -> Result<Vec<Result<Outcome, anyhow::Error>>, diesel::result::Error> {
    db::write(conn, |conn| {
        let now = models::now();
        let mut phases: HashMap<i64, Phase> = HashMap::new();
        let mut tallies: HashMap<i64, Tally> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for job in batch {
            let s = &job.submission;
            let phase = match phases.get(&s.consultation_id) {
                Some(p) => *p,
                None => {
                    let p = consultation::find(conn, s.consultation_id)?.phase(now);
                    phases.insert(s.consultation_id, p);
                    p
                }
            };
            let outcome = if phase == Phase::Open {
                store_one(conn, job, now).map_err(|e| anyhow::Error::from(e).context("storing one response failed"))
            } else {
                // A replay still gets its reference after closing; anything new is refused.
                Ok(previous(conn, job)?.unwrap_or(Outcome::NotOpen(phase)))
            };
            if matches!(outcome, Ok(Outcome::Created { .. })) {
                tallies.entry(s.consultation_id).or_default().add(&s.questionnaire, &s.answers);
            }
            outcomes.push(outcome);
        }
        let mut ids: Vec<&i64> = tallies.keys().collect();
        ids.sort();
        for id in ids {
            totals::apply(conn, *id, &tallies[id])?;
        }
        Ok(outcomes)
    })
}

fn store_one(conn: &mut DbConnection, job: &Job, now: chrono::NaiveDateTime) -> Result<Outcome, diesel::result::Error> {
    let s = &job.submission;
    // A fresh reference can collide with a stored one (about one in 10^11); try again with another.
    for _ in 0..3 {
        let reference = new_reference();
        let new = response::NewResponse {
            consultation_id: s.consultation_id,
            version_id: s.version_id,
            reference: &reference,
            channel: s.channel.as_str(),
            idempotency_key: &s.idempotency_key,
            fingerprint: &job.fingerprint,
            submitted_at: now,
        };
        match conn.transaction(|conn| response::insert(conn, &new, &s.answers)) {
            Ok(_) => return Ok(Outcome::Created { reference }),
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
    Ok(response::find_by_key(conn, s.consultation_id, &s.idempotency_key)?.map(|(reference, fingerprint)| {
        if fingerprint == job.fingerprint {
            Outcome::Replayed { reference }
        } else {
            Outcome::KeyReused
        }
    }))
}
