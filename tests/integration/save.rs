//! "Save and come back later", told as scenarios over real HTTP and a real SMTP conversation (`sink`): a
//! resident saves part-way, the link in the email restores their answers in another browser, they finish and
//! submit once; the address form's errors; a link after the close (410), unknown (404), after submission;
//! deleting what was saved; the token never stored in clear; saved answers never counted; the Host header
//! changing nothing.

use crate::helpers::{spawn_app_with, Browser, Page, TestApp, IRMP};
use crate::journey::{Step, AGREE_JOURNEY};
use crate::sink::SmtpSink;
use diesel::prelude::*;
use haveyoursay::db::schema::{consultations, journeys, outbox, return_links};
use std::time::Duration;

const ANN: &str = "ann@example.org";

fn respond(page: &str) -> String {
    format!("/consultations/{IRMP}/respond/{page}")
}

fn save_path() -> String {
    format!("/consultations/{IRMP}/save")
}

fn return_prefix(base: &str) -> String {
    format!("{base}/consultations/{IRMP}/return/")
}

async fn app_with_sink(base_url: Option<&str>) -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let base = base_url.map(str::to_string);
    let app = spawn_app_with(move |s| {
        s.email.smtp_url = url;
        if let Some(base) = base {
            s.email.base_url = base;
        }
    })
    .await;
    (sink, app)
}

/// Answers a page of the demo journey with "Continue".
async fn answer(browser: &Browser, step: &Step) {
    let page = respond(step.page);
    let done = browser.submit(&page, &page, step.fields).await;
    assert_eq!(done.status, 303, "{}: {}", step.page, done.body);
}

/// Answers the first page, then presses "Save and come back later" on the second with `fields`; returns the
/// address form it lands on.
async fn save_on_second_page(browser: &Browser, fields: &[(&str, &str)]) -> Page {
    answer(browser, &AGREE_JOURNEY[0]).await;
    let page = respond(AGREE_JOURNEY[1].page);
    let shown = browser.get(&page).await;
    assert!(shown.body.contains(">Save and come back later</button>"), "{}", shown.body);
    let mut all = vec![("_csrf", shown.csrf()), ("save", "later".to_string())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.post_form(&page, &pairs).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some(save_path().as_str()));
    browser.get(&save_path()).await
}

/// Gives the address on the form and returns the link that arrives.
async fn send_link(app: &TestApp, sink: &SmtpSink, browser: &Browser, to: &str) -> (String, crate::sink::Received) {
    let form = browser.get(&save_path()).await;
    let sent = browser.post_form(&save_path(), &[("_csrf", &form.csrf()), ("email", to)]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let check = browser.get(sent.location.as_deref().unwrap()).await;
    assert_eq!(check.status, 200);
    assert!(check.body.contains("<h1 class=\"hys-heading-l\">Check your email</h1>"), "{}", check.body);
    let message = sink.wait_to(to, Duration::from_secs(10)).await.expect("the link arrives");
    let link = message.link(&return_prefix(&app.address)).expect("the email carries the link");
    (link, message)
}

/// The path of a full link at the app's address.
fn path_of<'l>(app: &TestApp, link: &'l str) -> &'l str {
    link.strip_prefix(&app.address).expect("a link to the app")
}

/// The input of the form `name` with `value`, as the page renders it.
fn input_tag<'h>(body: &'h str, name: &str, value: &str) -> Option<&'h str> {
    body.match_indices("<input").map(|(at, _)| &body[at..at + body[at..].find('>').unwrap()]).find(|tag| {
        tag.contains(&format!("name=\"{name}\"")) && (value.is_empty() || tag.contains(&format!("value=\"{value}\"")))
    })
}

async fn results(app: &TestApp) -> serde_json::Value {
    let (status, json) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(status, 200);
    json
}

async fn journey_count(app: &TestApp) -> i64 {
    app.db(|conn| journeys::table.count().get_result(conn).unwrap()).await
}

async fn link_count(app: &TestApp) -> i64 {
    app.db(|conn| return_links::table.count().get_result(conn).unwrap()).await
}

/// Waits until the worker has recorded every message as sent (it does so just after the relay accepted it).
async fn sent_for_good(app: &TestApp) {
    for _ in 0..100 {
        let waiting: i64 =
            app.db(|conn| outbox::table.filter(outbox::sent_at.is_null()).count().get_result(conn).unwrap()).await;
        if waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a message was not recorded as sent");
}

/// Every stored row of the tables a saved journey touches, as text, to search for what must not be there.
async fn stored_text(app: &TestApp) -> String {
    app.db(|conn| {
        let links: Vec<(String, i64, String)> = return_links::table
            .select((return_links::token_hash, return_links::consultation_id, return_links::journey_token))
            .load(conn)
            .unwrap();
        let journeys: Vec<(String, String)> =
            journeys::table.select((journeys::token, journeys::answers)).load(conn).unwrap();
        let messages: Vec<(String, Option<String>, String)> =
            outbox::table.select((outbox::dedup_key, outbox::recipient, outbox::payload)).load(conn).unwrap();
        format!("{links:?}{journeys:?}{messages:?}")
    })
    .await
}

#[tokio::test]
async fn a_link_saved_on_a_middle_page_restores_the_answers_in_another_browser_and_the_response_is_sent_once() {
    let (sink, app) = app_with_sink(None).await;
    let before = results(&app).await;
    let responses = app.stored_responses(IRMP).await;
    let ann = app.browser();
    let ask = save_on_second_page(&ann, AGREE_JOURNEY[1].fields).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.body.contains("<h1 class=\"hys-heading-l\">Save your answers and come back later</h1>"),
        "{}",
        ask.body
    );
    let closes = app
        .db(|conn| {
            consultations::table
                .filter(consultations::slug.eq(IRMP))
                .select(consultations::closes_at)
                .first::<Option<chrono::NaiveDateTime>>(conn)
                .unwrap()
        })
        .await
        .expect("the demo closes");
    assert!(ask.body.contains("The link works until ") && ask.body.contains("when the consultation closes"));
    assert!(ask.body.contains(&closes.format("%B %Y").to_string()), "the closing date is given: {}", ask.body);
    assert!(input_tag(&ask.body, "email", "").unwrap().contains("autocomplete=\"email\""));

    let (link, message) = send_link(&app, &sink, &ann, ANN).await;
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(haveyoursay::auth::secret::looks_like_link_token(&token), "{link}");
    assert_ne!(Some(token.clone()), ann.cookie("hys_journey"), "the link is not the journey cookie");
    assert!(message.header("Subject").unwrap().starts_with("Your saved answers to "), "{}", message.raw);
    assert!(message.text().contains(&format!("{link}/delete")), "the email offers deletion: {}", message.text());
    // Stored only as its digest (the message itself carries the link until it is sent, then is erased); the
    // journey is kept until the link expires, not the usual days.
    sent_for_good(&app).await;
    let stored = stored_text(&app).await;
    assert!(!stored.contains(&token), "the token is stored in clear: {stored}");
    assert!(stored.contains(&haveyoursay::auth::secret::digest(&token)));
    let kept =
        app.db(|conn| journeys::table.select(journeys::expires_at).first::<chrono::NaiveDateTime>(conn).unwrap()).await;
    assert!(kept >= closes, "the journey is kept until the link expires: {kept} < {closes}");
    // Saved answers count nowhere.
    assert_eq!(results(&app).await, before);

    // Another device: no cookies.
    let phone = app.browser();
    let opened = phone.get(path_of(&app, &link)).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let second = respond(AGREE_JOURNEY[1].page);
    assert_eq!(opened.location.as_deref(), Some(second.as_str()), "back to the page saved on");
    let page = phone.get(&second).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(input_tag(&page.body, "q.closer_working_benefits", "faster_help").unwrap().contains("checked"));
    assert!(input_tag(&page.body, "q.closer_working_benefits.other", "Fewer false alarms").is_some(), "{}", page.body);
    assert!(input_tag(&page.body, "q.collaboration_areas", "joint_training").unwrap().contains("checked"));
    assert!(page.body.contains("Delete my saved answers and email address"));

    for step in &AGREE_JOURNEY[1..] {
        answer(&phone, step).await;
    }
    let check = format!("/consultations/{IRMP}/respond/check");
    let submitted = phone.submit(&check, &check, &[]).await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_eq!(app.stored_responses(IRMP).await, responses + 1);
    assert_eq!(results(&app).await["responses"], before["responses"].as_i64().unwrap() + 1);

    // The link once the response is sent: says so, with the reference, in either browser.
    let reference = app
        .db(|conn| journeys::table.select(journeys::reference).first::<Option<String>>(conn).unwrap())
        .await
        .expect("the journey records its response");
    for browser in [&ann, &app.browser()] {
        let again = browser.get(path_of(&app, &link)).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert!(again.body.contains("Your response has already been sent"), "{}", again.body);
        assert!(again.body.contains(&reference));
    }
    assert_eq!(app.stored_responses(IRMP).await, responses + 1, "one response");
}

#[tokio::test]
async fn the_address_form_shows_errors_for_a_blank_or_wrong_address_and_stores_nothing() {
    let (sink, app) = app_with_sink(None).await;
    let ann = app.browser();
    save_on_second_page(&ann, &[]).await;
    for (email, message) in [
        ("", "Enter your email address"),
        ("   ", "Enter your email address"),
        ("ann.example.org", "Enter an email address in the correct format, like name@example.com"),
        (
            "ann@example.org\r\nBcc: eve@example.org",
            "Enter an email address in the correct format, like name@example.com",
        ),
    ] {
        let form = ann.get(&save_path()).await;
        let refused = ann.post_form(&save_path(), &[("_csrf", &form.csrf()), ("email", email)]).await;
        assert_eq!(refused.status, 422, "{email:?}: {}", refused.body);
        assert!(refused.body.contains("<title>Error: Save your answers"), "{}", refused.body);
        assert!(refused.body.contains(&format!("<a href=\"#email\">{message}</a>")), "{}", refused.body);
        assert!(refused.body.contains(&format!("<span class=\"hys-visually-hidden\">Error:</span> {message}")));
        assert!(input_tag(&refused.body, "email", "").unwrap().contains("aria-describedby=\"email-hint email-error\""));
    }
    assert_eq!(link_count(&app).await, 0);
    assert_eq!(app.db(|conn| outbox::table.count().get_result::<i64>(conn).unwrap()).await, 0);
    // Without the form's token: refused, nothing stored.
    let forged = ann.post_form(&save_path(), &[("email", ANN)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(link_count(&app).await, 0);
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_link_after_the_close_or_its_expiry_is_gone_and_an_unknown_one_is_not_found() {
    let (sink, app) = app_with_sink(None).await;
    let ann = app.browser();
    save_on_second_page(&ann, AGREE_JOURNEY[1].fields).await;
    let (link, _) = send_link(&app, &sink, &ann, ANN).await;
    let path = path_of(&app, &link).to_string();

    // Its own time has passed, while the consultation is open.
    app.db(|conn| {
        let past = haveyoursay::models::now() - chrono::Duration::minutes(1);
        diesel::update(return_links::table).set(return_links::expires_at.eq(past)).execute(conn).unwrap()
    })
    .await;
    let gone = app.browser().get(&path).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert!(gone.body.contains("<h1 class=\"hys-heading-l\">This link has expired</h1>"), "{}", gone.body);
    assert!(gone.body.contains(&format!("href=\"/consultations/{IRMP}/respond\"")), "where to go: {}", gone.body);

    // The consultation has closed.
    app.db(|conn| {
        let now = haveyoursay::models::now();
        diesel::update(return_links::table)
            .set(return_links::expires_at.eq(now + chrono::Duration::days(1)))
            .execute(conn)
            .unwrap();
        diesel::update(consultations::table.filter(consultations::slug.eq(IRMP)))
            .set(consultations::closes_at.eq(Some(now - chrono::Duration::minutes(1))))
            .execute(conn)
            .unwrap()
    })
    .await;
    let closed = app.browser().get(&path).await;
    assert_eq!(closed.status, 410, "{}", closed.body);
    assert!(closed.body.contains("no longer takes responses"), "{}", closed.body);
    assert!(!closed.header("set-cookie").unwrap_or("").contains("hys_journey"), "nothing restored");

    for unknown in [format!("{}", "ab".repeat(32)), "not-a-token".into(), format!("{}x", "0".repeat(64))] {
        let missing = app.browser().get(&format!("/consultations/{IRMP}/return/{unknown}")).await;
        assert_eq!(missing.status, 404, "{unknown}: {}", missing.body);
    }
    // A real token under another consultation's address is unknown there.
    let token = path.rsplit('/').next().unwrap();
    let elsewhere = app.browser().get(&format!("/consultations/{}/return/{token}", crate::helpers::CLOSED)).await;
    assert_eq!(elsewhere.status, 404);
}

#[tokio::test]
async fn deleting_from_the_link_removes_the_answers_and_the_link_and_counts_nothing() {
    let (sink, app) = app_with_sink(None).await;
    let before = results(&app).await;
    let ann = app.browser();
    save_on_second_page(&ann, AGREE_JOURNEY[1].fields).await;
    let (link, _) = send_link(&app, &sink, &ann, ANN).await;
    assert_eq!((journey_count(&app).await, link_count(&app).await), (1, 1));

    let phone = app.browser();
    let delete = format!("{}/delete", path_of(&app, &link));
    let confirm = phone.get(&delete).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("<h1 class=\"hys-heading-l\">Delete your saved answers</h1>"), "{}", confirm.body);
    assert_eq!(journey_count(&app).await, 1, "a GET deletes nothing");
    let done = phone.post_form(&delete, &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let deleted = phone.get(done.location.as_deref().unwrap()).await;
    assert_eq!(deleted.status, 200);
    assert!(deleted.body.contains("Your saved answers have been deleted"), "{}", deleted.body);
    assert_eq!((journey_count(&app).await, link_count(&app).await), (0, 0));

    assert_eq!(phone.get(path_of(&app, &link)).await.status, 404, "the link is gone");
    assert_eq!(phone.get(&delete).await.status, 404);
    // The browser that saved starts again from nothing.
    let start = ann.get(&format!("/consultations/{IRMP}/respond")).await;
    assert_eq!(start.location.as_deref(), Some(respond(AGREE_JOURNEY[0].page).as_str()));
    assert_eq!(results(&app).await, before);
}

#[tokio::test]
async fn deleting_from_the_restored_journey_before_the_email_has_gone_erases_the_address() {
    // The relay is down, so the message waits in the outbox with the address.
    let sink = SmtpSink::start();
    let url = sink.url();
    sink.stop();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    let ann = app.browser();
    save_on_second_page(&ann, AGREE_JOURNEY[1].fields).await;
    let form = ann.get(&save_path()).await;
    assert_eq!(ann.post_form(&save_path(), &[("_csrf", &form.csrf()), ("email", ANN)]).await.status, 303);
    let waiting = || app.db(|conn| outbox::table.select(outbox::recipient).load::<Option<String>>(conn).unwrap());
    assert_eq!(waiting().await, [Some(ANN.to_string())]);

    let page = ann.get(&respond(AGREE_JOURNEY[1].page)).await;
    let delete = format!("/consultations/{IRMP}/saved/delete");
    // Tera escapes the slashes of a link it is given.
    assert!(page.body.contains(&format!("href=\"{}\"", delete.replace('/', "&#x2F;"))), "{}", page.body);
    let confirm = ann.get(&delete).await;
    assert_eq!(confirm.status, 200);
    let done = ann.post_form(&delete, &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(done.status, 303);
    assert_eq!(waiting().await, [None], "the waiting message is erased");
    assert!(!stored_text(&app).await.contains(ANN));
    assert_eq!((journey_count(&app).await, link_count(&app).await), (0, 0));
}

#[tokio::test]
async fn saving_keeps_what_is_valid_on_the_page_and_opens_it_again_unfinished() {
    let (sink, app) = app_with_sink(None).await;
    let ann = app.browser();
    // "Other" ticked with no details: a problem "Continue" would show; saving keeps the valid rest.
    let fields = [
        ("q.closer_working_benefits", "faster_help"),
        ("q.closer_working_benefits", "other"),
        ("q.collaboration_areas", "joint_training"),
    ];
    let ask = save_on_second_page(&ann, &fields).await;
    assert_eq!(ask.status, 200, "no errors shown on saving: {}", ask.body);
    let (link, _) = send_link(&app, &sink, &ann, ANN).await;
    let phone = app.browser();
    let opened = phone.get(path_of(&app, &link)).await;
    let second = respond(AGREE_JOURNEY[1].page);
    assert_eq!(opened.location.as_deref(), Some(second.as_str()));
    let page = phone.get(&second).await;
    assert!(
        input_tag(&page.body, "q.collaboration_areas", "joint_training").unwrap().contains("checked"),
        "{}",
        page.body
    );
    // The next page is not open yet: the saved page is unfinished.
    let next = phone.get(&respond(AGREE_JOURNEY[2].page)).await;
    assert_eq!(next.location.as_deref(), Some(second.as_str()));
}

#[tokio::test]
async fn a_forged_host_header_does_not_change_the_link() {
    let (sink, app) = app_with_sink(Some("https://consult.example")).await;
    let ann = app.browser();
    save_on_second_page(&ann, AGREE_JOURNEY[1].fields).await;
    let form = ann.get(&save_path()).await;
    let sent = ann
        .client
        .post(ann.url(&save_path()))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={}&email=ann%40example.org", form.csrf()))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 303);
    let message = sink.wait_to(ANN, Duration::from_secs(10)).await.expect("the link arrives");
    assert!(message.link(&return_prefix("https://consult.example")).is_some(), "{}", message.text());
    assert!(!message.raw.contains("evil.example"), "{}", message.raw);
}
