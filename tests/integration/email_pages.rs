//! Every page and state the email features add, set up over real HTTP with the real SMTP sink, as the plan of
//! steps tests/browser/steps-a11y.mjs checks with axe-core (see `browser.rs`): check your answers with its
//! address (and its error), the receipt's confirmation; saving for later, its address form and error, the
//! return link in another browser, expired, unknown and already sent, deleting; confirming an address before
//! answering, its error, the link, used, expired, unknown, already responded; asking to hear of the results,
//! its error, confirming, unsubscribing; forgot password, reset and invitation links with their errors, used
//! and unknown; the admins' invitation form and email page with a refused message.

use crate::helpers::{Browser, TestApp, IRMP, NORTHSHIRE_FIRE};
use crate::journey::AGREE_JOURNEY;
use crate::sink::{Mode, Received, SmtpSink};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::Duration;

const ONCE: &str = "once";
const UNKNOWN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const WAIT: Duration = Duration::from_secs(15);

fn goto(label: &str, path: &str, status: u16) -> Value {
    json!({"label": label, "goto": path, "status": status})
}

fn submit(label: &str, button: &str, fields: Value, status: u16, errors: bool) -> Value {
    json!({"label": label, "submit": {"button": button, "fields": fields}, "status": status, "errors": errors})
}

/// The latest message to `address`, once `count` have arrived.
async fn nth(sink: &SmtpSink, address: &str, count: usize) -> Received {
    let deadline = std::time::Instant::now() + WAIT;
    while sink.to(address).len() < count && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.to(address).pop().unwrap_or_else(|| panic!("no message to {address}"))
}

/// The path of the link in `message` starting with `prefix` at the app's address.
fn link(app: &TestApp, message: &Received, prefix: &str) -> String {
    let full =
        message.link(&format!("{}{prefix}", app.address)).unwrap_or_else(|| panic!("{prefix} in {}", message.text()));
    full.strip_prefix(&app.address).unwrap().to_string()
}

fn irmp(path: &str) -> String {
    format!("/consultations/{IRMP}{path}")
}

/// Answers the demo journey's first `pages` pages.
async fn answer(browser: &Browser, pages: usize) {
    for step in &AGREE_JOURNEY[..pages] {
        let page = irmp(&format!("/respond/{}", step.page));
        let done = browser.submit(&page, &page, step.fields).await;
        assert_eq!(done.status, 303, "{}: {}", step.page, done.body);
    }
}

/// A journey saved for later on the second page, and the path of the return link it was sent.
async fn saved(app: &TestApp, sink: &SmtpSink, address: &str) -> (Browser, String) {
    let browser = app.browser();
    answer(&browser, 1).await;
    let page = irmp(&format!("/respond/{}", AGREE_JOURNEY[1].page));
    let csrf = browser.get(&page).await.csrf();
    let later = browser.post_form(&page, &[("_csrf", &csrf), ("save", "later")]).await;
    assert_eq!(later.status, 303, "{}", later.body);
    let sent = browser.submit(&irmp("/save"), &irmp("/save"), &[("email", address)]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let path = link(app, &nth(sink, address, 1).await, &irmp("/return/"));
    (browser, path)
}

/// A link confirming `address` for the one-response-per-person consultation.
async fn confirmation(app: &TestApp, sink: &SmtpSink, address: &str, count: usize) -> String {
    let respond = format!("/consultations/{ONCE}/respond");
    let asked = app.browser().submit(&respond, &respond, &[("email", address)]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    link(app, &nth(sink, address, count).await, &format!("/consultations/{ONCE}/confirm/"))
}

/// Makes the return link at `path` one that has run out.
async fn expire(app: &TestApp, path: &str) {
    let hash = haveyoursay::auth::secret::digest(path.rsplit('/').next().unwrap());
    let past = haveyoursay::models::now() - chrono::Duration::days(1);
    app.db(move |conn| {
        use haveyoursay::db::schema::return_links;
        diesel::update(return_links::table.find(hash)).set(return_links::expires_at.eq(past)).execute(conn).unwrap()
    })
    .await;
}

/// The plan, in the order the browser follows it. `admin` and `password` sign the browser in for the officers'
/// pages at the end.
pub async fn plan(app: &TestApp, sink: &SmtpSink, admin: &str, password: &str) -> Vec<Value> {
    let mut steps = Vec::new();
    let once_questions = json!({"sections": [{"key": "only", "title": "Bin collections", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Which collection do you prefer?", "required": true,
         "options": [{"key": "weekly", "label": "Every week"}, {"key": "fortnightly", "label": "Every two weeks"}]}]}]});
    let id = app.create_consultation(ONCE, "open", once_questions).await;
    app.db(move |conn| {
        use haveyoursay::db::schema::consultations;
        diesel::update(consultations::table.find(id))
            .set(consultations::one_response_per_person.eq(true))
            .execute(conn)
            .unwrap()
    })
    .await;

    // Check your answers with the address for a receipt.
    let resident = app.browser();
    answer(&resident, AGREE_JOURNEY.len()).await;
    let cookie = resident.cookie_at("hys_journey", &irmp("/respond")).expect("a journey");
    steps.push(json!({"cookie": {"name": "hys_journey", "value": cookie, "path": irmp("")}}));
    steps.push(goto("check your answers with the receipt address", &irmp("/respond/check"), 200));
    steps.push(submit(
        "check your answers: not an address",
        "Submit response",
        json!({"#email": "ann at example"}),
        422,
        true,
    ));
    steps.push(submit(
        "confirmation: a receipt on its way",
        "Submit response",
        json!({"#email": "ann@example.org"}),
        200,
        false,
    ));

    // Save and come back later.
    let (_, restore) = saved(app, sink, "sam@example.org").await;
    steps.push(goto("a return link restores the answers in another browser", &restore, 200));
    steps.push(goto("save your answers: the address form", &irmp("/save"), 200));
    steps.push(submit("save your answers: no address", "Send the link", json!({"#email": ""}), 422, true));
    steps.push(submit(
        "save your answers: check your email",
        "Send the link",
        json!({"#email": "sam@example.org"}),
        200,
        false,
    ));
    steps.push(goto("delete what was saved, from the journey", &irmp("/saved/delete"), 200));
    let (finished, submitted_link) = saved(app, sink, "sue@example.org").await;
    for step in &AGREE_JOURNEY[1..] {
        let page = irmp(&format!("/respond/{}", step.page));
        assert_eq!(finished.submit(&page, &page, step.fields).await.status, 303);
    }
    let check = irmp("/respond/check");
    assert_eq!(finished.submit(&check, &check, &[]).await.status, 303);
    steps.push(goto("a return link once the response is sent", &submitted_link, 200));
    steps.push(goto("an unknown return link", &irmp(&format!("/return/{UNKNOWN}")), 404));
    steps.push(goto("delete what was saved, from the link", &format!("{restore}/delete"), 200));
    steps.push(submit("saved answers deleted", "Delete my saved answers and email address", json!({}), 200, false));
    let (_, expired) = saved(app, sink, "sid@example.org").await;
    expire(app, &expired).await;
    steps.push(goto("an expired return link", &expired, 410));

    // One response per person: confirming an address first.
    let respond = format!("/consultations/{ONCE}/respond");
    steps.push(goto("confirm your email address", &respond, 200));
    steps.push(submit(
        "confirm your email address: not an address",
        "Send the link",
        json!({"#email": "bob@"}),
        422,
        true,
    ));
    steps.push(submit(
        "confirm your email address: check your email",
        "Send the link",
        json!({"#email": "bo@example.org"}),
        200,
        false,
    ));
    let used = confirmation(app, sink, "cy@example.org", 1).await;
    steps.push(goto("the confirmation link", &used, 200));
    steps.push(submit("the questions after confirming", "Continue to the questions", json!({}), 200, false));
    steps.push(goto("a confirmation link used already", &used, 410));
    steps.push(goto("an unknown confirmation link", &format!("/consultations/{ONCE}/confirm/{UNKNOWN}"), 404));
    let eve = app.browser();
    let first = confirmation(app, sink, "eve@example.org", 1).await;
    assert_eq!(eve.submit(&first, &first, &[]).await.status, 303);
    let page = format!("/consultations/{ONCE}/respond/only");
    assert_eq!(eve.submit(&page, &page, &[("q.pick", "weekly")]).await.status, 303);
    let check = format!("/consultations/{ONCE}/respond/check");
    assert_eq!(eve.submit(&check, &check, &[]).await.status, 303);
    let again = confirmation(app, sink, "eve@example.org", 2).await;
    steps.push(goto("a second confirmation of an address that has responded", &again, 200));
    steps.push(submit("already responded", "Continue to the questions", json!({}), 409, false));

    // Notify me when the results are published.
    steps.push(goto("ask to hear of the results", &irmp("/notify"), 200));
    steps.push(submit(
        "ask to hear of the results: no address",
        "Send me a link to confirm",
        json!({"#email": ""}),
        422,
        true,
    ));
    steps.push(submit(
        "ask to hear of the results: check your email",
        "Send me a link to confirm",
        json!({"#email": "nat@example.org"}),
        200,
        false,
    ));
    let asked = app.browser().submit(&irmp(""), &irmp("/notify"), &[("email", "fay@example.org")]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let notify = link(app, &nth(sink, "fay@example.org", 1).await, &irmp("/notify/"));
    steps.push(goto("confirm hearing of the results", &notify, 200));
    steps.push(submit("hearing of the results confirmed", "Confirm", json!({}), 200, false));
    let token = notify.rsplit('/').next().unwrap().to_string();
    steps.push(goto("unsubscribe", &format!("/unsubscribe/{token}"), 200));
    steps.push(submit("unsubscribed", "Unsubscribe", json!({}), 200, false));
    steps.push(goto("an unknown unsubscribe link", &format!("/unsubscribe/{UNKNOWN}"), 404));

    // Officers: forgot password, reset and invitation links.
    app.add_user("lee@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let forgot = "/officer/forgot-password";
    assert_eq!(app.browser().submit(forgot, forgot, &[("email", "lee@example.org")]).await.status, 200);
    steps.push(goto("forgot your password", forgot, 200));
    steps.push(submit("forgot your password: no address", "Send the link", json!({"#email": ""}), 422, true));
    steps.push(submit(
        "forgot your password: check your email",
        "Send the link",
        json!({"#email": "kim@example.org"}),
        200,
        false,
    ));
    let reset = link(app, &nth(sink, "lee@example.org", 1).await, "/officer/reset/");
    steps.push(goto("choose a new password", &reset, 200));
    let mismatched = json!({"#new-password": "a long new passphrase 7", "#confirm-password": "something else"});
    steps.push(submit("choose a new password: they differ", "Set password", mismatched, 422, true));
    steps.push(goto("an unknown reset link", &format!("/officer/reset/{UNKNOWN}"), 404));
    let desk = app.sign_in(admin, password).await;
    let invite = [("name", "Max Officer"), ("email", "max@example.org"), ("role", "officer"), ("organisation", "1")];
    let invited = desk.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &invite).await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    let invitation = link(app, &nth(sink, "max@example.org", 1).await, "/officer/invitation/");
    steps.push(goto("set your password from an invitation", &invitation, 200));
    let chosen = json!({"#new-password": "a long new passphrase 7", "#confirm-password": "a long new passphrase 7"});
    steps.push(submit("password set: sign in", "Set password", chosen, 200, false));
    steps.push(goto("an invitation used already", &invitation, 410));
    sink.set_mode(Mode::Refuse);
    let invite = [("name", "Ray Officer"), ("email", "ray@example.org"), ("role", "officer"), ("organisation", "1")];
    assert_eq!(desk.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &invite).await.status, 303);
    for _ in 0..100 {
        let failed: i64 = app
            .db(|conn| {
                use haveyoursay::db::schema::outbox;
                outbox::table.filter(outbox::failed_at.is_not_null()).count().get_result(conn).unwrap()
            })
            .await;
        if failed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.set_mode(Mode::Accept);
    steps.push(json!({"label": "sign in", "goto": "/officer/sign-in", "check": false}));
    steps.push(json!({"label": "signed in", "submit": {"button": "Sign in", "fields": {"#email": admin, "#password": password}}, "check": false}));
    steps.push(goto("invite a user", "/officer/admin/users/invite", 200));
    steps.push(submit("invite a user: nothing entered", "Send invitation", json!({}), 422, true));
    steps.push(goto("email: a message the relay refused", "/officer/admin/email", 200));
    steps.push(goto("email rules of a consultation", &format!("/officer/consultations/{ONCE}/schedule"), 200));
    steps
}
