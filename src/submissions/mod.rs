//! Storing what residents send with group commit. Handlers validate a response, or the answers of a journey
//! page, then hand it to a writer thread; the writer takes everything waiting, stores it all in one
//! transaction (one fsync), applies the responses' summed running totals in the same transaction, and only then
//! acknowledges each. A response sent from a journey marks that journey submitted in the same transaction too.
//! This file holds the queue and the writer threads; `batch` the transaction; `idempotency` how a retry is told
//! from a new response.

mod batch;
mod idempotency;

use crate::db::Pool;
use crate::domain::answers::Answers;
use crate::domain::phase::Phase;
use crate::models::{response, totals, version::Loaded};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A validated response on its way to the database.
pub struct Submission {
    pub consultation_id: i64,
    /// The published version answered.
    pub version: Arc<Loaded>,
    pub channel: response::Channel,
    /// The officer keying a paper, email or event response.
    pub entered_by: Option<i64>,
    pub idempotency_key: String,
    pub answers: Answers,
    /// The token of the resident's journey that this response completes, marked submitted with it.
    pub journey: Option<String>,
    /// The receipt the resident asked for, enqueued in the same transaction as the response.
    pub receipt: Option<Receipt>,
    /// The keyed hash of the confirmed address (`auth::secret::address_hash`) where each person responds once:
    /// stored beside the response, whose unique index refuses a second one.
    pub respondent: Option<String>,
}

/// A receipt to send once the response is stored: the handler writes the copy of the answers as the resident
/// saw them, so that the writer does no rendering.
pub struct Receipt {
    pub to: String,
    /// The answers in words, as `web::public::journey::receipt_copy` writes them.
    pub answers: serde_json::Value,
}

/// The answers so far of a resident's journey, saved from a page.
pub struct JourneySave {
    pub consultation_id: i64,
    pub token: String,
    /// The version answered: kept when the journey begins, with its first page saved.
    pub version_id: i64,
    /// Whether this is the first page saved, which makes the journey's row.
    pub begins: bool,
    /// The progress, as `models::journey` keeps it.
    pub progress: String,
    pub at: chrono::NaiveDateTime,
    pub expires_at: chrono::NaiveDateTime,
}

/// The outbox's de-duplication key of a response's receipt: one receipt per stored response.
pub fn receipt_key(consultation_id: i64, reference: &str) -> String {
    format!("receipt:{consultation_id}:{reference}")
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
    /// Each person may respond once, and a response from this confirmed address is stored already.
    AlreadyResponded,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("too many responses are waiting to be stored")]
    Overloaded,
    #[error("the response could not be stored")]
    Storage(#[source] anyhow::Error),
}

/// Makes response references: `domain::reference::new_reference`, except in tests that need collisions.
pub type References = Arc<dyn Fn() -> String + Send + Sync>;

struct Job {
    submission: Submission,
    fingerprint: String,
    reply: oneshot::Sender<Result<Outcome, Arc<anyhow::Error>>>,
}

struct SaveJob {
    save: JourneySave,
    reply: oneshot::Sender<Result<(), Arc<anyhow::Error>>>,
}

/// What the writers are handed.
enum Work {
    Response(Job),
    Journey(SaveJob),
}

/// The handle handlers use; cheap to clone.
#[derive(Clone)]
pub struct Submitter {
    queue: Sender<Work>,
}

/// Responses and journey pages stored per transaction at most.
const MAX_BATCH: usize = 2_000;

/// How the writers work.
#[derive(Clone)]
pub struct Options {
    /// Writer threads (SQLite has one writer at a time, so more only queue there).
    pub writers: usize,
    /// Waiting submissions beyond this are refused, so that overload is shed quickly instead of piling up.
    pub queue_limit: usize,
    /// The council's time zone, whose days the responses are counted by.
    pub zone: chrono_tz::Tz,
    /// Told after each commit which consultations gained responses.
    pub notifier: crate::live::Notifier,
    /// Woken after a commit that enqueued a receipt, so that it goes at once.
    pub wake: crate::email::Wake,
    pub references: References,
}

impl Options {
    pub fn new(
        writers: usize,
        queue_limit: usize,
        zone: chrono_tz::Tz,
        notifier: crate::live::Notifier,
        wake: crate::email::Wake,
    ) -> Options {
        Options {
            writers,
            queue_limit,
            zone,
            notifier,
            wake,
            references: Arc::new(crate::domain::reference::new_reference),
        }
    }
}

impl Submitter {
    /// Starts the writer threads over the pool.
    pub fn start(pool: Pool, options: Options) -> Submitter {
        let (queue, jobs) = crossbeam_channel::bounded(options.queue_limit);
        // Each writer adds to a stripe of its own; other instances start at other stripes.
        let first_stripe = rand::random_range(0..totals::STRIPES);
        for n in 0..options.writers.max(1) {
            let pool = pool.clone();
            let jobs = jobs.clone();
            let stripe = (first_stripe + n as i32) % totals::STRIPES;
            let options = options.clone();
            std::thread::Builder::new()
                .name(format!("response-writer-{n}"))
                .spawn(move || writer(pool, jobs, stripe, options))
                .expect("the writer thread starts");
        }
        Submitter { queue }
    }

    /// Stores a submission; resolves once the transaction holding it has committed.
    pub async fn submit(&self, submission: Submission) -> Result<Outcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let fingerprint = idempotency::fingerprint(&submission.answers);
        self.send(Work::Response(Job { submission, fingerprint, reply }), answer).await
    }

    /// Saves a journey's progress; resolves once the transaction holding it has committed.
    pub async fn save_journey(&self, save: JourneySave) -> Result<(), SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.send(Work::Journey(SaveJob { save, reply }), answer).await
    }

    async fn send<T>(
        &self,
        work: Work,
        answer: oneshot::Receiver<Result<T, Arc<anyhow::Error>>>,
    ) -> Result<T, SubmitError> {
        match self.queue.try_send(work) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => {
                return Err(SubmitError::Storage(anyhow::anyhow!("the response writer has stopped")))
            }
        }
        match answer.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(SubmitError::Storage(anyhow::anyhow!("{e:#}"))),
            Err(_) => Err(SubmitError::Storage(anyhow::anyhow!("the response writer stopped before replying"))),
        }
    }
}

fn writer(pool: Pool, work: Receiver<Work>, stripe: i32, options: Options) {
    while let Ok(first) = work.recv() {
        let (mut batch, mut saves) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Work::Response(job) => batch.push(job),
                Work::Journey(save) => saves.push(save),
            }
            if batch.len() + saves.len() < MAX_BATCH {
                next = work.try_recv().ok();
            }
        }
        // A panic is a bug, but it must not stop every later response being stored: it fails this batch alone.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.get().map_err(anyhow::Error::from).and_then(|mut conn| {
                let saved: Vec<&JourneySave> = saves.iter().map(|s| &s.save).collect();
                Ok(batch::store(&mut conn, &batch, &saved, stripe, options.zone, options.references.as_ref())?)
            })
        }))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the response writer panicked")));
        match result {
            Ok(outcomes) => {
                for save in saves {
                    let _ = save.reply.send(Ok(()));
                }
                let created = |o: &Result<Outcome, anyhow::Error>| matches!(o, Ok(Outcome::Created { .. }));
                let mut changed: Vec<i64> = batch
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| created(o))
                    .map(|(job, _)| job.submission.consultation_id)
                    .collect();
                if batch.iter().zip(&outcomes).any(|(job, o)| job.submission.receipt.is_some() && created(o)) {
                    options.wake.wake();
                }
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome.map_err(Arc::new));
                }
                changed.sort_unstable();
                changed.dedup();
                for id in changed {
                    options.notifier.changed(id);
                }
            }
            Err(e) => {
                // Nothing in the batch was acknowledged. Usually nothing was committed either, but a COMMIT that
                // fails with the connection lost may have taken effect on PostgreSQL: the clients retry under the
                // same keys, which find whatever was stored.
                tracing::error!(
                    error = format!("{e:#}"),
                    responses = batch.len(),
                    journey_pages = saves.len(),
                    "storing a batch of responses failed"
                );
                let e = Arc::new(e);
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
                for save in saves {
                    let _ = save.reply.send(Err(e.clone()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, DbConnection};
    use crate::domain::questionnaire::Content;
    use crate::domain::validation;
    use crate::models::{consultation, organisation, version};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn test_options(writers: usize, queue_limit: usize) -> Options {
        Options::new(
            writers,
            queue_limit,
            chrono_tz::Europe::London,
            crate::live::Notifier::default(),
            crate::email::Wake::default(),
        )
    }

    /// A fresh SQLite database in its own folder.
    fn pool() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), 4).unwrap();
        (dir, pool)
    }

    /// An open consultation whose one question has the key `key` (so two can share no question key).
    fn open_consultation(pool: &Pool, slug: &str, key: &str) -> (i64, Arc<Loaded>) {
        let mut conn = pool.get().unwrap();
        let q = serde_json::from_value(serde_json::json!({"sections": [{"key": "s", "title": "S", "questions": [
            {"key": key, "kind": "short_text", "prompt": "Say", "required": true}]}]}))
        .unwrap();
        let id = db::write(&mut conn, |conn| -> diesel::QueryResult<i64> {
            let now = crate::models::now();
            let org = organisation::find_or_create(conn, "Test")?;
            let id = consultation::insert(
                conn,
                &consultation::NewConsultation {
                    organisation_id: org.id,
                    slug,
                    opens_at: Some(now - chrono::Duration::days(1)),
                    closes_at: Some(now + chrono::Duration::days(1)),
                    results_visibility: "public",
                    outcome: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let content = Content { title: "T".into(), summary: "S".into(), body: "".into(), questionnaire: q };
            version::publish_content(conn, id, &content)?;
            Ok(id)
        })
        .unwrap();
        let live = consultation::find(&mut conn, id).unwrap().live_version_id.unwrap();
        (id, Arc::new(version::load(&mut conn, live).unwrap()))
    }

    fn submission(id: i64, live: &Arc<Loaded>, key: &str, text: &str) -> Submission {
        let question = live.content.questionnaire.questions().next().unwrap().key.clone();
        let json = serde_json::json!({ question: text });
        Submission {
            consultation_id: id,
            version: live.clone(),
            channel: response::Channel::Api,
            entered_by: None,
            idempotency_key: key.to_string(),
            answers: validation::from_json(&live.content.questionnaire, json.as_object().unwrap()).unwrap(),
            journey: None,
            receipt: None,
            respondent: None,
        }
    }

    /// Holds SQLite's write lock until dropped, so that submissions queue up and the next batch takes them
    /// all together.
    struct WriteLock(crate::db::PooledConnection);

    impl WriteLock {
        fn take(pool: &Pool) -> WriteLock {
            let mut conn = pool.get().unwrap();
            conn.batch_execute("BEGIN IMMEDIATE").unwrap();
            WriteLock(conn)
        }
    }

    impl Drop for WriteLock {
        fn drop(&mut self) {
            self.0.batch_execute("ROLLBACK").unwrap();
        }
    }

    /// The stored answers of a response, by its consultation and key.
    fn stored(conn: &mut DbConnection, id: i64, key: &str) -> Vec<(String, String)> {
        use crate::db::schema::{answers, responses};
        answers::table
            .inner_join(responses::table.on(responses::id.eq(answers::response_id)))
            .filter(responses::consultation_id.eq(id).and(responses::idempotency_key.eq(key)))
            .select((answers::question_key, answers::value))
            .load(conn)
            .unwrap()
    }

    /// Submits `jobs` so that they share one batch: the writer takes `first` and waits for the write lock while
    /// the others queue up behind it.
    async fn in_one_batch(
        pool: &Pool,
        submitter: &Submitter,
        first: Submission,
        jobs: Vec<Submission>,
    ) -> Vec<Result<Outcome, SubmitError>> {
        let lock = WriteLock::take(pool);
        let first = tokio::spawn({
            let s = submitter.clone();
            async move { s.submit(first).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rest = futures_util::future::join_all(jobs.into_iter().map(|s| submitter.submit(s)));
        let release = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(lock);
        };
        let (rest, ()) = tokio::join!(rest, release);
        let first = first.await.unwrap();
        assert!(matches!(first, Ok(Outcome::Created { .. })), "{first:?}");
        rest
    }

    #[tokio::test]
    async fn the_same_key_for_two_consultations_in_one_batch_keeps_each_response_its_own_answers() {
        let (_dir, pool) = pool();
        let (a, live_a) = open_consultation(&pool, "a", "colour");
        let (b, live_b) = open_consultation(&pool, "b", "animal");
        let submitter = Submitter::start(pool.clone(), test_options(1, 100));
        let jobs = (0..20)
            .flat_map(|i| {
                [
                    submission(a, &live_a, &format!("k{i}"), &format!("red {i}")),
                    submission(b, &live_b, &format!("k{i}"), &format!("cat {i}")),
                ]
            })
            .collect();
        let outcomes = in_one_batch(&pool, &submitter, submission(a, &live_a, "first", "blue"), jobs).await;
        assert!(outcomes.iter().all(|o| matches!(o, Ok(Outcome::Created { .. }))), "{outcomes:?}");
        let mut conn = pool.get().unwrap();
        for i in 0..20 {
            assert_eq!(stored(&mut conn, a, &format!("k{i}")), [("colour".to_string(), format!("red {i}"))]);
            assert_eq!(stored(&mut conn, b, &format!("k{i}")), [("animal".to_string(), format!("cat {i}"))]);
        }
        for id in [a, b] {
            assert_eq!(
                crate::models::response::recount(&mut conn, id, chrono_tz::Europe::London).unwrap(),
                totals::read(&mut conn, id, &totals::Parts::all()).unwrap()
            );
        }
    }

    #[tokio::test]
    async fn journey_pages_share_the_batch_and_a_response_from_a_journey_marks_it_submitted() {
        use crate::models::journey;
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        let submitter = Submitter::start(pool.clone(), test_options(1, 100));
        let at = crate::models::now();
        let save = |token: &str, begins: bool, progress: &str| JourneySave {
            consultation_id: a,
            token: token.to_string(),
            version_id: live.id,
            begins,
            progress: progress.to_string(),
            at,
            expires_at: at + chrono::Duration::days(7),
        };
        // Two journeys begun in one transaction with a response; then one saved again and submitted.
        let lock = WriteLock::take(&pool);
        let first = tokio::spawn({
            let s = submitter.clone();
            let job = submission(a, &live, "first", "blue");
            async move { s.submit(job).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (one, two, ()) = tokio::join!(
            submitter.save_journey(save("t1", true, r#"{"answers":{}}"#)),
            submitter.save_journey(save("t2", true, r#"{"answers":{}}"#)),
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                drop(lock);
            }
        );
        one.unwrap();
        two.unwrap();
        assert!(matches!(first.await.unwrap(), Ok(Outcome::Created { .. })));
        submitter.save_journey(save("t1", false, r#"{"answers":{"colour":"red"}}"#)).await.unwrap();
        let mut conn = pool.get().unwrap();
        let t1 = journey::find(&mut conn, "t1", a, at).unwrap().expect("the journey is stored");
        assert_eq!(t1.answers, r#"{"answers":{"colour":"red"}}"#);
        assert!(journey::find(&mut conn, "t2", a, at).unwrap().is_some());
        drop(conn);

        let sent = Submission { journey: Some("t1".to_string()), ..submission(a, &live, "journey:t1", "red") };
        let Ok(Outcome::Created { reference }) = submitter.submit(sent).await else { panic!("stored") };
        let t1 = journey::find(&mut pool.get().unwrap(), "t1", a, at).unwrap().unwrap();
        assert_eq!(t1.reference.as_deref(), Some(reference.as_str()), "marked with the response");
        assert_eq!(t1.answers, "{}", "its answers now live in the response alone");
        let t2 = journey::find(&mut pool.get().unwrap(), "t2", a, at).unwrap().unwrap();
        assert_eq!(t2.reference, None);
    }

    #[tokio::test]
    async fn a_failed_batch_stores_nothing_and_every_client_may_retry() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        let submitter = Submitter::start(pool.clone(), test_options(1, 100));
        // A consultation that does not exist fails the whole transaction it is in.
        let outcomes = in_one_batch(
            &pool,
            &submitter,
            submission(a, &live, "first", "blue"),
            vec![submission(a, &live, "good", "green"), submission(999, &live, "orphan", "grey")],
        )
        .await;
        assert!(outcomes.iter().all(|o| matches!(o, Err(SubmitError::Storage(_)))), "{outcomes:?}");
        let mut conn = pool.get().unwrap();
        assert!(stored(&mut conn, a, "good").is_empty(), "nothing of the failed batch is stored");
        drop(conn);
        let retried = submitter.submit(submission(a, &live, "good", "green")).await;
        assert!(matches!(retried, Ok(Outcome::Created { .. })), "{retried:?}");
        assert_eq!(crate::models::response::count(&mut pool.get().unwrap(), a).unwrap(), 2);
    }

    /// A submission that asks for a receipt to `to`.
    fn with_receipt(mut s: Submission, to: &str) -> Submission {
        s.receipt = Some(Receipt { to: to.to_string(), answers: serde_json::json!([]) });
        s
    }

    fn outbox_rows(pool: &Pool) -> Vec<crate::models::outbox::Message> {
        use crate::db::schema::outbox;
        outbox::table.select(crate::models::outbox::Message::as_select()).load(&mut pool.get().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_failed_batch_enqueues_no_receipt_and_a_stored_response_enqueues_one() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        let submitter = Submitter::start(pool.clone(), test_options(1, 100));
        let outcomes = in_one_batch(
            &pool,
            &submitter,
            submission(a, &live, "first", "blue"),
            vec![
                with_receipt(submission(a, &live, "good", "green"), "ann@example.org"),
                with_receipt(submission(999, &live, "orphan", "grey"), "bob@example.org"),
            ],
        )
        .await;
        assert!(outcomes.iter().all(|o| matches!(o, Err(SubmitError::Storage(_)))), "{outcomes:?}");
        assert!(outbox_rows(&pool).is_empty(), "a receipt exists only with its response");
        let stored = submitter.submit(with_receipt(submission(a, &live, "good", "green"), "ann@example.org")).await;
        let Ok(Outcome::Created { reference }) = stored else { panic!("{stored:?}") };
        let replayed = submitter.submit(with_receipt(submission(a, &live, "good", "green"), "ann@example.org")).await;
        assert!(matches!(replayed, Ok(Outcome::Replayed { .. })), "{replayed:?}");
        let rows = outbox_rows(&pool);
        assert_eq!(rows.len(), 1, "one receipt, not one per replay");
        assert_eq!(rows[0].dedup_key, receipt_key(a, &reference));
        assert_eq!(rows[0].recipient.as_deref(), Some("ann@example.org"));
        assert_eq!(rows[0].kind, "receipt");
        let payload: serde_json::Value = serde_json::from_str(&rows[0].payload).unwrap();
        assert_eq!(payload["reference"], reference.as_str());
    }

    #[tokio::test]
    async fn a_second_response_from_one_respondent_in_the_same_batch_is_refused_alone() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        let submitter = Submitter::start(pool.clone(), test_options(1, 100));
        let from = |key: &str, text: &str, who: &str| {
            let mut s = submission(a, &live, key, text);
            s.respondent = Some(who.to_string());
            s
        };
        let outcomes = in_one_batch(
            &pool,
            &submitter,
            submission(a, &live, "first", "blue"),
            vec![from("j1", "red", "hash-1"), from("j2", "green", "hash-1"), from("j3", "grey", "hash-2")],
        )
        .await;
        assert!(matches!(outcomes[0], Ok(Outcome::Created { .. })), "{outcomes:?}");
        assert!(matches!(outcomes[1], Ok(Outcome::AlreadyResponded)), "{outcomes:?}");
        assert!(matches!(outcomes[2], Ok(Outcome::Created { .. })), "{outcomes:?}");
        let mut conn = pool.get().unwrap();
        assert!(stored(&mut conn, a, "j2").is_empty());
        assert_eq!(crate::models::response::count(&mut conn, a).unwrap(), 3);
        assert_eq!(totals::responses(&mut conn, a).unwrap(), 3, "the refused one is not counted");
        drop(conn);
        // Later, in a batch of its own, the same respondent again.
        let again = submitter.submit(from("j4", "pink", "hash-2")).await;
        assert!(matches!(again, Ok(Outcome::AlreadyResponded)), "{again:?}");
    }

    #[tokio::test]
    async fn a_panicking_batch_fails_alone_and_the_writer_carries_on() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        static PANIC: AtomicBool = AtomicBool::new(false);
        let references: References = Arc::new(|| {
            if PANIC.swap(false, Ordering::SeqCst) {
                panic!("a bug in the writer");
            }
            crate::domain::reference::new_reference()
        });
        let submitter = Submitter::start(pool.clone(), Options { references, ..test_options(1, 100) });
        PANIC.store(true, Ordering::SeqCst);
        let lost = submitter.submit(submission(a, &live, "k1", "red")).await;
        assert!(matches!(lost, Err(SubmitError::Storage(_))), "{lost:?}");
        assert_eq!(crate::models::response::count(&mut pool.get().unwrap(), a).unwrap(), 0);
        let next = submitter.submit(submission(a, &live, "k1", "red")).await;
        assert!(matches!(next, Ok(Outcome::Created { .. })), "{next:?}");
        assert_eq!(stored(&mut pool.get().unwrap(), a, "k1"), [("colour".to_string(), "red".to_string())]);
    }

    #[tokio::test]
    async fn references_that_collide_send_the_batch_one_by_one_and_lose_nothing() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        // Every other reference is the same, so the batch's multi-row insert fails on its unique key.
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let references: References = Arc::new(|| {
            if MADE.fetch_add(1, Ordering::SeqCst) % 2 == 1 {
                "HYS-AAAA-AAAA".to_string()
            } else {
                crate::domain::reference::new_reference()
            }
        });
        let submitter = Submitter::start(pool.clone(), Options { references, ..test_options(1, 100) });
        let jobs = (0..6).map(|i| submission(a, &live, &format!("k{i}"), &format!("red {i}"))).collect();
        let outcomes = in_one_batch(&pool, &submitter, submission(a, &live, "first", "blue"), jobs).await;
        let mut references: Vec<String> = outcomes
            .into_iter()
            .map(|o| match o {
                Ok(Outcome::Created { reference }) => reference,
                other => panic!("{other:?}"),
            })
            .collect();
        references.sort();
        references.dedup();
        assert_eq!(references.len(), 6, "each response its own reference");
        let mut conn = pool.get().unwrap();
        for i in 0..6 {
            assert_eq!(stored(&mut conn, a, &format!("k{i}")), [("colour".to_string(), format!("red {i}"))]);
        }
        assert_eq!(totals::responses(&mut conn, a).unwrap(), 7);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_with_overloaded() {
        let (_dir, pool) = pool();
        let (a, live) = open_consultation(&pool, "a", "colour");
        let submitter = Submitter::start(pool.clone(), test_options(1, 1));
        let lock = WriteLock::take(&pool);
        // The writer takes the first and waits for the lock; the second fills the queue; the third is refused.
        let first = tokio::spawn({
            let s = submitter.clone();
            let job = submission(a, &live, "k0", "red");
            async move { s.submit(job).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = tokio::spawn({
            let s = submitter.clone();
            let job = submission(a, &live, "k1", "red");
            async move { s.submit(job).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let third = submitter.submit(submission(a, &live, "k2", "red")).await;
        assert!(matches!(third, Err(SubmitError::Overloaded)), "{third:?}");
        drop(lock);
        assert!(matches!(first.await.unwrap(), Ok(Outcome::Created { .. })));
        assert!(matches!(second.await.unwrap(), Ok(Outcome::Created { .. })));
    }
}
