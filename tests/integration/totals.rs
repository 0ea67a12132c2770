//! The running totals always equal a full recount of the stored answers: after the demo load, and after any
//! number of random valid responses sent at once.

use crate::api::{every_kind, questionnaire, random_body};
use crate::helpers::{spawn_app, TestApp, CLOSED, IRMP};
use haveyoursay::auth::Viewer;
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
/// published versions, and the recount's as the public may read it (small counts of profile questions
/// suppressed). Every running total — cross-tabs, number answers and days included — is first held equal to
/// the recount's.
async fn recounted_and_running(app: &TestApp, slug: &str) -> (Value, Value, Value) {
    let slug = slug.to_string();
    app.db(move |conn| {
        let c = consultation::find_by_slug(conn, &slug).unwrap().expect("the consultation exists");
        let published = version::published_questionnaires(conn, c.id).unwrap();
        let published: Vec<(i64, &Questionnaire)> = published.iter().map(|(id, _, q)| (*id, q)).collect();
        let recounted = recount(conn, c.id, chrono_tz::Europe::London).unwrap();
        let running = totals::read(conn, c.id, &totals::Parts::all()).unwrap();
        assert_eq!(running, recounted, "{slug}: the running totals equal a recount");
        let from_recount = report::build(&slug, &published, &recounted);
        (
            as_json(&from_recount),
            as_json(&report::build(&slug, &published, &running)),
            as_json(&from_recount.for_viewer(Viewer::Public)),
        )
    })
    .await
}

#[tokio::test]
async fn after_the_demo_load_the_totals_equal_a_recount() {
    let app = spawn_app().await;
    for slug in [IRMP, CLOSED] {
        let (recounted, running, _) = recounted_and_running(&app, slug).await;
        assert_eq!(running, recounted, "{slug}");
        assert_eq!(recounted["responses"], app.stored_responses(slug).await, "{slug}");
    }
    let (_, _, public) = recounted_and_running(&app, IRMP).await;
    let (status, served) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(status, 200);
    assert_eq!(served, public);
}

/// A questionnaire with a grid (rows answered on one scale), an optional grid and a profile question.
fn with_grid() -> Value {
    serde_json::json!({"sections": [{"key": "rate", "title": "Rate us", "questions": [
        {"key": "area", "kind": "single_choice", "prompt": "Where do you live?", "required": true, "purpose": "profile",
         "options": [{"key": "north", "label": "North"}, {"key": "south", "label": "South"}]},
        {"key": "service", "kind": "grid", "prompt": "How good is each service?", "required": true,
         "rows": [{"key": "fire", "label": "Fire"}, {"key": "police", "label": "Police"}],
         "options": [{"key": "good", "label": "Good"}, {"key": "fair", "label": "Fair"}, {"key": "poor", "label": "Poor"}]},
        {"key": "extra", "kind": "grid", "prompt": "And these?", "required": false,
         "rows": [{"key": "roads", "label": "Roads"}, {"key": "parks", "label": "Parks"}],
         "options": [{"key": "good", "label": "Good"}, {"key": "poor", "label": "Poor"}]}
    ]}]})
}

/// Sends every (slug, key, body) at once; each must be answered 201 (new) or 200 (a replay of the same).
async fn send_all(app: &TestApp, requests: &[(String, String, Value)]) {
    let replies = futures_util::future::join_all(
        requests
            .iter()
            .map(|(slug, key, body)| async move { app.post_response(slug, key, body).await.status().as_u16() }),
    )
    .await;
    assert!(replies.iter().all(|s| *s == 201 || *s == 200), "{replies:?}");
}

#[test]
fn after_random_responses_sent_at_once_the_totals_equal_a_recount() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(spawn_app());
    let shapes: [Value; 3] =
        [every_kind(), serde_json::to_value(runtime.block_on(questionnaire(&app, IRMP))).unwrap(), with_grid()];
    let made = AtomicUsize::new(0);
    let config = ProptestConfig { cases: 8, max_shrink_iters: 32, ..ProptestConfig::default() };
    // Several consultations take responses in the same batches, under the same keys (keys are unique per
    // consultation only), and some requests are sent twice at once, so that writers race for a key.
    proptest!(config, |(seed in any::<u64>(), n in 1..40usize, picks in proptest::collection::vec(0..3usize, 2..4))| {
        let consultations: Vec<(String, Questionnaire)> = picks
            .iter()
            .map(|shape| {
                let slug = format!("totals-{}", made.fetch_add(1, Ordering::Relaxed));
                (slug, serde_json::from_value(shapes[*shape].clone()).unwrap())
            })
            .collect();
        let results = runtime.block_on(async {
            for ((slug, _), shape) in consultations.iter().zip(&picks) {
                app.create_consultation(slug, "open", shapes[*shape].clone()).await;
            }
            let mut requests = Vec::new();
            for i in 0..n {
                for (c, (slug, q)) in consultations.iter().enumerate() {
                    let body = random_body(q, seed.wrapping_add((i * 7 + c) as u64));
                    requests.push((slug.clone(), format!("key-{i}"), body.clone()));
                    if i % 5 == 0 {
                        requests.push((slug.clone(), format!("key-{i}"), body));
                    }
                }
            }
            for chunk in requests.chunks(60) {
                send_all(&app, chunk).await;
            }
            let mut results = Vec::new();
            for (slug, _) in &consultations {
                let (_, served) = app.get_json(&format!("/api/v1/consultations/{slug}/results")).await;
                let (recounted, running, public) = recounted_and_running(&app, slug).await;
                results.push((app.stored_responses(slug).await, served, recounted, running, public));
            }
            results
        });
        for (stored, served, recounted, running, public) in results {
            prop_assert_eq!(stored, n as i64);
            prop_assert_eq!(&recounted["responses"], &Value::from(n));
            prop_assert_eq!(&running, &recounted);
            prop_assert_eq!(&served, &public);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn responses_sharing_keys_across_consultations_keep_their_own_answers() {
    let app = spawn_app().await;
    // Two open consultations with no question key in common.
    app.create_consultation("left", "open", every_kind()).await;
    app.create_consultation("right", "open", with_grid()).await;
    let shapes = [
        ("left", serde_json::from_value::<Questionnaire>(every_kind()).unwrap()),
        ("right", serde_json::from_value::<Questionnaire>(with_grid()).unwrap()),
    ];
    let mut requests = Vec::new();
    for i in 0..100u64 {
        for (slug, q) in &shapes {
            requests.push((slug.to_string(), format!("shared-{i}"), random_body(q, i)));
        }
    }
    send_all(&app, &requests).await;
    for (slug, q) in &shapes {
        assert_eq!(app.stored_responses(slug).await, 100, "{slug}");
        let id = app.consultation_id(slug).await;
        let q = q.clone();
        let stored = app
            .db(move |conn| {
                use diesel::prelude::*;
                use haveyoursay::db::schema::{answers, responses};
                let rows: Vec<(String, String, String)> = answers::table
                    .inner_join(responses::table.on(responses::id.eq(answers::response_id)))
                    .filter(responses::consultation_id.eq(id))
                    .select((responses::idempotency_key, answers::question_key, answers::value))
                    .load(conn)
                    .unwrap();
                (rows, q)
            })
            .await;
        let (rows, q) = stored;
        for i in 0..100u64 {
            let key = format!("api:shared-{i}");
            let mine: std::collections::BTreeMap<String, String> = rows
                .iter()
                .filter(|(k, _, _)| *k == key)
                .map(|(_, question, v)| (question.clone(), v.clone()))
                .collect();
            let sent = random_body(&q, i);
            let sent_keys: std::collections::BTreeSet<String> =
                sent["answers"].as_object().unwrap().keys().filter(|k| !k.ends_with(".other")).cloned().collect();
            assert_eq!(mine.keys().cloned().collect::<std::collections::BTreeSet<_>>(), sent_keys, "{slug} {key}");
        }
        // And the recount over them agrees with the running totals (it would fail on an answer to a question
        // its response's questionnaire does not have).
        let (recounted, running, _) = recounted_and_running(&app, slug).await;
        assert_eq!(running, recounted, "{slug}");
    }
}

#[test]
fn across_republished_versions_every_question_adds_up_to_the_responses() {
    use haveyoursay::domain::questionnaire::{Choice, Question};
    use haveyoursay::models::audit::Actor;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(spawn_app());
    let made = AtomicUsize::new(0);
    let config = ProptestConfig { cases: 6, max_shrink_iters: 16, ..ProptestConfig::default() };
    // Between batches of responses a new version is published: a question added, a question removed, an
    // option added or an option removed — each keeping the meaning of the keys earlier versions gave out.
    proptest!(config, |(seed in any::<u64>(), edits in proptest::collection::vec(0..4u8, 1..4), n in 1..25usize)| {
        let slug = format!("versions-{}", made.fetch_add(1, Ordering::Relaxed));
        let report = runtime.block_on(async {
            app.create_consultation(&slug, "open", every_kind()).await;
            let id = app.consultation_id(&slug).await;
            for (round, edit) in std::iter::once(None).chain(edits.iter().map(Some)).enumerate() {
                if let Some(edit) = edit {
                    let (edit, round) = (*edit, round);
                    app.db(move |conn| {
                        let c = haveyoursay::models::consultation::find(conn, id).unwrap();
                        let actor = Actor::command_line();
                        haveyoursay::workspace::edit(conn, &actor, &c, 0, "test", |content| {
                            let q = &mut content.questionnaire;
                            match edit {
                                0 => q.sections[1].questions.push(
                                    serde_json::from_value::<Question>(serde_json::json!({
                                        "key": format!("added_{round}"), "kind": "single_choice", "prompt": "New?",
                                        "required": false, "options": [{"key": "y", "label": "Yes"}, {"key": "n", "label": "No"}]
                                    })).unwrap(),
                                ),
                                1 => {
                                    let last = q.sections[1].questions.len() - 1;
                                    if q.sections[1].questions.len() > 1 {
                                        q.sections[1].questions.remove(last);
                                    }
                                }
                                2 => q.sections[0].questions[0].options.push(Choice {
                                    key: format!("maybe_{round}"),
                                    label: format!("Maybe {round}").into(),
                                    other: false,
                                    exclusive: false,
                                }),
                                // An option no route names ('why_not' is shown on 'disagree').
                                _ => {
                                    let options = &mut q.sections[0].questions[0].options;
                                    if let Some(at) = options.iter().position(|o| !["agree", "disagree"].contains(&o.key.as_str())) {
                                        options.remove(at);
                                    }
                                }
                            }
                            Ok(())
                        })
                        .unwrap();
                        haveyoursay::workspace::publish(conn, &actor, &c).unwrap();
                    })
                    .await;
                }
                let live = questionnaire(&app, &slug).await;
                let requests: Vec<(String, String, Value)> = (0..n)
                    .map(|i| (slug.clone(), format!("{round}-{i}"), random_body(&live, seed.wrapping_add((round * 100 + i) as u64))))
                    .collect();
                send_all(&app, &requests).await;
            }
            let (_, served) = app.get_json(&format!("/api/v1/consultations/{slug}/results")).await;
            let (recounted, running, _) = recounted_and_running(&app, &slug).await;
            assert_eq!(running, recounted);
            assert_eq!(served, recounted);
            served
        });
        let responses = report["responses"].as_i64().unwrap();
        prop_assert_eq!(responses, (n * (edits.len() + 1)) as i64);
        for q in report["questions"].as_array().unwrap() {
            let sum = |v: &Value| v["base"].as_i64().unwrap() + v["not_shown"].as_i64().unwrap() + v["skipped"].as_i64().unwrap();
            prop_assert_eq!(sum(q), responses, "{}", q["key"]);
            for row in q["rows"].as_array().into_iter().flatten() {
                prop_assert_eq!(sum(row), responses, "{}.{}", q["key"], row["key"]);
            }
        }
    });
}
