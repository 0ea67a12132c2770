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
