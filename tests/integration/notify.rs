//! "Get an email when the results are published" over real HTTP and a real SMTP conversation: a resident asks
//! on the consultation's page, confirms through the emailed link (a page with a button), and gets exactly one
//! email when the results are published, with one-click unsubscribe headers; nobody unconfirmed or
//! unsubscribed is emailed, publishing again emails nobody twice, and a mail program's one-click POST (no
//! cookie, no CSRF token) unsubscribes. The retention rule erases the addresses a consultation holds and keeps
//! every answer.

use crate::helpers::{spawn_app_with, spawn_instances_with, Browser, TestApp};
use crate::sink::{Received, SmtpSink};
use diesel::prelude::*;
use haveyoursay::db::schema::{consultations, outbox, respondents, results_snapshots, return_links, subscriptions};
use haveyoursay::models::now;
use serde_json::json;
use std::time::Duration;

const SLUG: &str = "notify-me";
const WAIT: Duration = Duration::from_secs(10);

fn questionnaire() -> serde_json::Value {
    json!({"sections": [{"key": "only", "title": "Questions", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Pick one", "required": true, "options": [
            {"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
        {"key": "tell", "kind": "short_text", "prompt": "Tell us", "required": false}
    ]}]})
}

/// An app mailing the sink, with an open consultation and an officer who may publish its results.
async fn app_with_sink() -> (TestApp, SmtpSink, String) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| s.email.smtp_url = url).await;
    app.create_consultation(SLUG, "open", questionnaire()).await;
    app.add_user("officer@example.org", "officer", Some("Test Council")).await;
    let token = app.token_for("officer@example.org").await;
    (app, sink, token)
}

/// Asks on the consultation's page to be emailed about `address`; the answer is the "Check your email" page.
async fn ask(browser: &Browser, address: &str) {
    let page = format!("/consultations/{SLUG}");
    let asked = browser.submit(&page, &format!("{page}/notify"), &[("email", address)]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let sent = browser.get(asked.location.as_deref().unwrap()).await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("Check your email"), "{}", sent.body);
}

/// The confirmation link (its path) the latest email to `address` carries, once `count` have arrived.
async fn confirmation_link(sink: &SmtpSink, address: &str, count: usize) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.to(address).len() < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = sink.to(address).pop().expect("a confirmation email");
    assert!(mail.header("Subject").unwrap().starts_with("Confirm you want an email"), "{}", mail.raw);
    assert!(mail.header("List-Unsubscribe").is_none(), "a confirmation is no mailing");
    mail.link(&format!("/consultations/{SLUG}/notify/")).expect("a confirmation link")
}

/// Opens the confirmation link (which changes nothing by itself) and selects "Confirm".
async fn confirm(browser: &Browser, link: &str) {
    let opened = browser.get(link).await;
    assert_eq!(opened.status, 200);
    assert!(opened.body.contains(">Confirm</button>"), "a GET only shows the button: {}", opened.body);
    let confirmed = browser.submit(link, link, &[]).await;
    assert_eq!(confirmed.status, 303);
    let shown = browser.get(confirmed.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("You will get an email when the results are published"), "{}", shown.body);
}

async fn close(app: &TestApp) {
    let id = app.consultation_id(SLUG).await;
    let at = now() - chrono::Duration::hours(1);
    app.db(move |conn| {
        diesel::update(consultations::table.find(id)).set(consultations::closes_at.eq(Some(at))).execute(conn).unwrap()
    })
    .await;
}

async fn publish(app: &TestApp, token: &str) {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{SLUG}/results/publish")))
        .bearer_auth(token)
        .json(&json!({"outcome": "We decided to do **this**."}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

fn results_emails(sink: &SmtpSink, address: &str) -> Vec<Received> {
    sink.to(address)
        .into_iter()
        .filter(|m| m.header("Subject").is_some_and(|s| s.starts_with("Results published")))
        .collect()
}

/// Waits for every outbox message to be sent (or erased), then a little longer for any second copy.
async fn settle(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let waiting = app.db(|conn| haveyoursay::models::outbox::waiting_count(conn).unwrap()).await;
        if waiting == 0 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn a_confirmed_subscriber_gets_one_results_email_and_unsubscribes_in_one_click() {
    let (app, sink, token) = app_with_sink().await;
    let ann = app.browser();
    ask(&ann, "Ann@Example.org").await;
    let link = confirmation_link(&sink, "ann@example.org", 1).await;
    confirm(&ann, &link).await;
    // Confirming again is said kindly, and changes nothing.
    let csrf = ann.get(&format!("/consultations/{SLUG}")).await.csrf();
    let again = ann.post_form(&link, &[("_csrf", &csrf)]).await;
    assert_eq!(again.status, 303);
    assert!(ann.get(&link).await.body.contains("Your email address is confirmed"));
    // Bob asks and never confirms.
    ask(&app.browser(), "bob@example.org").await;
    confirmation_link(&sink, "bob@example.org", 1).await;

    close(&app).await;
    publish(&app, &token).await;
    let results = sink.wait_to("ann@example.org", WAIT).await;
    assert!(results.is_some());
    settle(&app).await;
    let to_ann = results_emails(&sink, "ann@example.org");
    assert_eq!(to_ann.len(), 1, "exactly one results email");
    let mail = &to_ann[0];
    assert!(mail.text().contains(&format!("{}/consultations/{SLUG}", app.address)), "{}", mail.text());
    assert!(mail.text().contains("Test consultation notify-me"), "{}", mail.text());
    let unsubscribe = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let unsubscribe = unsubscribe.trim_start_matches('<').trim_end_matches('>').to_string();
    assert!(unsubscribe.starts_with(&format!("{}/unsubscribe/", app.address)), "{unsubscribe}");
    assert!(results_emails(&sink, "bob@example.org").is_empty(), "unconfirmed: nothing");

    // Publishing again tells nobody twice.
    publish(&app, &token).await;
    settle(&app).await;
    assert_eq!(results_emails(&sink, "ann@example.org").len(), 1);
    assert!(results_emails(&sink, "bob@example.org").is_empty());

    // The mail program's one-click POST: no cookie, no CSRF token.
    let path = unsubscribe.strip_prefix(&app.address).unwrap();
    let opened = app.get(path).await;
    assert_eq!(opened.status, 200);
    assert!(opened.body.contains(">Unsubscribe</button>"), "{}", opened.body);
    // Sent as a webmail page in a browser sends it: from another site.
    let done = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Origin", "https://mail.example")
        .header("Sec-Fetch-Site", "cross-site")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    let done = crate::helpers::page(done).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You have unsubscribed"));
    assert!(app.get(path).await.body.contains("You have unsubscribed"));
    let id = app.consultation_id(SLUG).await;
    let held = app
        .db(move |conn| {
            subscriptions::table
                .filter(subscriptions::consultation_id.eq(id))
                .filter(subscriptions::email.is_not_null())
                .select(subscriptions::email)
                .load::<Option<String>>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(held, vec![Some("bob@example.org".to_string())], "only the unconfirmed address is still held");
    // Unknown links: a clear 404 page.
    for unknown in [format!("/unsubscribe/{}", "ab".repeat(32)), "/unsubscribe/not-a-token".into()] {
        assert_eq!(app.get(&unknown).await.status, 404, "{unknown}");
        assert_eq!(app.post_raw_form(&unknown, b"List-Unsubscribe=One-Click".to_vec()).await.status, 404);
    }
    let unknown = format!("/consultations/{SLUG}/notify/{}", "cd".repeat(32));
    assert_eq!(app.get(&unknown).await.status, 404);
    // Once the results are out, the page offers no form, and the form's address leads back to the page.
    assert!(!app.get(&format!("/consultations/{SLUG}")).await.body.contains("/notify\""));
    assert_eq!(app.get(&format!("/consultations/{SLUG}/notify")).await.status, 303);
}

#[tokio::test]
async fn someone_who_unsubscribes_before_publication_gets_nothing_and_asking_again_sends_a_new_link() {
    let (app, sink, token) = app_with_sink().await;
    let cat = app.browser();
    ask(&cat, "cat@example.org").await;
    let first = confirmation_link(&sink, "cat@example.org", 1).await;
    // Asking again (as anyone might, for any address) is answered the same and sends a new link; the old one
    // stops working, and still one subscription is kept.
    ask(&app.browser(), "cat@example.org").await;
    let second = confirmation_link(&sink, "cat@example.org", 2).await;
    assert_ne!(first, second);
    assert_eq!(cat.get(&first).await.status, 404);
    confirm(&cat, &second).await;
    let confirmed = cat.get(&second).await;
    let unsubscribe = confirmed.body.split("href=\"/unsubscribe/").nth(1).unwrap().split('"').next().unwrap();
    let done = cat.post_form(&format!("/unsubscribe/{unsubscribe}"), &[]).await;
    assert_eq!(done.status, 200);
    assert!(cat.get(&second).await.body.contains("You have unsubscribed"));

    close(&app).await;
    publish(&app, &token).await;
    settle(&app).await;
    assert!(results_emails(&sink, "cat@example.org").is_empty(), "unsubscribed: nothing");
    let id = app.consultation_id(SLUG).await;
    let rows = app
        .db(move |conn| {
            subscriptions::table.filter(subscriptions::consultation_id.eq(id)).count().get_result::<i64>(conn).unwrap()
        })
        .await;
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_blank_or_invalid_address_shows_the_error_on_its_own_page_and_stores_nothing() {
    let (app, sink, _) = app_with_sink().await;
    let browser = app.browser();
    let page = format!("/consultations/{SLUG}/notify");
    let form = browser.get(&page).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.body.matches("<h1").count(), 1);
    for (typed, message) in [
        ("", "Enter your email address"),
        ("   ", "Enter your email address"),
        ("not an address", "Enter an email address in the correct format"),
        ("ann@", "Enter an email address in the correct format"),
        ("<script>alert(1)</script>@example.org", "Enter an email address in the correct format"),
    ] {
        let shown = browser.submit(&page, &page, &[("email", typed)]).await;
        assert_eq!(shown.status, 422, "{typed:?}");
        assert!(shown.body.contains("<title>Error: "), "{typed:?}");
        assert!(shown.body.contains("There is a problem"));
        assert!(shown.body.contains("href=\"#email\""));
        assert!(shown.body.contains(message), "{typed:?}: {}", shown.body);
        assert!(!shown.body.contains("<script>alert"), "escaped");
    }
    // Without the form's token: refused, nothing stored.
    assert_eq!(app.post_form(&page, &[("email", "dan@example.org")]).await.status, 403);
    let stored = app.db(|conn| subscriptions::table.count().get_result::<i64>(conn).unwrap()).await;
    let queued = app.db(|conn| outbox::table.count().get_result::<i64>(conn).unwrap()).await;
    assert_eq!((stored, queued), (0, 0));
    assert!(sink.messages().is_empty());
    // Offered on an open or closed consultation's page, not before it opens.
    app.create_consultation("closed-one", "closed", questionnaire()).await;
    app.create_consultation("later-one", "scheduled", questionnaire()).await;
    assert!(app.get("/consultations/closed-one").await.body.contains("action=\"/consultations/closed-one/notify\""));
    assert!(!app.get("/consultations/later-one").await.body.contains("/notify\""));
    assert_eq!(app.get("/consultations/later-one/notify").await.status, 303);
    // A consultation not found, or with the link's token mistyped: 404.
    assert_eq!(app.get("/consultations/no-such/notify").await.status, 404);
    assert_eq!(app.get(&format!("/consultations/{SLUG}/notify/xyz")).await.status, 404);
}

#[tokio::test]
async fn the_retention_rule_erases_addresses_and_keeps_every_answer() {
    let (app, sink, token) = app_with_sink().await;
    for i in 0..12 {
        let answers = json!({"answers": {"pick": if i < 8 { "a" } else { "b" }, "tell": format!("Answer {i}")}});
        assert_eq!(app.post_response(SLUG, &format!("k-{i}"), &answers).await.status(), 201);
    }
    let eve = app.browser();
    ask(&eve, "eve@example.org").await;
    let link = confirmation_link(&sink, "eve@example.org", 1).await;
    confirm(&eve, &link).await;
    ask(&app.browser(), "fay@example.org").await;
    confirmation_link(&sink, "fay@example.org", 1).await;
    close(&app).await;
    publish(&app, &token).await;
    settle(&app).await;
    let id = app.consultation_id(SLUG).await;
    // What other features keep: a save-and-return link, a confirmed respondent, and a message still waiting
    // (the relay is stopped so it stays waiting).
    sink.stop();
    app.db(move |conn| {
        let at = now();
        diesel::insert_into(return_links::table)
            .values((
                return_links::token_hash.eq("r".repeat(64)),
                return_links::consultation_id.eq(id),
                return_links::journey_token.eq("j"),
                return_links::created_at.eq(at),
                return_links::expires_at.eq(at),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(respondents::table)
            .values((
                respondents::token_hash.eq("p".repeat(64)),
                respondents::consultation_id.eq(id),
                respondents::email_hash.eq("h".repeat(64)),
                respondents::created_at.eq(at),
                respondents::expires_at.eq(at),
            ))
            .execute(conn)
            .unwrap();
        let message = haveyoursay::models::outbox::NewMessage {
            consultation_id: Some(id),
            kind: "receipt",
            dedup_key: "test-receipt",
            recipient: "gus@example.org",
            payload: json!({"reference": "HYS-TEST"}),
        };
        // Due next week, so the worker leaves it waiting.
        haveyoursay::models::outbox::enqueue(conn, &message, at + chrono::Duration::days(7)).unwrap();
    })
    .await;
    let before = (app.stored_responses(SLUG).await, app.stored_answers(SLUG).await, snapshots(&app, id).await);
    let results_before = app.get_json(&format!("/api/v1/consultations/{SLUG}/results/published")).await;

    // Within the retention period (90 days by default): nothing erased.
    let erase = |at| app.db(move |conn| haveyoursay::email::retention::erase_expired(conn, at).unwrap());
    assert!(erase(now()).await.is_empty());
    assert_eq!(held(&app, id).await, (1, 1, 1, 1));
    // Closed longer ago than its retention period.
    let at = now() - chrono::Duration::days(10);
    app.db(move |conn| {
        diesel::update(consultations::table.find(id))
            .set((
                consultations::opens_at.eq(Some(at - chrono::Duration::days(30))),
                consultations::closes_at.eq(Some(at)),
                consultations::retention_days.eq(7),
            ))
            .execute(conn)
            .unwrap()
    })
    .await;
    let erased = erase(now()).await;
    assert_eq!(
        (erased.consultations, erased.addresses, erased.messages, erased.links, erased.respondents),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(held(&app, id).await, (0, 0, 0, 0));
    // Idempotent: a second run (another instance's, say) finds nothing.
    assert!(erase(now()).await.is_empty());
    let after = (app.stored_responses(SLUG).await, app.stored_answers(SLUG).await, snapshots(&app, id).await);
    assert_eq!(before, after, "responses, answers and published results unchanged");
    assert_eq!(before.0, 12);
    assert_eq!(app.get_json(&format!("/api/v1/consultations/{SLUG}/results/published")).await, results_before);
}

async fn snapshots(app: &TestApp, id: i64) -> i64 {
    app.db(move |conn| {
        results_snapshots::table.filter(results_snapshots::consultation_id.eq(id)).count().get_result(conn).unwrap()
    })
    .await
}

/// What the consultation still holds: addresses of subscriptions, addresses in waiting messages, return
/// links, respondents.
async fn held(app: &TestApp, id: i64) -> (i64, i64, i64, i64) {
    app.db(move |conn| {
        let addresses = subscriptions::table
            .filter(subscriptions::consultation_id.eq(id))
            .filter(subscriptions::email.is_not_null())
            .count()
            .get_result(conn)
            .unwrap();
        let messages = outbox::table
            .filter(outbox::consultation_id.eq(id))
            .filter(outbox::recipient.is_not_null())
            .count()
            .get_result(conn)
            .unwrap();
        let links = return_links::table.filter(return_links::consultation_id.eq(id)).count().get_result(conn).unwrap();
        let people = respondents::table.filter(respondents::consultation_id.eq(id)).count().get_result(conn).unwrap();
        (addresses, messages, links, people)
    })
    .await
}

#[tokio::test]
async fn the_emailed_links_are_built_from_the_configured_address_whatever_host_the_request_names() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = url;
        s.email.base_url = "https://consult.example".into();
    })
    .await;
    app.create_consultation(SLUG, "open", questionnaire()).await;
    let page = format!("/consultations/{SLUG}/notify");
    let form = app.client.get(app.url(&page)).header("Host", "evil.example").send().await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = crate::helpers::page(form).await.csrf();
    let asked = app
        .client
        .post(app.url(&page))
        .header("Host", "evil.example")
        .header("Cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&email=hal%40example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    let mail = sink.wait_to("hal@example.org", WAIT).await.expect("a confirmation email");
    assert!(mail.link(&format!("https://consult.example/consultations/{SLUG}/notify/")).is_some(), "{}", mail.text());
    assert!(!mail.text().contains("evil.example"));
}

#[tokio::test]
async fn two_instances_publishing_at_once_on_postgresql_email_each_subscriber_once() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let Some(apps) = spawn_instances_with(2, |s| s.email.smtp_url = url).await else {
        return; // one instance by design on SQLite
    };
    apps[0].create_consultation(SLUG, "open", questionnaire()).await;
    apps[0].add_user("officer@example.org", "officer", Some("Test Council")).await;
    let token = apps[0].token_for("officer@example.org").await;
    let people: Vec<String> = (0..6).map(|n| format!("p{n}@example.org")).collect();
    for (n, address) in people.iter().enumerate() {
        let app = &apps[n % 2];
        let browser = app.browser();
        ask(&browser, address).await;
        let link = confirmation_link(&sink, address, 1).await;
        confirm(&browser, &link).await;
    }
    close(&apps[0]).await;
    let (first, second) = tokio::join!(try_publish(&apps[0], &token), try_publish(&apps[1], &token));
    assert!(first || second, "at least one publication is made");
    for address in &people {
        assert!(sink.wait_to(address, WAIT).await.is_some());
    }
    settle(&apps[0]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for address in &people {
        assert_eq!(results_emails(&sink, address).len(), 1, "{address}: one results email");
    }
}

/// Publishes the results; whether a publication was made.
async fn try_publish(app: &TestApp, token: &str) -> bool {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{SLUG}/results/publish")))
        .bearer_auth(token)
        .json(&json!({"outcome": "We decided."}))
        .send()
        .await
        .unwrap();
    r.status().is_success()
}
