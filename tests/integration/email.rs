//! The outbox and its worker over a real SMTP conversation (`sink`): an outage loses nothing and sends nothing
//! twice; a refusal is kept for admins and can be resent; one event makes one message; two instances on one
//! PostgreSQL send each message once.

use crate::helpers::{spawn_app_with, spawn_instances_with, TestApp};
use crate::sink::{Mode, SmtpSink};
use haveyoursay::db::DbConnection;
use haveyoursay::models::{now, outbox};
use std::time::Duration;

/// Enqueues `count` password-reset messages to `user<n>@example.org` (each its own event), as the features
/// do, inside a transaction.
pub async fn enqueue_resets(app: &TestApp, first: usize, count: usize) {
    app.db(move |conn: &mut DbConnection| {
        haveyoursay::db::write(conn, |conn| -> diesel::QueryResult<()> {
            for n in first..first + count {
                let message = outbox::NewMessage {
                    consultation_id: None,
                    kind: "password_reset",
                    dedup_key: &format!("test-reset:{n}"),
                    recipient: &format!("user{n}@example.org"),
                    payload: serde_json::json!({"link": format!("https://consult.example/reset/{n}"), "expires": "noon"}),
                };
                outbox::enqueue(conn, &message, now())?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// The outbox rows, oldest first.
async fn rows(app: &TestApp) -> Vec<outbox::Message> {
    app.db(|conn: &mut DbConnection| {
        use diesel::prelude::*;
        use haveyoursay::db::schema::outbox as table;
        table::table.order(table::id).select(outbox::Message::as_select()).load(conn).unwrap()
    })
    .await
}

fn distinct_recipients(messages: &[crate::sink::Received]) -> Vec<String> {
    let mut to: Vec<String> = messages.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to
}

#[tokio::test]
async fn messages_wait_out_an_smtp_outage_and_each_arrives_exactly_once() {
    let sink = SmtpSink::start();
    let (port, url) = (sink.port(), sink.url());
    sink.stop();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    enqueue_resets(&app, 0, 6).await;
    // The relay is down for a while: every attempt fails and is put off, none is lost.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let waiting = rows(&app).await;
    assert_eq!(waiting.len(), 6);
    assert!(waiting.iter().all(|m| m.sent_at.is_none() && m.failed_at.is_none() && m.attempts >= 1), "{waiting:?}");
    let sink = SmtpSink::start_on(port);
    let arrived = sink.wait_for(6, Duration::from_secs(20)).await;
    // Time for any second copy to show itself.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let arrived_then = sink.messages();
    assert_eq!(arrived_then.len(), 6, "each message once: {:?}", distinct_recipients(&arrived));
    let expected: Vec<String> = (0..6).map(|n| format!("user{n}@example.org")).collect();
    assert_eq!(distinct_recipients(&arrived_then), expected);
    let m = &arrived_then[0];
    assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"), "{}", m.raw);
    assert!(m.text().contains("https://consult.example/reset/"), "{}", m.text());
    assert_eq!(m.header("Subject").as_deref(), Some("Reset your password for Have Your Say"));
    let sent = rows(&app).await;
    assert!(sent.iter().all(|m| m.sent_at.is_some() && m.recipient.is_none() && m.payload == "{}"), "{sent:?}");
}

#[tokio::test]
async fn a_refused_message_is_kept_without_its_address_in_the_error_and_an_admin_can_resend_it() {
    let sink = SmtpSink::start();
    sink.set_mode(Mode::Refuse);
    let url = sink.url();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    enqueue_resets(&app, 0, 1).await;
    let mut failed = None;
    for _ in 0..100 {
        failed = rows(&app).await.into_iter().find(|m| m.failed_at.is_some());
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = failed.expect("the refusal is recorded");
    let error = failed.last_error.clone().unwrap();
    assert!(error.contains("550"), "{error}");
    assert!(!error.contains("user0@example.org"), "the address stays out of the error: {error}");
    assert!(sink.messages().is_empty());
    // Refused for good: not tried again by itself.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rows(&app).await[0].attempts, 1);

    sink.set_mode(Mode::Accept);
    let id = failed.id;
    assert!(app.db(move |conn: &mut DbConnection| outbox::resend(conn, id, now()).unwrap()).await);
    let arrived = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(distinct_recipients(&arrived), ["user0@example.org"]);
}

#[tokio::test]
async fn one_event_enqueued_twice_is_one_message() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    enqueue_resets(&app, 0, 1).await;
    enqueue_resets(&app, 0, 1).await;
    assert_eq!(rows(&app).await.len(), 1);
    sink.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn development_without_a_relay_writes_each_message_to_the_folder() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("mail");
    let dir = path.display().to_string();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = String::new();
        s.email.folder = dir;
    })
    .await;
    enqueue_resets(&app, 0, 2).await;
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&path).map(|d| d.flatten().collect()).unwrap_or_default();
        if files.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 2, "one file per message");
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(text.contains("Subject: Reset your password"), "{text}");
}

#[tokio::test]
async fn two_instances_on_one_postgresql_send_each_message_once() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let Some(apps) = spawn_instances_with(2, |s| s.email.smtp_url = url).await else {
        return; // one instance by design on SQLite
    };
    // Enqueued through both, in turns, while both workers run.
    for round in 0..5 {
        enqueue_resets(&apps[round % 2], round * 10, 10).await;
    }
    let arrived = sink.wait_for(50, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = sink.messages();
    assert_eq!(all.len(), 50, "got {} of 50 (each once)", arrived.len());
    let mut to = distinct_recipients(&all);
    to.dedup();
    assert_eq!(to.len(), 50, "no message twice");
}

/// The binary serving `database` with `smtp_url`, as `serve` runs in production (the test settings, for short
/// leases); killed with SIGKILL on drop.
struct Served {
    child: std::process::Child,
    address: String,
    log: tempfile::NamedTempFile,
}

impl Served {
    async fn start(database: &str, smtp_url: &str) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
            .args(["serve", "--database-url", database, "--bind", &format!("127.0.0.1:{port}")])
            .env("APP_ENVIRONMENT", "test")
            .env("SMTP_URL", smtp_url)
            .env_remove("DATABASE_URL")
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("the binary starts");
        let served = Served { child, address: format!("http://127.0.0.1:{port}"), log };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/healthz", served.address)).await {
                if r.status() == 200 {
                    return served;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the binary did not start: {}", std::fs::read_to_string(served.log.path()).unwrap_or_default());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_worker_killed_mid_send_leaves_the_message_to_be_sent_once_after_its_lease() {
    let database = crate::helpers::ScratchDatabase::new();
    let sink = SmtpSink::start();
    sink.set_mode(Mode::Stall);
    let first = Served::start(&database.url, &sink.url()).await;
    let pool = haveyoursay::db::connect(&database.url, 2).unwrap();
    let enqueue = |pool: &haveyoursay::db::Pool, key: &str| {
        let mut conn = pool.get().unwrap();
        let message = outbox::NewMessage {
            consultation_id: None,
            kind: "password_reset",
            dedup_key: key,
            recipient: "ann@example.org",
            payload: serde_json::json!({"link": "https://consult.example/reset/1", "expires": "noon"}),
        };
        haveyoursay::db::write(&mut conn, |conn| outbox::enqueue(conn, &message, now())).unwrap();
    };
    enqueue(&pool, "crash:1");
    // The worker has sent the whole message and waits for the relay's answer: kill it there.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sink.stalled() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sink.stalled(), 1, "the send reached the end of DATA");
    drop(first);
    sink.set_mode(Mode::Accept);
    assert!(sink.messages().is_empty(), "the killed send was never acknowledged");

    // Another start (or another instance) takes it once the dead worker's lease has run out.
    let _second = Served::start(&database.url, &sink.url()).await;
    let arrived = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(arrived.len(), 1, "the message arrives after the lease runs out");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 1, "and only once");
    let mut conn = pool.get().unwrap();
    let row = {
        use diesel::prelude::*;
        use haveyoursay::db::schema::outbox as table;
        table::table.select(outbox::Message::as_select()).first(&mut conn).unwrap()
    };
    assert!(row.sent_at.is_some() && row.recipient.is_none(), "{row:?}");
    assert_eq!(row.attempts, 2, "one attempt killed, one sent");
}

#[tokio::test]
async fn production_refuses_to_serve_without_a_relay_or_a_public_address() {
    let database = crate::helpers::ScratchDatabase::new();
    let serve = |env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"));
        command
            .args(["serve", "--database-url", &database.url, "--bind", "127.0.0.1:0"])
            .env("APP_ENVIRONMENT", "production")
            .env_remove("SMTP_URL")
            .env_remove("BASE_URL");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = serve(&[]);
    assert!(!ok && err.contains("SMTP_URL"), "{err}");
    let (ok, err) = serve(&[("SMTP_URL", "smtp+starttls://user:secret@mail.example.org:587")]);
    assert!(!ok && err.contains("BASE_URL"), "{err}");
    assert!(!err.contains("secret"), "the relay's password is never printed: {err}");
    let (ok, err) = serve(&[("SMTP_URL", "http://mail.example.org"), ("BASE_URL", "https://consult.example")]);
    assert!(!ok && err.contains("smtp://, smtp+starttls:// or smtps://"), "{err}");
    let (ok, err) = serve(&[("SMTP_URL", "smtp://127.0.0.1:2525"), ("BASE_URL", "consult.example")]);
    assert!(!ok && err.contains("https://"), "{err}");
}

/// What the canary test puts where it must never be logged: an address (the officer's is a variant of it) and
/// an answer's text.
const CANARY: &str = "canary.7f3a9";
const CANARY_ANSWER: &str = "canary-answer-5d1e2";

#[tokio::test]
async fn no_address_token_or_answer_reaches_the_logs() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    let slug = "canary";
    app.create_consultation(
        slug,
        "open",
        serde_json::json!({"sections": [{"key": "s", "title": "Questions", "questions": [
            {"key": "views", "kind": "long_text", "prompt": "Your views", "required": true}]}]}),
    )
    .await;
    let resident = format!("{CANARY}@example.org");
    let officer = format!("{CANARY}+officer@example.org");
    let wait = Duration::from_secs(15);

    // A response through the API with a receipt; a request to hear of the results, confirmed; a password reset.
    let body = serde_json::json!({"answers": {"views": CANARY_ANSWER}, "email": resident});
    assert_eq!(app.post_response(slug, "canary-1", &body).await.status(), 201);
    let browser = app.browser();
    let page = format!("/consultations/{slug}");
    let asked = browser.submit(&page, &format!("{page}/notify"), &[("email", &resident)]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    app.add_user(&officer, "officer", Some("Test Council")).await;
    let csrf = browser.get("/officer/forgot-password").await.csrf();
    let reset = browser.post_form("/officer/forgot-password", &[("_csrf", &csrf), ("email", &officer)]).await;
    assert!(reset.status < 400, "{}", reset.body);

    let mut arrived = Vec::new();
    let deadline = std::time::Instant::now() + wait;
    while arrived.len() < 3 && std::time::Instant::now() < deadline {
        arrived = sink.messages().into_iter().filter(|m| m.to.iter().any(|t| t.contains(CANARY))).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(arrived.len(), 3, "a receipt, a confirmation and a reset link");
    assert!(arrived.iter().any(|m| m.text().contains(CANARY_ANSWER)), "the receipt copies the answer");
    // Every token the messages carry: the links' last segments.
    let tokens: Vec<String> = arrived
        .iter()
        .flat_map(|m| {
            m.text()
                .split(|c: char| !c.is_ascii_hexdigit())
                .filter(|w| w.len() == 64)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(tokens.len() >= 2, "the confirmation and the reset carry tokens");
    let notify = arrived.iter().find_map(|m| m.link(&format!("{}/consultations/{slug}/notify/", app.address))).unwrap();
    let path = notify.strip_prefix(&app.address).unwrap();
    assert_eq!(browser.submit(path, path, &[]).await.status, 303, "confirmed");

    // Everything every app of this test process logged, at debug level (this test's among it).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(crate::helpers::suite_log()).expect("the suite's log");
    assert!(log.contains("email sent"), "the log holds this test's sending");
    assert!(!log.contains(CANARY), "an address reached the logs");
    assert!(!log.contains(CANARY_ANSWER), "an answer reached the logs");
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token reached the logs");
    }
}
