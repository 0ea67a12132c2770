//! Several app instances on one PostgreSQL database, as a deployment behind a load balancer runs them: they
//! start at the same moment (migrations and the demo load take turns under an advisory lock), a response sent
//! to one is in the other's results and live streams at once, an officer's session made on one works on the other and ends on
//! both, and the same idempotency keys sent to both at once make one response each, with totals that equal a
//! recount. On SQLite (one instance by design) these tests have nothing to check and say so.

use crate::helpers::{spawn_instances, IRMP};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_started_together_migrate_and_load_the_demo_once() {
    let Some(apps) = spawn_instances(3).await else { return println!("multi-instance: PostgreSQL only") };
    for app in &apps {
        assert_eq!(app.get_json("/healthz").await.0, 200);
        assert_eq!(app.stored_responses(IRMP).await, 420, "the demo is loaded once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_response_sent_to_one_instance_is_in_the_other_instances_results_within_a_second() {
    let Some(apps) = spawn_instances(2).await else { return println!("multi-instance: PostgreSQL only") };
    let (a, b) = (&apps[0], &apps[1]);
    let q = crate::api::questionnaire(a, IRMP).await;
    let before = b.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await.1["responses"].as_i64().unwrap();
    assert_eq!(a.post_response(IRMP, "on-a", &crate::api::random_body(&q, 1)).await.status().as_u16(), 201);
    let sent = Instant::now();
    loop {
        let (_, results) = b.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
        if results["responses"].as_i64() == Some(before + 1) {
            break;
        }
        assert!(sent.elapsed() < Duration::from_secs(1), "not seen on the other instance within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_made_on_one_instance_works_on_the_other_and_ends_on_both() {
    let Some(apps) = spawn_instances(2).await else { return println!("multi-instance: PostgreSQL only") };
    let (a, b) = (&apps[0], &apps[1]);
    let browser = a.signed_in("sam@northshire.example", "officer", Some("Northshire Fire and Rescue Service")).await;
    let session = browser.cookie("hys_session").expect("a session cookie");
    // The same cookie, sent to the other instance.
    let elsewhere = b.browser();
    elsewhere.set_cookie("hys_session", &session);
    let home = elsewhere.get("/officer").await;
    assert_eq!(home.status, 200, "the session is valid on the other instance");
    // Signing out on the other instance ends it on the first.
    let csrf = home.csrf();
    assert_eq!(elsewhere.post_form("/officer/sign-out", &[("_csrf", &csrf)]).await.status, 303);
    assert_eq!(browser.get("/officer").await.status, 303, "signed out on both");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_keys_sent_to_both_instances_at_once_make_one_response_each() {
    let Some(apps) = spawn_instances(2).await else { return println!("multi-instance: PostgreSQL only") };
    let q = crate::api::questionnaire(&apps[0], IRMP).await;
    let before = apps[0].stored_responses(IRMP).await;
    let mut requests = Vec::new();
    for i in 0..150u64 {
        let body = crate::api::random_body(&q, i);
        for app in &apps {
            for _ in 0..2 {
                requests.push((app, format!("shared-{i}"), body.clone()));
            }
        }
    }
    let statuses = futures_util::future::join_all(
        requests
            .iter()
            .map(|(app, key, body)| async move { app.post_response(IRMP, key, body).await.status().as_u16() }),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 201 || *s == 200), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 150, "one created per key");
    assert_eq!(apps[1].stored_responses(IRMP).await, before + 150);
    // The writers of both instances kept the totals equal to a recount, and never deadlocked (every request
    // was answered).
    let id = apps[0].consultation_id(IRMP).await;
    let (running, recounted) = apps[0]
        .db(move |conn| {
            (
                haveyoursay::models::totals::read(conn, id, &haveyoursay::models::totals::Parts::all()).unwrap(),
                haveyoursay::models::response::recount(conn, id, chrono_tz::Europe::London).unwrap(),
            )
        })
        .await;
    assert_eq!(running, recounted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_response_sent_to_one_instance_reaches_the_other_instances_live_streams_within_a_second() {
    let Some(apps) = spawn_instances(2).await else { return println!("multi-instance: PostgreSQL only") };
    let (a, b) = (&apps[0], &apps[1]);
    let q = crate::api::questionnaire(a, IRMP).await;
    // Streams on the second instance, fed by its notifier from the first instance's NOTIFY.
    let mut api = b.client.get(b.url(&format!("/api/v1/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    let mut page = b.client.get(b.url(&format!("/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    let (mut api_buffer, mut page_buffer) = (String::new(), String::new());
    let (_, first) = crate::dashboard::next_event(&mut api, &mut api_buffer, Duration::from_secs(5)).await;
    let before = serde_json::from_str::<serde_json::Value>(&first).unwrap()["responses"].as_i64().unwrap();
    crate::dashboard::next_event(&mut page, &mut page_buffer, Duration::from_secs(5)).await;
    let sent = Instant::now();
    assert_eq!(a.post_response(IRMP, "live-on-a", &crate::api::random_body(&q, 7)).await.status().as_u16(), 201);
    let (_, data) = crate::dashboard::next_event(&mut api, &mut api_buffer, Duration::from_secs(1)).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&data).unwrap()["responses"], before + 1);
    let (_, html) = crate::dashboard::next_event(&mut page, &mut page_buffer, Duration::from_secs(1)).await;
    assert!(html.contains(&format!("{} responses<", before + 1)));
    assert!(sent.elapsed() < Duration::from_secs(1), "{:?}", sent.elapsed());
}
