//! The running totals always equal a full recount of the stored answers: after the demo load, and after any
//! number of random valid responses sent at once.

use crate::api::{every_kind, questionnaire, random_body};
use crate::helpers::{spawn_app, TestApp, CLOSED, IRMP};
use haveyoursay::domain::questionnaire::Questionnaire;
use haveyoursay::models::response::recount;
use haveyoursay::models::{consultation, totals, version};
use haveyoursay::results::report;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A report as JSON, the way the API writes it.
fn as_json(r: &report::Report) -> Value {
    serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap()
}

/// The report from a full recount and the report from the running totals, both built over the consultation's
/// current questionnaire.
async fn recounted_and_running(app: &TestApp, slug: &str) -> (Value, Value) {
    let slug = slug.to_string();
    app.db(move |conn| {
        let c = consultation::find_by_slug(conn, &slug).unwrap().expect("the consultation exists");
        let published = version::published_questionnaires(conn, c.id).unwrap();
        let published: Vec<(i64, &Questionnaire)> = published.iter().map(|(id, _, q)| (*id, q)).collect();
        let recounted = report::build(&slug, &published, &recount(conn, c.id).unwrap());
        let running = report::build(&slug, &published, &totals::read(conn, c.id).unwrap());
        (as_json(&recounted), as_json(&running))
    })
    .await
}

#[tokio::test]
async fn after_the_demo_load_the_totals_equal_a_recount() {
    let app = spawn_app().await;
    for slug in [IRMP, CLOSED] {
        let (recounted, running) = recounted_and_running(&app, slug).await;
        assert_eq!(running, recounted, "{slug}");
        assert_eq!(recounted["responses"], app.stored_responses(slug).await, "{slug}");
    }
    let (recounted, _) = recounted_and_running(&app, IRMP).await;
    let (status, served) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(status, 200);
    assert_eq!(served, recounted);
}

#[test]
fn after_random_responses_sent_at_once_the_totals_equal_a_recount() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(spawn_app());
    let shapes: [Value; 2] = [every_kind(), serde_json::to_value(runtime.block_on(questionnaire(&app, IRMP))).unwrap()];
    let made = AtomicUsize::new(0);
    let config = ProptestConfig { cases: 8, max_shrink_iters: 32, ..ProptestConfig::default() };
    proptest!(config, |(seed in any::<u64>(), n in 1..60usize, shape in 0..2usize)| {
        let slug = format!("totals-{}", made.fetch_add(1, Ordering::Relaxed));
        let (stored, served, recounted, running) = runtime.block_on(async {
            app.create_consultation(&slug, "open", shapes[shape].clone()).await;
            let q: Questionnaire = serde_json::from_value(shapes[shape].clone()).unwrap();
            let bodies: Vec<Value> = (0..n as u64).map(|i| random_body(&q, seed.wrapping_add(i))).collect();
            for (c, chunk) in bodies.chunks(20).enumerate() {
                let replies = futures_util::future::join_all(chunk.iter().enumerate().map(|(i, body)| {
                    let key = format!("{c}-{i}");
                    let app = &app;
                    let slug = &slug;
                    async move { app.post_response(slug, &key, body).await.status().as_u16() }
                }))
                .await;
                assert!(replies.iter().all(|s| *s == 201), "{replies:?}");
            }
            let (_, served) = app.get_json(&format!("/api/v1/consultations/{slug}/results")).await;
            let (recounted, running) = recounted_and_running(&app, &slug).await;
            (app.stored_responses(&slug).await, served, recounted, running)
        });
        prop_assert_eq!(stored, n as i64);
        prop_assert_eq!(&recounted["responses"], &Value::from(n));
        prop_assert_eq!(&running, &recounted);
        prop_assert_eq!(&served, &recounted);
    });
}
