//! Residents' email over real HTTP and the real SMTP sink: a receipt from the journey and from the API (once,
//! whatever the retries), and one response per person — the officers' setting, confirming an address through
//! its link, a second response refused however it comes, expired and unknown links, and no address or its hash
//! in what analysts read.

use crate::helpers::{spawn_app_with, Browser, Page, TestApp};
use crate::sink::SmtpSink;
use diesel::prelude::*;
use haveyoursay::db::schema::{audit_log, outbox, respondents, responses};
use serde_json::{json, Value};
use std::time::Duration;

const SLUG: &str = "bins";
const WAIT: Duration = Duration::from_secs(10);
const NOT_AN_ADDRESS: &str = "Enter an email address in the correct format, like name@example.com";

/// One page: a required choice and an optional text.
fn questions() -> Value {
    json!({"sections": [{"key": "only", "title": "Bin collections", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Which collection do you prefer?", "required": true,
         "options": [{"key": "weekly", "label": "Every week"}, {"key": "fortnightly", "label": "Every two weeks"}]},
        {"key": "say", "kind": "short_text", "prompt": "Anything else?", "required": false}
    ]}]})
}

async fn app_with_sink() -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    app.create_consultation(SLUG, "open", questions()).await;
    (sink, app)
}

/// Answers the one page and arrives at check your answers.
async fn answer(browser: &Browser) {
    let page = format!("/consultations/{SLUG}/respond/only");
    let saved = browser.submit(&page, &page, &[("q.pick", "weekly"), ("q.say", "Keep the garden waste")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some(format!("/consultations/{SLUG}/respond/check").as_str()));
}

/// Submits check your answers with these extra fields.
async fn submit(browser: &Browser, fields: &[(&str, &str)]) -> Page {
    let check = format!("/consultations/{SLUG}/respond/check");
    browser.submit(&check, &check, fields).await
}

/// The reference the confirmation page shows.
fn reference_on(page: &Page) -> String {
    let start = page.body.find("id=\"reference\">").expect("a reference") + "id=\"reference\">".len();
    page.body[start..].split('<').next().unwrap().to_string()
}

type Row = (String, Option<String>, Option<chrono::NaiveDateTime>);

async fn outbox_rows(app: &TestApp) -> Vec<Row> {
    app.db(|conn| {
        outbox::table.order(outbox::id).select((outbox::kind, outbox::recipient, outbox::sent_at)).load(conn).unwrap()
    })
    .await
}

/// Waits until every message in the outbox is marked sent.
async fn all_sent(app: &TestApp) -> Vec<Row> {
    for _ in 0..100 {
        let rows = outbox_rows(app).await;
        if rows.iter().all(|(_, _, sent)| sent.is_some()) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the outbox was not emptied: {:?}", outbox_rows(app).await);
}

/// The page shows the GOV.UK error pattern for the email field, keeping what was typed.
fn shows_address_error(page: &Page, typed: &str) {
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("<title>Error: "), "{}", page.body);
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains(&format!("<a href=\"#email\">{NOT_AN_ADDRESS}</a>")), "{}", page.body);
    assert!(page.body.contains(&format!("<span class=\"hys-visually-hidden\">Error:</span> {NOT_AN_ADDRESS}")));
    assert!(page.body.contains(&format!("value=\"{typed}\"")), "the value typed is kept: {}", page.body);
    assert!(page.body.contains("aria-describedby=\"email-hint email-error\""), "{}", page.body);
}

#[tokio::test]
async fn a_resident_who_gives_an_address_on_check_your_answers_gets_one_receipt_with_their_answers() {
    let (sink, app) = app_with_sink().await;
    let browser = app.browser();
    answer(&browser).await;
    let check = browser.get(&format!("/consultations/{SLUG}/respond/check")).await;
    assert!(check.body.contains("Email address (optional)"), "{}", check.body);
    assert!(check.body.contains("autocomplete=\"email\""));
    assert!(check.body.contains("We keep the address only until the receipt is sent"));
    let done = submit(&browser, &[("email", " ann@example.org ")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let confirmation = browser.get(&format!("/consultations/{SLUG}/respond/confirmation")).await;
    let reference = reference_on(&confirmation);
    assert!(confirmation.body.contains("We are sending a receipt"), "{}", confirmation.body);

    let receipt = sink.wait_to("ann@example.org", WAIT).await.expect("the receipt arrives");
    let text = receipt.text();
    assert!(receipt.header("Subject").unwrap().contains(&reference), "{:?}", receipt.header("Subject"));
    for expected in [
        reference.as_str(),
        "Test consultation bins",
        "Which collection do you prefer?",
        "Every week",
        "Anything else?",
        "Keep the garden waste",
        "What happens next",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(receipt.link(&format!("{}/consultations/{SLUG}", app.address)).is_some(), "{text}");
    let rows = all_sent(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "receipt");
    assert_eq!(rows[0].1, None, "the address is erased once sent");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.to("ann@example.org").len(), 1);
}

#[tokio::test]
async fn a_journey_without_an_address_sends_nothing_and_a_bad_address_stores_nothing() {
    let (sink, app) = app_with_sink().await;
    let browser = app.browser();
    answer(&browser).await;
    let refused = submit(&browser, &[("email", "ann at example")]).await;
    shows_address_error(&refused, "ann at example");
    assert_eq!(app.stored_responses(SLUG).await, 0);
    assert!(outbox_rows(&app).await.is_empty());

    let done = submit(&browser, &[("email", "")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let confirmation = browser.get(&format!("/consultations/{SLUG}/respond/confirmation")).await;
    assert!(!confirmation.body.contains("We are sending a receipt"));
    assert_eq!(app.stored_responses(SLUG).await, 1);
    assert!(outbox_rows(&app).await.is_empty(), "no receipt asked for, none enqueued");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn the_api_sends_a_receipt_once_whatever_the_retries_and_refuses_a_bad_address() {
    let (sink, app) = app_with_sink().await;
    let body = json!({"answers": {"pick": "fortnightly"}, "email": "cat@example.org"});
    let first = app.post_response(SLUG, "k1", &body).await;
    assert_eq!(first.status(), 201);
    let reference = first.json::<Value>().await.unwrap()["reference"].as_str().unwrap().to_string();
    let again = app.post_response(SLUG, "k1", &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["reference"], reference.as_str());
    let receipt = sink.wait_to("cat@example.org", WAIT).await.expect("the receipt arrives");
    assert!(receipt.text().contains(&reference));
    assert!(receipt.text().contains("Every two weeks"), "{}", receipt.text());
    all_sent(&app).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.to("cat@example.org").len(), 1, "a replay sends no second receipt");

    let bad = app.post_response(SLUG, "k2", &json!({"answers": {"pick": "weekly"}, "email": "not an address"})).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["question"], "email", "{problem}");
    let both = app.post_response(SLUG, "k3", &json!({"answers": {}, "email": "nope"})).await;
    assert_eq!(both.status(), 422);
    let problem: Value = both.json().await.unwrap();
    let named: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["question"].as_str().unwrap()).collect();
    assert_eq!(named, ["pick", "email"], "{problem}");
    assert_eq!(app.stored_responses(SLUG).await, 1, "nothing of the refused ones is stored");
    assert_eq!(outbox_rows(&app).await.len(), 1);
}

/// An officer of the test council and their token.
async fn officer(app: &TestApp) -> String {
    app.add_user("olive@council.example", "officer", Some("Test Council")).await;
    app.token_for("olive@council.example").await
}

async fn patch(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/consultations/{SLUG}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The details of the audit records of the email rules, oldest first.
async fn rule_changes(app: &TestApp) -> Vec<String> {
    app.db(|conn| {
        audit_log::table
            .filter(audit_log::action.eq("consultation.email_rules"))
            .order(audit_log::id)
            .select(audit_log::detail)
            .load(conn)
            .unwrap()
    })
    .await
}

/// The value of the input named `name` on a page.
fn value_of(page: &Page, name: &str) -> String {
    let at = page.body.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("{name} in {}", page.body));
    page.body[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn officers_set_the_email_rules_in_the_api_and_on_the_page_and_each_change_is_audited() {
    let (_sink, app) = app_with_sink().await;
    let token = officer(&app).await;
    let (status, body) = patch(&app, &token, json!({"one_response_per_person": true, "retention_days": 30})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["one_response_per_person"], true);
    assert_eq!(body["retention_days"], 30);
    for (field, wrong) in [
        ("retention_days", json!(0)),
        ("retention_days", json!(3651)),
        ("retention_days", json!("9")),
        ("one_response_per_person", json!("yes")),
    ] {
        let (status, body) = patch(&app, &token, json!({ field: wrong })).await;
        assert_eq!(status, 422, "{wrong}: {body}");
        assert!(body["problems"][0].as_str().unwrap().starts_with(field), "{body}");
    }
    let changes = rule_changes(&app).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].contains("\"retention_days\":30"), "{changes:?}");

    let officer = app.signed_in("otto@council.example", "officer", Some("Test Council")).await;
    let form = format!("/officer/consultations/{SLUG}/schedule");
    let shown = officer.get(&form).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Each person may respond once (residents confirm an email address first)"));
    assert!(shown.body.contains("Erase email addresses this many days after closing"));
    assert_eq!(value_of(&shown, "retention_days"), "30");
    // The times as the form shows them, sent back unchanged.
    let names: Vec<String> = ["opens", "closes"]
        .iter()
        .flat_map(|prefix| ["day", "month", "year", "time"].map(|part| format!("{prefix}_{part}")))
        .collect();
    let values: Vec<String> = names.iter().map(|name| value_of(&shown, name)).collect();
    let mut sent: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(values.iter().map(String::as_str)).collect();
    sent.extend([("visibility", "public"), ("once", "yes"), ("retention_days", "0")]);
    let refused = officer.submit(&form, &form, &sent).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("There is a problem"));
    assert!(refused.body.contains("Enter a number of days from 1 to 3650"), "{}", refused.body);
    assert_eq!(rule_changes(&app).await.len(), 1, "nothing changed");
    sent.truncate(sent.len() - 2);
    sent.push(("retention_days", "365"));
    let saved = officer.submit(&form, &form, &sent).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let id = app.consultation_id(SLUG).await;
    let rules = app
        .db(move |conn| {
            use haveyoursay::db::schema::consultations as c;
            c::table.find(id).select((c::one_response_per_person, c::retention_days)).first::<(bool, i32)>(conn)
        })
        .await
        .unwrap();
    assert_eq!(rules, (false, 365), "the box left unticked turns the rule off");
    assert_eq!(rule_changes(&app).await.len(), 2);
}

/// Turns one response per person on through the API.
async fn once_on(app: &TestApp) {
    let token = officer(app).await;
    let (status, body) = patch(app, &token, json!({"one_response_per_person": true})).await;
    assert_eq!(status, 200, "{body}");
}

/// Asks for a confirmation link for `address` in a browser of its own; returns the link's path.
async fn ask_link(app: &TestApp, sink: &SmtpSink, browser: &Browser, address: &str) -> String {
    let before = sink.to(&address.trim().to_lowercase()).len();
    let start = format!("/consultations/{SLUG}/respond");
    let asked = browser.submit(&start, &start, &[("email", address)]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert_eq!(asked.location.as_deref(), Some(format!("/consultations/{SLUG}/confirm").as_str()));
    let prefix = format!("{}/consultations/{SLUG}/confirm/", app.address);
    for _ in 0..100 {
        let mine = sink.to(&address.trim().to_lowercase());
        if mine.len() > before {
            let link = mine.last().unwrap().link(&prefix).expect("the message holds the link");
            return link.strip_prefix(&app.address).unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no confirmation link arrived for {address}");
}

/// Uses a confirmation link as a resident does: the page, then its button.
async fn use_link(browser: &Browser, link: &str) -> Page {
    browser.submit(link, link, &[]).await
}

/// The respondent column of the test consultation's responses, oldest first.
async fn respondent_hashes(app: &TestApp) -> Vec<Option<String>> {
    let id = app.consultation_id(SLUG).await;
    app.db(move |conn| {
        responses::table
            .filter(responses::consultation_id.eq(id))
            .order(responses::id)
            .select(responses::respondent)
            .load(conn)
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn where_each_person_responds_once_a_resident_confirms_an_address_and_a_second_response_is_refused() {
    let (sink, app) = app_with_sink().await;
    once_on(&app).await;
    let browser = app.browser();
    let start = format!("/consultations/{SLUG}/respond");
    let ask = browser.get(&start).await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("<h1 class=\"hys-label-wrapper\"><label class=\"hys-label hys-label--l\" for=\"email\">Confirm your email address</label></h1>"), "{}", ask.body);
    // No way round it: the question pages send the resident back to confirm first.
    let page = browser.get(&format!("/consultations/{SLUG}/respond/only")).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some(start.as_str())));
    let empty = browser.submit(&start, &start, &[("email", "")]).await;
    shows_address_error(&empty, "");
    let wrong = browser.submit(&start, &start, &[("email", "bob@")]).await;
    shows_address_error(&wrong, "bob@");
    let check_email = browser.get(&format!("/consultations/{SLUG}/confirm")).await;
    assert!(check_email.body.contains("Check your email"), "{}", check_email.body);

    let link = ask_link(&app, &sink, &browser, "bob@example.org").await;
    let message = sink.to("bob@example.org").pop().unwrap();
    assert!(message.header("Subject").unwrap().contains("Confirm your email address"));
    // A mail scanner fetching the link uses nothing: the page only shows the button.
    for _ in 0..2 {
        let shown = app.browser().get(&link).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert!(shown.body.contains("Continue to the questions"));
    }
    let used = use_link(&browser, &link).await;
    assert_eq!(used.status, 303, "{}", used.body);
    assert_eq!(used.location.as_deref(), Some(format!("/consultations/{SLUG}/respond/only").as_str()));
    answer(&browser).await;
    let done = submit(&browser, &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.stored_responses(SLUG).await, 1);
    let hashes = respondent_hashes(&app).await;
    let hash = hashes[0].clone().expect("the response carries the respondent's hash");
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains('@'));

    // The link again, after responding: refused.
    let again = browser.get(&link).await;
    assert_eq!(again.status, 410, "{}", again.body);
    assert!(again.body.contains("This link has already been used"));
    let again = app.browser().post_form(&link, &[("_csrf", "x")]).await;
    assert_ne!(again.status, 303);

    // Confirming the same address again, written differently, from another browser: refused before answering.
    let other = app.browser();
    let second = ask_link(&app, &sink, &other, " Bob@Example.ORG ").await;
    let refused = use_link(&other, &second).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("You have already responded to this consultation"));
    assert_eq!(app.stored_responses(SLUG).await, 1);

    // The anonymous API is refused while the rule is on; an officer keying a paper response is not.
    let api = app.post_response(SLUG, "k1", &json!({"answers": {"pick": "weekly"}})).await;
    assert_eq!(api.status(), 409);
    let problem: Value = api.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/confirmed-respondents-only", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("through the website"));
    let token = app.token_for("olive@council.example").await;
    let keyed = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{SLUG}/responses")))
        .header("Idempotency-Key", "paper-1")
        .bearer_auth(token)
        .json(&json!({"answers": {"pick": "weekly"}, "channel": "paper"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 201);
    assert_eq!(app.stored_responses(SLUG).await, 2);
}

#[tokio::test]
async fn two_confirmations_of_one_address_racing_to_submit_make_one_response() {
    let (sink, app) = app_with_sink().await;
    once_on(&app).await;
    let (one, two) = (app.browser(), app.browser());
    let first = ask_link(&app, &sink, &one, "dee@example.org").await;
    let second = ask_link(&app, &sink, &two, "dee@example.org").await;
    for (browser, link) in [(&one, &first), (&two, &second)] {
        assert_eq!(use_link(browser, link).await.status, 303);
        answer(browser).await;
    }
    let (a, b) = tokio::join!(submit(&one, &[]), submit(&two, &[]));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "{} / {}", a.body, b.body);
    let refused = if a.status == 409 { a } else { b };
    assert!(refused.body.contains("You have already responded to this consultation"));
    assert_eq!(app.stored_responses(SLUG).await, 1);
    assert_eq!(app.stored_answers(SLUG).await, 2, "the refused response left nothing behind");
}

#[tokio::test]
async fn expired_unknown_and_malformed_confirmation_links_get_clear_pages() {
    let (sink, app) = app_with_sink().await;
    once_on(&app).await;
    let browser = app.browser();
    let link = ask_link(&app, &sink, &browser, "eve@example.org").await;
    let past = haveyoursay::models::now() - chrono::Duration::minutes(1);
    app.db(move |conn| diesel::update(respondents::table).set(respondents::expires_at.eq(past)).execute(conn).unwrap())
        .await;
    let expired = browser.get(&link).await;
    assert_eq!(expired.status, 410, "{}", expired.body);
    assert!(expired.body.contains("This link has expired"));
    let csrf = browser.get(&format!("/consultations/{SLUG}/respond")).await.csrf();
    let refused = browser.post_form(&link, &[("_csrf", &csrf)]).await;
    assert_eq!(refused.status, 410, "{}", refused.body);
    let unknown = browser.get(&format!("/consultations/{SLUG}/confirm/{}", "0f".repeat(32))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("This link is not valid"), "{}", unknown.body);
    let malformed = browser.get(&format!("/consultations/{SLUG}/confirm/not-a-token")).await;
    assert_eq!(malformed.status, 404);
    assert!(malformed.body.contains("This link is not valid"));
    // Only the digest of the token is stored, never the token.
    let token = link.rsplit('/').next().unwrap().to_string();
    let stored: Vec<String> =
        app.db(|conn| respondents::table.select(respondents::token_hash).load(conn).unwrap()).await;
    assert_eq!(stored, [haveyoursay::auth::secret::digest(&token)]);
    assert_eq!(app.stored_responses(SLUG).await, 0);
}

#[tokio::test]
async fn exports_show_neither_addresses_nor_their_hashes() {
    let (sink, app) = app_with_sink().await;
    once_on(&app).await;
    let browser = app.browser();
    let link = ask_link(&app, &sink, &browser, "fay@example.org").await;
    use_link(&browser, &link).await;
    answer(&browser).await;
    submit(&browser, &[]).await;
    let hash = respondent_hashes(&app).await[0].clone().unwrap();
    app.add_user("ann.analyst@council.example", "analyst", Some("Test Council")).await;
    let token = app.token_for("ann.analyst@council.example").await;
    for format in ["csv", "json"] {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/consultations/{SLUG}/responses?format={format}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{format}");
        let bytes = r.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&hash) && !text.contains("fay@example.org") && !text.contains("respondent"), "{format}");
        assert!(text.contains("Keep the garden waste"), "{format}: {text}");
    }
}

#[tokio::test]
async fn a_confirmation_link_is_built_from_the_configured_address_whatever_the_host_header() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = url;
        s.email.base_url = "https://consult.example".into();
    })
    .await;
    app.create_consultation(SLUG, "open", questions()).await;
    once_on(&app).await;
    let browser = app.browser();
    let start = format!("/consultations/{SLUG}/respond");
    let csrf = browser.get(&start).await.csrf();
    let asked = browser
        .client
        .post(browser.url(&start))
        .header("Host", "evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&email=gus%40example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    let message = sink.wait_to("gus@example.org", WAIT).await.expect("the link arrives");
    let link = message.link("https://consult.example/consultations/bins/confirm/").expect("a link to the real site");
    assert!(!message.text().contains("evil.example"), "{}", message.text());
    assert!(haveyoursay::auth::secret::looks_like_link_token(link.rsplit('/').next().unwrap()));
}
