//! Bad input, through the API and through the resident's pages: each is answered with a clear 4xx that says
//! what is wrong, and nothing at all is stored.

use crate::api::{expect_problem, post_raw, problem_questions, questionnaire};
use crate::helpers::{spawn_app, Page, TestApp, IRMP};
use serde_json::{json, Value};

/// A complete, valid response to the demo IRMP questionnaire, which each case below spoils in one way.
fn valid() -> serde_json::Map<String, Value> {
    json!({
        "support_closer_working": "agree",
        "closer_working_benefits": ["faster_help", "shared_skills"],
        "support_shared_buildings": "agree",
        "support_joint_control": "neither",
        "prevention_priorities": ["road_safety", "water_safety", "home_fire_safety_visits", "business_fire_safety"],
        "respondent_type": "resident"
    })
    .as_object()
    .unwrap()
    .clone()
}

/// `valid()` with `changes` made: a null value removes the answer.
fn spoilt(changes: Value) -> Value {
    let mut answers = valid();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            answers.remove(key);
        } else {
            answers.insert(key.clone(), value.clone());
        }
    }
    json!({ "answers": answers })
}

/// What is stored for the demo IRMP consultation: responses and answers.
async fn stored(app: &TestApp) -> (i64, i64) {
    (app.stored_responses(IRMP).await, app.stored_answers(IRMP).await)
}

/// All the bad requests share one Idempotency-Key: a refused request must not use it up.
const KEY: &str = "bad-input";

#[tokio::test]
async fn invalid_answers_are_422_naming_each_question_and_store_nothing() {
    let app = spawn_app().await;
    let q = questionnaire(&app, IRMP).await;
    assert_eq!(haveyoursay::domain::validation::from_json(&q, &valid()).map(|_| ()), Ok(()), "the base case is valid");
    let before = stored(&app).await;

    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "an unknown option key",
            spoilt(json!({"support_closer_working": "mostly_agree"})),
            &["support_closer_working"],
        ),
        (
            "an unknown option key in a list",
            spoilt(json!({"closer_working_benefits": ["faster_help", "teleportation"]})),
            &["closer_working_benefits"],
        ),
        ("an unknown question key", spoilt(json!({"favourite_colour": "blue"})), &["favourite_colour"]),
        ("a missing required answer", spoilt(json!({"respondent_type": null})), &["respondent_type"]),
        ("a missing headline answer", spoilt(json!({"support_closer_working": null})), &["support_closer_working"]),
        ("an empty required choice", spoilt(json!({"respondent_type": ""})), &["respondent_type"]),
        ("an empty required list", spoilt(json!({"closer_working_benefits": []})), &["closer_working_benefits"]),
        ("a string for a number", spoilt(json!({"household_size": "3"})), &["household_size"]),
        ("a fraction for a whole number", spoilt(json!({"household_size": 2.5})), &["household_size"]),
        ("a number too large for any integer", spoilt(json!({"household_size": 1e30})), &["household_size"]),
        ("a number for a choice", spoilt(json!({"support_closer_working": 1})), &["support_closer_working"]),
        ("a list for a choice", spoilt(json!({"support_closer_working": ["agree"]})), &["support_closer_working"]),
        (
            "an object for a list",
            spoilt(json!({"closer_working_benefits": {"faster_help": true}})),
            &["closer_working_benefits"],
        ),
        ("a string for a list", spoilt(json!({"prevention_priorities": "road_safety"})), &["prevention_priorities"]),
        ("a number for a text", spoilt(json!({"shared_buildings_comments": 42})), &["shared_buildings_comments"]),
        (
            "a text over its limit",
            spoilt(json!({"shared_buildings_comments": "x".repeat(1001)})),
            &["shared_buildings_comments"],
        ),
        (
            "a text over its limit in characters",
            spoilt(json!({"shared_buildings_comments": "é".repeat(1001)})),
            &["shared_buildings_comments"],
        ),
        (
            "a text with a NUL",
            spoilt(json!({"shared_buildings_comments": "before\u{0}after"})),
            &["shared_buildings_comments"],
        ),
        ("a number over the maximum", spoilt(json!({"household_size": 21})), &["household_size"]),
        ("a number under the minimum", spoilt(json!({"household_size": 0})), &["household_size"]),
        ("a negative number", spoilt(json!({"household_size": -3})), &["household_size"]),
        (
            "an impossible date",
            spoilt(json!({"had_home_visit": "yes", "last_home_visit_date": "2023-02-30"})),
            &["last_home_visit_date"],
        ),
        (
            "a date in another format",
            spoilt(json!({"had_home_visit": "yes", "last_home_visit_date": "30/01/2023"})),
            &["last_home_visit_date"],
        ),
        (
            "a date out of range",
            spoilt(json!({"had_home_visit": "yes", "last_home_visit_date": "1850-01-01"})),
            &["last_home_visit_date"],
        ),
        (
            "too many selections",
            spoilt(json!({"closer_working_benefits": [
            "faster_help", "better_value", "shared_skills", "more_prevention"]})),
            &["closer_working_benefits"],
        ),
        (
            "a repeated selection",
            spoilt(json!({"closer_working_benefits": ["faster_help", "faster_help"]})),
            &["closer_working_benefits"],
        ),
        (
            "'None of these' with another option",
            spoilt(json!({"control_room_concerns": ["none", "jobs"]})),
            &["control_room_concerns"],
        ),
        (
            "'Other' without its details",
            spoilt(json!({"closer_working_benefits": ["other"]})),
            &["closer_working_benefits"],
        ),
        (
            "details of 'Other' without choosing it",
            spoilt(json!({"closer_working_benefits.other": "Something"})),
            &["closer_working_benefits"],
        ),
        (
            "an incomplete ranking",
            spoilt(json!({"prevention_priorities": ["road_safety"]})),
            &["prevention_priorities"],
        ),
        (
            "a ranking with a repeat",
            spoilt(
                json!({"prevention_priorities": ["road_safety", "road_safety", "water_safety", "business_fire_safety"]}),
            ),
            &["prevention_priorities"],
        ),
        ("an answer to a question routed past", spoilt(json!({"why_disagree": "I do not agree"})), &["why_disagree"]),
        (
            "an answer to a question routed past by a later rule",
            spoilt(json!({"respondent_type": "business", "household_size": 3})),
            &["household_size"],
        ),
        (
            "answers in a section routed past",
            spoilt(json!({"support_closer_working": "disagree"})),
            &["closer_working_benefits"],
        ),
        (
            "several problems at once",
            spoilt(json!({"support_shared_buildings": "maybe", "household_size": 99, "nonsense": true})),
            &["support_shared_buildings", "household_size", "nonsense"],
        ),
    ];
    for (what, body, keys) in cases {
        let problem = expect_problem(app.post_response(IRMP, KEY, &body).await, 422).await;
        let named = problem_questions(&problem);
        for key in keys {
            assert!(named.iter().any(|n| n == key), "{what}: the problem names {key}: {problem}");
        }
        assert_eq!(stored(&app).await, before, "{what}: nothing is stored");
    }

    // The key was not used up, and a text of exactly its limit (in characters, not bytes) is fine.
    let mut answers = valid();
    answers.insert("shared_buildings_comments".into(), json!("é".repeat(1000)));
    let r = app.post_response(IRMP, KEY, &json!({ "answers": answers })).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(stored(&app).await, (before.0 + 1, before.1 + 7));
}

/// DESIGN.md: a 422 names "each question and what is wrong", so a client can put everything right in one go; a
/// missing required answer is wrong whether or not another answer is wrong too.
#[tokio::test]
async fn a_422_names_every_problem_at_once() {
    let app = spawn_app().await;
    let before = stored(&app).await;
    let body = spoilt(json!({"support_joint_control": "maybe", "respondent_type": null}));
    let problem = expect_problem(app.post_response(IRMP, KEY, &body).await, 422).await;
    let named = problem_questions(&problem);
    for key in ["support_joint_control", "respondent_type"] {
        assert!(named.iter().any(|n| n == key), "the problem names {key}: {problem}");
    }
    assert_eq!(stored(&app).await, before);
}

#[tokio::test]
async fn unreadable_bodies_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let before = stored(&app).await;
    let json = Some("application/json");
    let valid_text = serde_json::to_string(&json!({ "answers": valid() })).unwrap();
    let with_comment = |comment: &[u8]| -> Vec<u8> {
        let mut body = br#"{"answers": {"shared_buildings_comments": ""#.to_vec();
        body.extend_from_slice(comment);
        body.extend_from_slice(br#"", "#);
        body.extend_from_slice(&valid_text.as_bytes()[r#"{"answers":{"#.len()..]);
        body
    };
    assert!(serde_json::from_slice::<Value>(&with_comment(b"fine")).is_ok(), "the case builder makes JSON");

    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        ("malformed JSON", json, br#"{"answers": {"support_closer_working": "agree","#.to_vec(), 400),
        ("an empty body", json, Vec::new(), 400),
        ("JSON that is not an object", json, b"[]".to_vec(), 400),
        ("answers that are not an object", json, br#"{"answers": ["agree"]}"#.to_vec(), 400),
        ("null answers", json, br#"{"answers": null}"#.to_vec(), 400),
        ("no answers at all", json, b"{}".to_vec(), 400),
        (
            "an extra top-level field",
            json,
            serde_json::to_vec(&json!({"answers": valid(), "respondent": "me"})).unwrap(),
            400,
        ),
        ("trailing data after the JSON", json, format!("{valid_text} {{}}").into_bytes(), 400),
        ("invalid UTF-8 in a string", json, with_comment(b"caf\xE9 \xFF\xFE"), 400),
        ("a lone surrogate escape", json, with_comment(br"\ud800"), 400),
        (
            "JSON nested past any sensible depth",
            json,
            format!(r#"{{"answers": {{"closer_working_benefits": {}{}}}}}"#, "[".repeat(10_000), "]".repeat(10_000))
                .into_bytes(),
            400,
        ),
        ("a 1 MB body", json, with_comment("x".repeat(1024 * 1024).as_bytes()), 413),
        ("text/plain", Some("text/plain"), valid_text.clone().into_bytes(), 415),
        ("a form", Some("application/x-www-form-urlencoded"), b"answers=1".to_vec(), 415),
        ("no content type", None, valid_text.clone().into_bytes(), 415),
    ];
    for (what, content_type, body, status) in cases {
        let r = post_raw(&app, IRMP, Some(KEY), content_type, body).await;
        let problem = expect_problem(r, status).await;
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {problem}");
        assert_eq!(stored(&app).await, before, "{what}: nothing is stored");
    }

    let r = post_raw(&app, IRMP, Some(KEY), json, valid_text.into_bytes()).await;
    assert_eq!(r.status(), 201, "the key was not used up: {}", r.text().await.unwrap());
}

/// Starts a journey through the demo consultation with the app's cookie-keeping client: returns the address of
/// its first page and that page.
async fn start_journey(app: &TestApp) -> (String, Page) {
    let start = app.get(&format!("/consultations/{IRMP}/respond")).await;
    assert_eq!(start.status, 303);
    let first = start.location.expect("the start redirects to the first page");
    assert_eq!(first, format!("/consultations/{IRMP}/respond/closer_working"));
    let page = app.get(&first).await;
    assert_eq!(page.status, 200, "{}", page.body);
    (first, page)
}

fn title(page: &Page) -> &str {
    let start = page.body.find("<title>").expect("a title") + "<title>".len();
    let end = page.body[start..].find("</title>").expect("the title ends") + start;
    page.body[start..end].trim()
}

#[tokio::test]
async fn bad_form_posts_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let (first, page) = start_journey(&app).await;
    let csrf = page.csrf();
    let before = stored(&app).await;
    let answer = "q.support_closer_working";

    let invalid_utf8 = format!("_csrf={csrf}&{answer}=agree%FF").into_bytes();
    let p = app.post_raw_form(&first, invalid_utf8).await;
    assert_eq!(p.status, 400, "invalid UTF-8: {}", p.body);
    let p = app.post_raw_form(&first, format!("_csrf={csrf}&{answer}=agree&%C3%28=x").into_bytes()).await;
    assert_eq!(p.status, 400, "invalid UTF-8 in a name: {}", p.body);
    assert_eq!(stored(&app).await, before);

    let wrong = "0".repeat(csrf.len());
    for fields in
        [vec![(answer, "agree")], vec![("_csrf", ""), (answer, "agree")], vec![("_csrf", &wrong), (answer, "agree")]]
    {
        let p = app.post_form(&first, &fields).await;
        assert_eq!(p.status, 403, "{fields:?}: {}", p.body);
        let p = app.post_form(&format!("/consultations/{IRMP}/respond/check"), &fields).await;
        assert_eq!(p.status, 403, "submitting, {fields:?}: {}", p.body);
        assert_eq!(stored(&app).await, before);
    }

    let p = app.post_form(&first, &[("_csrf", &csrf), (answer, "mostly_agree")]).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("There is a problem"), "an error summary: {}", p.body);
    assert!(title(&p).starts_with("Error:"), "title {:?}", title(&p));
    assert!(p.body.contains("href=\"#q-support_closer_working\""), "the summary links to the field: {}", p.body);
    assert_eq!(stored(&app).await, before);

    let mut huge = format!("_csrf={csrf}&{answer}=agree&filler=").into_bytes();
    huge.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    let p = app.post_raw_form(&first, huge).await;
    assert_eq!(p.status, 413, "{}", p.body);
    assert_eq!(stored(&app).await, before);

    // None of it was saved in the journey either: it is still at its first page, and the page still works.
    let again = app.get(&format!("/consultations/{IRMP}/respond")).await;
    assert_eq!(again.location.as_deref(), Some(first.as_str()));
    let check = app.get(&format!("/consultations/{IRMP}/respond/check")).await;
    assert_eq!(check.location.as_deref(), Some(first.as_str()), "check your answers is not reachable yet");
    let p = app.post_form(&first, &[("_csrf", &csrf), (answer, "agree")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location, Some(format!("/consultations/{IRMP}/respond/closer_working_details")));
    assert_eq!(stored(&app).await, before);
}
