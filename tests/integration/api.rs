//! The JSON API as DESIGN.md's "Interfaces that other tools rely on" promises it: the list, the questionnaire,
//! idempotent submission, the results with their bases and Wilson intervals, the live stream and the OpenAPI
//! document. Also the small request helpers that `bad_input` and `totals` share.

use crate::helpers::{spawn_app, TestApp, CLOSED, IRMP};
use haveyoursay::domain::answers::{canonical_json, Answers};
use haveyoursay::domain::questionnaire::Questionnaire;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::time::Duration;

/// The published questionnaire of `slug`, read through the API as an integration would.
pub(crate) async fn questionnaire(app: &TestApp, slug: &str) -> Questionnaire {
    let (status, body) = app.get_json(&format!("/api/v1/consultations/{slug}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("the API's questionnaire reads as a Questionnaire")
}

/// `{"answers": …}` for a set of answers, in the API's shape.
pub(crate) fn body_of(answers: &Answers) -> Value {
    json!({ "answers": serde_json::from_str::<Value>(&canonical_json(answers)).unwrap() })
}

/// A random valid response to `q`, the same for the same seed.
pub(crate) fn random_body(q: &Questionnaire, seed: u64) -> Value {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    body_of(&haveyoursay::demo::random_answers(q, &mut rng, "", &[]))
}

/// POSTs raw bytes as a response with the Idempotency-Key and Content-Type given; `None` leaves the header out.
pub(crate) async fn post_raw(
    app: &TestApp,
    slug: &str,
    key: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(&format!("/api/v1/consultations/{slug}/responses"))).body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("POST answers")
}

/// Asserts an RFC 9457 problem with `status` and returns its body.
pub(crate) async fn expect_problem(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "expected a {status} problem, got {got}: {text}");
    assert!(content_type.starts_with("application/problem+json"), "content type {content_type:?} for {text}");
    let body: Value = serde_json::from_str(&text).expect("a problem is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(body["type"].is_string(), "{body}");
    body
}

/// The question keys a 422 problem names.
pub(crate) fn problem_questions(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("the problem lists its errors: {problem}"))
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "each error says what is wrong: {e}");
            e["question"].as_str().expect("each error names its question").to_string()
        })
        .collect()
}

/// A small questionnaire with every kind of question, "Other", "None of these", and routing by question and by
/// section.
pub(crate) fn every_kind() -> Value {
    json!({
        "sections": [
            {"key": "views", "title": "Your views", "questions": [
                {"key": "support", "kind": "scale", "prompt": "Do you agree?", "required": true, "options": [
                    {"key": "agree", "label": "Agree"}, {"key": "neither", "label": "Neither"},
                    {"key": "disagree", "label": "Disagree"}]},
                {"key": "why_not", "kind": "long_text", "prompt": "Why not?", "required": false, "max_length": 50},
                {"key": "services", "kind": "multiple_choice", "prompt": "Which services?", "required": false,
                 "max_selections": 2, "options": [
                    {"key": "police", "label": "Police"}, {"key": "ambulance", "label": "Ambulance"},
                    {"key": "coast", "label": "Coastguard"}, {"key": "other", "label": "Other", "other": true},
                    {"key": "none", "label": "None of these", "exclusive": true}]}
            ]},
            {"key": "details", "title": "Details", "questions": [
                {"key": "rank", "kind": "ranking", "prompt": "Rank these", "required": true, "options": [
                    {"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}]},
                {"key": "people", "kind": "number", "prompt": "How many?", "required": false, "min": 1, "max": 20},
                {"key": "visit", "kind": "date", "prompt": "When?", "required": false},
                {"key": "name", "kind": "short_text", "prompt": "Organisation", "required": false},
                {"key": "area", "kind": "single_choice", "prompt": "Area", "required": false, "options": [
                    {"key": "north", "label": "North"}, {"key": "south", "label": "South"}]}
            ]}
        ],
        "routing": [
            {"target": "question", "key": "why_not", "action": "show",
             "when": {"question": "support", "any_of": ["disagree"]}},
            {"target": "section", "key": "details", "action": "skip",
             "when": {"question": "services", "any_of": ["none"]}}
        ]
    })
}

/// Three questions whose counts a test can work out by hand: `pick` (optional single choice), `why` (shown
/// only to those who pick b) and `extras` (optional multiple choice).
fn small() -> Value {
    json!({
        "sections": [{"key": "only", "title": "Questions", "questions": [
            {"key": "pick", "kind": "single_choice", "prompt": "Pick one", "required": false, "options": [
                {"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}]},
            {"key": "why", "kind": "short_text", "prompt": "Why B?", "required": false},
            {"key": "extras", "kind": "multiple_choice", "prompt": "Any extras?", "required": false, "options": [
                {"key": "x", "label": "X"}, {"key": "y", "label": "Y"}, {"key": "z", "label": "Z"}]}
        ]}],
        "routing": [{"target": "question", "key": "why", "action": "show",
                     "when": {"question": "pick", "any_of": ["b"]}}]
    })
}

async fn set_consultation(
    app: &TestApp,
    slug: &str,
    change: impl FnOnce(i64, &mut haveyoursay::db::DbConnection) + Send + 'static,
) {
    let id = app.consultation_id(slug).await;
    app.db(move |conn| change(id, conn)).await;
}

/// A consultation of `small()` scheduled to open in three days.
async fn create_forthcoming(app: &TestApp, slug: &str) {
    use diesel::prelude::*;
    use haveyoursay::db::schema::consultations::dsl;
    app.create_consultation(slug, "scheduled", small()).await;
    set_consultation(app, slug, |id, conn| {
        let later = haveyoursay::models::now() + chrono::Duration::days(3);
        diesel::update(dsl::consultations.find(id)).set(dsl::opens_at.eq(Some(later))).execute(conn).unwrap();
    })
    .await;
}

fn is_reference(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() == 3
        && parts[0] == "HYS"
        && parts[1..].iter().all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
}

async fn reference_of(response: reqwest::Response, status: u16) -> String {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let reference = body["reference"].as_str().expect("a reference").to_string();
    assert!(is_reference(&reference), "{reference}");
    reference
}

#[tokio::test]
async fn the_list_shows_every_consultation_but_drafts_with_status_and_rfc3339_times() {
    let app = spawn_app().await;
    app.create_consultation("a-draft", "draft", small()).await;
    app.create_consultation("shut", "closed", small()).await;
    create_forthcoming(&app, "soon").await;

    let (status, list) = app.get_json("/api/v1/consultations").await;
    assert_eq!(status, 200);
    let list = list["consultations"].as_array().expect("a list of consultations").clone();
    let status_of = |slug: &str| -> Option<String> {
        list.iter().find(|c| c["slug"] == slug).map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status_of(IRMP).as_deref(), Some("open"));
    assert_eq!(status_of(CLOSED).as_deref(), Some("closed"));
    assert_eq!(status_of("shut").as_deref(), Some("closed"));
    assert_eq!(status_of("soon").as_deref(), Some("forthcoming"));
    assert_eq!(status_of("a-draft"), None, "a draft is never listed");
    assert_eq!(list.len(), 4, "{list:?}");

    let now = chrono::Utc::now();
    for c in &list {
        assert!(c["title"].as_str().is_some_and(|t| !t.is_empty()), "{c}");
        for field in ["opens_at", "closes_at"] {
            let text = c[field].as_str().unwrap_or_else(|| panic!("{field} is a string: {c}"));
            let at = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field} {text}: {e}"));
            assert_eq!(at.offset().local_minus_utc(), 0, "times are UTC: {text}");
        }
    }
    let irmp = list.iter().find(|c| c["slug"] == IRMP).unwrap();
    let at = |f: &str| chrono::DateTime::parse_from_rfc3339(irmp[f].as_str().unwrap()).unwrap();
    assert!(at("opens_at") < now && now < at("closes_at"), "{irmp}");
    assert_eq!(list.iter().find(|c| c["slug"] == "soon").unwrap()["title"], "Test consultation soon");

    // A draft's questionnaire, results and stream are as absent as an unknown slug's, and it takes no responses.
    expect_problem(app.post_response("a-draft", "k", &json!({"answers": {"pick": "a"}})).await, 404).await;
    assert_eq!(app.stored_responses("a-draft").await, 0);
    for path in ["", "/results", "/results/stream"] {
        for slug in ["a-draft", "no-such-consultation"] {
            let r = app.client.get(app.url(&format!("/api/v1/consultations/{slug}{path}"))).send().await.unwrap();
            expect_problem(r, 404).await;
        }
    }
}

#[tokio::test]
async fn the_questionnaire_is_published_as_the_demo_defines_it() {
    let app = spawn_app().await;
    let (status, body) = app.get_json(&format!("/api/v1/consultations/{IRMP}")).await;
    assert_eq!(status, 200);
    assert!(body["version"].as_i64().is_some_and(|v| v > 0), "a version: {}", body["version"]);
    assert_eq!(body["slug"], IRMP);

    let kinds = ["single_choice", "multiple_choice", "scale", "short_text", "long_text", "number", "date", "ranking"];
    let sections = body["sections"].as_array().expect("sections");
    assert!(!sections.is_empty());
    for section in sections {
        assert!(section["key"].is_string() && section["title"].is_string(), "{section}");
        for q in section["questions"].as_array().expect("questions") {
            assert!(q["key"].as_str().is_some_and(|k| !k.is_empty()), "{q}");
            assert!(kinds.contains(&q["kind"].as_str().unwrap_or("")), "{q}");
            assert!(q["prompt"].as_str().is_some_and(|p| !p.is_empty()), "{q}");
            assert!(q["required"].is_boolean(), "{q}");
            for o in q["options"].as_array().expect("options, empty where the kind has none") {
                assert!(o["key"].as_str().is_some_and(|k| !k.is_empty()), "{o}");
                assert!(o["label"].as_str().is_some_and(|l| !l.is_empty()), "{o}");
            }
        }
    }
    let headline = sections[0]["questions"][0].clone();
    assert_eq!(headline["key"], "support_closer_working");
    assert_eq!(headline["kind"], "scale");
    assert_eq!(headline["required"], true);
    assert_eq!(headline["options"][0], json!({"key": "strongly_agree", "label": "Strongly agree"}));
    let routing = body["routing"].as_array().expect("routing");
    assert!(routing.iter().any(|r| r["key"] == "why_disagree"
        && r["when"] == json!({"question": "support_closer_working", "any_of": ["disagree", "strongly_disagree"]})));

    // Everything the demo file defines comes back, in order: nothing is lost on the way through the database.
    let defined: Questionnaire = serde_json::from_str(include_str!("../../src/demo/irmp.json")).unwrap();
    let served: Questionnaire = serde_json::from_value(body).unwrap();
    assert_eq!(served, defined);
}

#[tokio::test]
async fn a_response_is_stored_once_per_idempotency_key() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    let (responses, answers) = (app.stored_responses(IRMP).await, app.stored_answers(IRMP).await);
    let body = random_body(&q, 1);
    let answered = body["answers"].as_object().unwrap().keys().filter(|k| !k.ends_with(".other")).count() as i64;

    let first = reference_of(app.post_response(IRMP, "key-1", &body).await, 201).await;
    assert_eq!(app.stored_responses(IRMP).await, responses + 1);
    assert_eq!(app.stored_answers(IRMP).await, answers + answered);

    // A retry is answered as the first was, and stores nothing.
    let again = reference_of(app.post_response(IRMP, "key-1", &body).await, 200).await;
    assert_eq!(again, first);

    // The same key with other answers is refused, and stores nothing.
    let other = random_body(&q, 2);
    assert_ne!(other, body);
    expect_problem(app.post_response(IRMP, "key-1", &other).await, 422).await;
    assert_eq!(reference_of(app.post_response(IRMP, "key-1", &body).await, 200).await, first);
    assert_eq!(app.stored_responses(IRMP).await, responses + 1);
    assert_eq!(app.stored_answers(IRMP).await, answers + answered);

    // Another key is another response.
    let second = reference_of(app.post_response(IRMP, "key-2", &body).await, 201).await;
    assert_ne!(second, first);
    assert_eq!(app.stored_responses(IRMP).await, responses + 2);
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(results["responses"], responses + 2);
}

#[tokio::test]
async fn requests_without_a_key_or_to_an_unknown_consultation_are_refused() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    let responses = app.stored_responses(IRMP).await;
    let body = serde_json::to_vec(&random_body(&q, 3)).unwrap();

    let problem = expect_problem(post_raw(&app, IRMP, None, Some("application/json"), body.clone()).await, 400).await;
    assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key"), "{problem}");
    for key in ["", "   ", &"k".repeat(201)] {
        expect_problem(post_raw(&app, IRMP, Some(key), Some("application/json"), body.clone()).await, 400).await;
    }
    let r = post_raw(&app, "no-such-consultation", Some("k"), Some("application/json"), body.clone()).await;
    expect_problem(r, 404).await;
    assert_eq!(app.stored_responses(IRMP).await, responses);

    // A key that is not printable ASCII is refused too.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{IRMP}/responses")))
        .header("Idempotency-Key", reqwest::header::HeaderValue::from_bytes(b"caf\xE9").unwrap())
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_problem(r, 400).await;
    assert_eq!(app.stored_responses(IRMP).await, responses);

    // The longest key allowed is fine, and so is JSON that names its character set.
    let r = post_raw(&app, IRMP, Some(&"k".repeat(200)), Some("application/json; charset=utf-8"), body).await;
    reference_of(r, 201).await;
}

#[tokio::test]
async fn a_consultation_that_is_not_open_takes_no_responses() {
    use diesel::prelude::*;
    use haveyoursay::db::schema::consultations::dsl;
    let app = spawn_app().await;

    let closed_q = questionnaire(&app, CLOSED).await;
    let before = app.stored_responses(CLOSED).await;
    let problem = expect_problem(app.post_response(CLOSED, "late", &random_body(&closed_q, 4)).await, 409).await;
    assert!(problem["detail"].is_string());
    // Invalid answers to a closed consultation: it is still the closing that matters.
    expect_problem(app.post_response(CLOSED, "late-2", &json!({"answers": {}})).await, 409).await;
    assert_eq!(app.stored_responses(CLOSED).await, before);

    app.create_consultation("shut", "closed", small()).await;
    create_forthcoming(&app, "soon").await;
    let body = json!({"answers": {"pick": "a"}});
    for slug in ["shut", "soon"] {
        expect_problem(app.post_response(slug, "k", &body).await, 409).await;
        assert_eq!(app.stored_responses(slug).await, 0);
        assert_eq!(app.stored_answers(slug).await, 0);
    }

    // A response stored before closing keeps its reference when retried after; anything new is refused.
    app.create_consultation("closing", "open", small()).await;
    let reference = reference_of(app.post_response("closing", "early", &body).await, 201).await;
    set_consultation(&app, "closing", |id, conn| {
        let now = haveyoursay::models::now();
        diesel::update(dsl::consultations.find(id)).set(dsl::closes_at.eq(Some(now))).execute(conn).unwrap();
    })
    .await;
    assert_eq!(reference_of(app.post_response("closing", "early", &body).await, 200).await, reference);
    expect_problem(app.post_response("closing", "late", &body).await, 409).await;
    assert_eq!(app.stored_responses("closing").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_retries_store_one_response() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    let (before, answers_before) = (app.stored_responses(IRMP).await, app.stored_answers(IRMP).await);
    let body = random_body(&q, 5);
    let answered = body["answers"].as_object().unwrap().keys().filter(|k| !k.ends_with(".other")).count() as i64;
    let replies = futures_util::future::join_all((0..50).map(|_| async {
        let r = app.post_response(IRMP, "one-key", &body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, text)
    }))
    .await;
    for (status, text) in &replies {
        assert!(*status == 201 || *status == 200, "{status}: {text}");
    }
    assert_eq!(replies.iter().filter(|(s, _)| *s == 201).count(), 1, "{replies:?}");
    let references: std::collections::HashSet<String> = replies
        .iter()
        .map(|(_, text)| serde_json::from_str::<Value>(text).unwrap()["reference"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(references.len(), 1, "{references:?}");
    assert_eq!(app.stored_responses(IRMP).await, before + 1);
    assert_eq!(app.stored_answers(IRMP).await, answers_before + answered);
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(results["responses"], before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conflicting_response_sent_with_others_fails_alone() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    let before = app.stored_responses(IRMP).await;
    // One stored response whose key ten later requests reuse with other answers, sent at once with forty
    // new responses, so they share batches.
    let first = random_body(&q, 100);
    assert_eq!(app.post_response(IRMP, "taken", &first).await.status().as_u16(), 201);
    let requests: Vec<(u64, String, Value)> = (0..50u64)
        .map(|i| {
            let body = random_body(&q, 200 + i);
            match i % 5 {
                0 if body == first => (i, "taken".to_string(), random_body(&q, 999)),
                0 => (i, "taken".to_string(), body),
                _ => (i, format!("new-{i}"), body),
            }
        })
        .collect();
    let replies = futures_util::future::join_all(requests.iter().map(|(i, key, body)| {
        let app = &app;
        async move { (*i, app.post_response(IRMP, key, body).await.status().as_u16()) }
    }))
    .await;
    for (i, status) in replies {
        let expected = if i % 5 == 0 { 422 } else { 201 };
        assert_eq!(status, expected, "request {i}");
    }
    assert_eq!(app.stored_responses(IRMP).await, before + 41);
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(results["responses"], before + 41);
}

/// The Wilson score 95% interval for `k` of `n`, as percentages to one decimal place, worked out here apart from
/// the application's own.
fn wilson(k: f64, n: f64) -> [f64; 2] {
    let z: f64 = 1.959_963_985;
    let p = k / n;
    let denominator = 1.0 + z * z / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt();
    let round = |x: f64| (x * 1000.0).round() / 10.0;
    [round(((centre - spread) / denominator).max(0.0)), round(((centre + spread) / denominator).min(1.0))]
}

#[tokio::test]
async fn results_give_each_option_its_share_of_the_base_with_a_wilson_interval() {
    let app = spawn_app().await;
    app.create_consultation("small", "open", small()).await;
    // Before any response every base is 0, and no share of it is given.
    let (_, empty) = app.get_json("/api/v1/consultations/small/results").await;
    assert_eq!(empty["responses"], 0);
    for q in empty["questions"].as_array().unwrap() {
        assert_eq!((q["base"].clone(), q["skipped"].clone(), q["not_shown"].clone()), (json!(0), json!(0), json!(0)));
        for o in q["options"].as_array().unwrap() {
            assert_eq!(
                (o["count"].clone(), o["percent"].clone(), o["ci95"].clone()),
                (json!(0), Value::Null, Value::Null)
            );
        }
    }
    let responses = [
        json!({"pick": "a", "extras": ["x", "y"]}),
        json!({"pick": "a", "extras": ["x"]}),
        json!({"pick": "a"}),
        json!({"pick": "b", "why": "Because", "extras": ["x", "y", "z"]}),
        json!({"extras": ["y"]}),
    ];
    for (i, answers) in responses.iter().enumerate() {
        let r = app.post_response("small", &format!("r{i}"), &json!({ "answers": answers })).await;
        reference_of(r, 201).await;
    }

    let r = app.client.get(app.url("/api/v1/consultations/small/results")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let results: Value = r.json().await.unwrap();
    assert_eq!(results["responses"], 5);
    let question = |key: &str| -> Value {
        results["questions"].as_array().unwrap().iter().find(|q| q["key"] == key).cloned().expect(key)
    };
    let option = |q: &Value, key: &str| -> Value {
        q["options"].as_array().unwrap().iter().find(|o| o["key"] == key).cloned().expect(key)
    };
    let ci = |o: &Value| -> [f64; 2] {
        let pair = o["ci95"].as_array().expect("ci95 is [low, high]");
        assert_eq!(pair.len(), 2);
        [pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap()]
    };

    // 3 of the 4 who answered chose A; the one who skipped is in no base.
    let pick = question("pick");
    assert_eq!(
        (pick["base"].clone(), pick["skipped"].clone(), pick["not_shown"].clone()),
        (json!(4), json!(1), json!(0))
    );
    let a = option(&pick, "a");
    assert_eq!(a["count"], 3);
    assert_eq!(a["percent"], 75.0);
    assert_eq!(ci(&a), wilson(3.0, 4.0));
    assert_eq!(ci(&a), [30.1, 95.4]);
    let b = option(&pick, "b");
    assert_eq!((b["count"].clone(), b["percent"].clone()), (json!(1), json!(25.0)));
    assert_eq!(ci(&b), wilson(1.0, 4.0));
    let c = option(&pick, "c");
    assert_eq!((c["count"].clone(), c["percent"].clone()), (json!(0), json!(0.0)));
    assert_eq!(ci(&c), wilson(0.0, 4.0));
    assert_eq!(ci(&c)[0], 0.0);

    // Only the one who picked B was asked why: the other four were not shown it.
    let why = question("why");
    assert_eq!((why["base"].clone(), why["skipped"].clone(), why["not_shown"].clone()), (json!(1), json!(0), json!(4)));

    // Multiple choice: each option over the 4 respondents who answered, so the shares sum past 100%.
    let extras = question("extras");
    assert_eq!(
        (extras["base"].clone(), extras["skipped"].clone(), extras["not_shown"].clone()),
        (json!(4), json!(1), json!(0))
    );
    let mut total = 0.0;
    for (key, count) in [("x", 3), ("y", 3), ("z", 1)] {
        let o = option(&extras, key);
        assert_eq!(o["count"], count, "{o}");
        let expected = (1000.0 * count as f64 / 4.0).round() / 10.0;
        assert_eq!(o["percent"].as_f64(), Some(expected), "{o}");
        assert_eq!(ci(&o), wilson(count as f64, 4.0), "{o}");
        total += o["percent"].as_f64().unwrap();
    }
    assert!(total > 100.0, "{total}");

    for q in results["questions"].as_array().unwrap() {
        let sum: i64 = ["base", "skipped", "not_shown"].iter().map(|f| q[*f].as_i64().unwrap()).sum();
        assert_eq!(sum, 5, "every response is in exactly one of base, skipped and not shown: {q}");
    }
}

#[test]
fn the_test_wilson_interval_matches_published_figures() {
    // 312 of 322: 94.4% to 98.3% (as in the results module's own test, worked out apart from it).
    assert_eq!(wilson(312.0, 322.0), [94.4, 98.3]);
    assert_eq!(wilson(0.0, 10.0), [0.0, 27.8]);
    assert_eq!(wilson(10.0, 10.0), [72.2, 100.0]);
}

#[tokio::test]
async fn results_that_are_not_public_are_forbidden() {
    use diesel::prelude::*;
    use haveyoursay::db::schema::consultations::dsl;
    let app = spawn_app().await;
    for (slug, visibility) in [("officers-only", "officers"), ("cabinet-too", "cabinet")] {
        app.create_consultation(slug, "open", small()).await;
        set_consultation(&app, slug, move |id, conn| {
            diesel::update(dsl::consultations.find(id))
                .set(dsl::results_visibility.eq(visibility))
                .execute(conn)
                .unwrap();
        })
        .await;
        for path in ["results", "results/stream"] {
            let r = app.client.get(app.url(&format!("/api/v1/consultations/{slug}/{path}"))).send().await.unwrap();
            let problem = expect_problem(r, 403).await;
            assert!(!problem.to_string().contains("\"responses\""), "{problem}");
        }
        // The questionnaire itself stays public, and responses are still taken.
        assert_eq!(app.get_json(&format!("/api/v1/consultations/{slug}")).await.0, 200);
        reference_of(app.post_response(slug, "k", &json!({"answers": {"pick": "a"}})).await, 201).await;
    }
}

/// Reads the stream until the next event that carries data, within `wait`; comments are passed over.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String, wait: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            if !data.is_empty() {
                return serde_json::from_str(&data.join("\n")).expect("event data is JSON");
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within {wait:?}; so far: {buffer:?}"))
            .expect("the stream reads")
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).expect("events are UTF-8"));
    }
}

#[tokio::test]
async fn the_results_stream_sends_the_results_now_and_after_each_response() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    let before = app.stored_responses(IRMP).await;
    let mut stream =
        app.client.get(app.url(&format!("/api/v1/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let content_type = stream.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");

    let mut buffer = String::new();
    let first = next_event(&mut stream, &mut buffer, Duration::from_secs(2)).await;
    assert_eq!(first["responses"], before);
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(first, results, "the stream sends the same JSON as the results");

    for n in 1..=2 {
        reference_of(app.post_response(IRMP, &format!("live-{n}"), &random_body(&q, 10 + n)).await, 201).await;
        let update = next_event(&mut stream, &mut buffer, Duration::from_secs(2)).await;
        assert_eq!(update["responses"], before + n as i64);
        let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
        assert_eq!(update, results);
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).expect("the document is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3.x document: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "{}", doc["info"]);
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/consultations", "get"),
        ("/api/v1/consultations/{slug}", "get"),
        ("/api/v1/consultations/{slug}/responses", "post"),
        ("/api/v1/consultations/{slug}/results", "get"),
        ("/api/v1/consultations/{slug}/results/stream", "get"),
        ("/healthz", "get"),
    ] {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is documented; paths: {:?}", paths.keys()));
        assert!(item.get(method).is_some(), "{method} {path} is documented: {item}");
    }
}
