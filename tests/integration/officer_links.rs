//! Officers' links sent by email, over real HTTP and a real SMTP conversation (`sink`): an admin's invitation
//! sets a first password once; "forgot password" answers alike for known and unknown accounts and mails only
//! the known; a reset sets a new password once and ends every session; used, replaced, expired and unknown
//! links get a clear page; every link is built from the configured public address whatever the Host header
//! says; each step is audited; and admins see refused messages and resend them.

use crate::helpers::{spawn_app_with, Browser, Page, TestApp, NORTHSHIRE_FIRE};
use crate::sink::{Mode, Received, SmtpSink};
use diesel::prelude::*;
use haveyoursay::db::schema::{account_links, audit_log, users};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const NEW_PASSWORD: &str = "kestrel harbour lantern 42";

async fn with_sink() -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = url;
        // Requests come "from" other addresses through a trusted-proxy header, so that limits fall on them.
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    (sink, app)
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    app.db(|conn| {
        audit_log::table
            .order(audit_log::id)
            .select((audit_log::action, audit_log::object_id, audit_log::detail))
            .load(conn)
            .unwrap()
    })
    .await
}

/// The `n`th message (from 0) to arrive for `email`.
async fn nth_to(sink: &SmtpSink, email: &str, n: usize) -> Received {
    for _ in 0..100 {
        if let Some(m) = sink.to(email).get(n) {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message {n} for {email} has not arrived")
}

/// The admin invites `email` to be an officer of the fire service, and the mail it gets.
async fn invite(sink: &SmtpSink, admin: &Browser, email: &str) -> Received {
    let before = sink.to(email).len();
    let fields = [("name", "Nia Officer"), ("email", email), ("role", "officer"), ("organisation", "1")];
    let done = admin.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &fields).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/officer/admin/users?done=invited"));
    nth_to(sink, email, before).await
}

/// The path of the link in `message` that starts with `prefix` at the app's own address.
fn link_path(app: &TestApp, message: &Received, prefix: &str) -> String {
    let link = message.link(&format!("{}{prefix}", app.address)).expect("the message holds the link");
    link.strip_prefix(&app.address).unwrap().to_string()
}

/// Sets a password through the link at `path` from a browser that is not signed in (its CSRF token from
/// another page, since a used link's page has no form).
async fn set_password(app: &TestApp, path: &str, password: &str, confirm: &str) -> Page {
    let browser = app.browser();
    let csrf = browser.get("/officer/forgot-password").await.csrf();
    browser.post_form(path, &[("_csrf", &csrf), ("new-password", password), ("confirm-password", confirm)]).await
}

async fn expire_links(app: &TestApp) {
    let past = haveyoursay::models::now() - chrono::Duration::minutes(1);
    app.db(move |conn| {
        diesel::update(account_links::table).set(account_links::expires_at.eq(past)).execute(conn).unwrap()
    })
    .await;
}

async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> u16 {
    let fields = [("email", email), ("password", password)];
    app.browser().submit("/officer/sign-in", "/officer/sign-in", &fields).await.status
}

/// An admin with the fire service in the organisation list (as organisation 1).
async fn admin(app: &TestApp) -> Browser {
    app.add_user("first@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    app.signed_in("admin@example.org", "admin", None).await
}

#[tokio::test]
async fn an_invited_officer_sets_a_password_once_from_the_email_and_signs_in() {
    let (sink, app) = with_sink().await;
    let admin = admin(&app).await;
    let form = admin.get("/officer/admin/users/invite").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<h1 class=\"hys-heading-l\">Invite a user</h1>"), "{}", form.body);
    // Bad input: the error summary, nothing made.
    let bad = admin.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &[("email", "nope")]).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("There is a problem") && bad.body.contains("<title>Error: Invite a user"),
        "{}",
        bad.body
    );

    let mail = invite(&sink, &admin, "nia@example.org").await;
    assert_eq!(mail.header("Subject").as_deref(), Some("You have been invited to Have Your Say"));
    let text = mail.text();
    assert!(text.contains("Officer for Northshire Fire and Rescue Service"), "{text}");
    // No password yet: nobody signs in to the account, whatever they type.
    let hash: Option<String> = app
        .db(|conn| {
            users::table.filter(users::email.eq("nia@example.org")).select(users::password_hash).first(conn).unwrap()
        })
        .await;
    assert!(hash.is_none());
    assert_eq!(sign_in_status(&app, "nia@example.org", "").await, 422);
    assert_eq!(sign_in_status(&app, "nia@example.org", NEW_PASSWORD).await, 422);

    let path = link_path(&app, &mail, "/officer/invitation/");
    let page = app.browser().get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Set your password"), "{}", page.body);
    let mismatched = set_password(&app, &path, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(mismatched.status, 422);
    assert!(mismatched.body.contains("Passwords must match") && mismatched.body.contains("href=\"#confirm-password\""));
    let weak = set_password(&app, &path, "short", "short").await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("href=\"#new-password\""), "{}", weak.body);

    let done = set_password(&app, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/officer/sign-in?password_set=1"));
    assert!(app.browser().get("/officer/sign-in?password_set=1").await.body.contains("Your password has been set"));
    assert_eq!(sign_in_status(&app, "nia@example.org", NEW_PASSWORD).await, 303);

    // Single use: the link again is refused, shown or sent.
    let again = app.browser().get(&path).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("This link has already been used"), "{}", again.body);
    assert_eq!(set_password(&app, &path, "another long passphrase 7", "another long passphrase 7").await.status, 410);
    assert_eq!(sign_in_status(&app, "nia@example.org", NEW_PASSWORD).await, 303, "the password is unchanged");

    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _, _)| a).collect();
    assert!(actions.contains(&"user.invite".to_string()), "{actions:?}");
    assert!(actions.contains(&"user.invitation_accept".to_string()), "{actions:?}");
    // Only a digest of the token is stored.
    let token = path.rsplit('/').next().unwrap().to_string();
    let stored: Vec<String> =
        app.db(|conn| account_links::table.select(account_links::token_hash).load(conn).unwrap()).await;
    assert!(!stored.contains(&token) && stored.contains(&haveyoursay::auth::secret::digest(&token)));
}

#[tokio::test]
async fn expired_replaced_and_unknown_invitations_are_refused() {
    let (sink, app) = with_sink().await;
    let admin = admin(&app).await;
    let first = link_path(&app, &invite(&sink, &admin, "nia@example.org").await, "/officer/invitation/");
    // Inviting again sends a fresh link; the first stops working.
    let second = link_path(&app, &invite(&sink, &admin, "nia@example.org").await, "/officer/invitation/");
    assert_ne!(first, second);
    assert_eq!(app.browser().get(&first).await.status, 410);
    assert_eq!(app.browser().get(&second).await.status, 200);
    expire_links(&app).await;
    let expired = app.browser().get(&second).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("This link has expired"), "{}", expired.body);
    assert_eq!(set_password(&app, &second, NEW_PASSWORD, NEW_PASSWORD).await.status, 410);
    // From the user's page, a new invitation whose link works.
    let id = app.user_id("nia@example.org").await;
    let user_page = format!("/officer/admin/users/{id}");
    assert!(admin.get(&user_page).await.body.contains("Send a new invitation"));
    let before = sink.to("nia@example.org").len();
    let sent = admin.submit(&user_page, &format!("{user_page}/invite"), &[]).await;
    assert_eq!(sent.status, 303);
    assert_eq!(sent.location.as_deref(), Some(format!("{user_page}?done=invited").as_str()));
    let third = link_path(&app, &nth_to(&sink, "nia@example.org", before).await, "/officer/invitation/");
    assert_eq!(set_password(&app, &third, NEW_PASSWORD, NEW_PASSWORD).await.status, 303);
    // Chosen: no invitation to send any more.
    let none = admin.submit(&user_page, &format!("{user_page}/invite"), &[]).await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("there is no invitation to send"), "{}", none.body);
    for unknown in [format!("/officer/invitation/{}", "ab".repeat(32)), "/officer/invitation/not-a-token".into()] {
        let page = app.browser().get(&unknown).await;
        assert_eq!(page.status, 404, "{unknown}");
        assert!(page.body.contains("This link is not valid"), "{}", page.body);
    }
    // An account that has set its password is not invited again.
    app.add_user("set@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let fields = [("name", "Set"), ("email", "set@example.org"), ("role", "officer"), ("organisation", "1")];
    let taken = admin.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &fields).await;
    assert_eq!(taken.status, 422);
    assert!(taken.body.contains("already exists"), "{}", taken.body);
}

#[tokio::test]
async fn links_are_built_from_the_configured_address_whatever_the_host_header_says() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = url;
        s.email.base_url = "https://consult.example".into();
    })
    .await;
    let admin = admin(&app).await;
    let csrf = admin.get("/officer/admin/users/invite").await.csrf();
    let body = format!("_csrf={csrf}&name=Nia&email=nia%40example.org&role=officer&organisation=1");
    let sent = admin
        .client
        .post(admin.url("/officer/admin/users/invite"))
        .header("Host", "evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let visitor = app.browser();
    let csrf = visitor.get("/officer/forgot-password").await.csrf();
    let asked = visitor
        .client
        .post(visitor.url("/officer/forgot-password"))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&email=admin%40example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    for (to, path) in [("nia@example.org", "/officer/invitation/"), ("admin@example.org", "/officer/reset/")] {
        let mail = sink.wait_to(to, WAIT).await.expect("the message arrives");
        let link = mail.link("https://").expect("a link");
        assert!(link.starts_with(&format!("https://consult.example{path}")), "{link}");
        assert!(!mail.raw.contains("evil.example"), "{}", mail.raw);
    }
}

/// Asks for a reset of `email` from a browser at `address`, and how long the answer took.
async fn ask(app: &TestApp, email: &str, address: &str) -> (Page, Duration) {
    let browser = app.browser_from(Some(address));
    let csrf = browser.get("/officer/forgot-password").await.csrf();
    let started = Instant::now();
    let page = browser.post_form("/officer/forgot-password", &[("_csrf", &csrf), ("email", email)]).await;
    (page, started.elapsed())
}

#[tokio::test]
async fn forgot_password_answers_alike_and_in_comparable_time_and_mails_only_a_known_account() {
    let (sink, app) = with_sink().await;
    app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let sign_in = app.browser().get("/officer/sign-in").await;
    assert!(sign_in.body.contains("href=\"/officer/forgot-password\">Forgot your password?</a>"), "{}", sign_in.body);
    // Taken in turns, each from a new address, so that whatever else the machine does slows both alike and no
    // limit cuts one short.
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for n in 0..8 {
        let (u, took_u) = ask(&app, "nobody@example.org", &format!("198.51.100.{n}")).await;
        let (k, took_k) = ask(&app, "jo@example.org", &format!("198.51.101.{n}")).await;
        assert_eq!((u.status, k.status), (200, 200));
        assert_eq!(u.body, k.body, "the same page whether or not the account exists");
        assert!(k.body.contains("If an account exists for that address, we have sent a link"), "{}", k.body);
        unknown.push(took_u);
        known.push(took_k);
    }
    // The quickest of each: what the work itself costs, as in the sign-in timing test.
    let (unknown, known) = (unknown.into_iter().min().unwrap(), known.into_iter().min().unwrap());
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((1.0 / 3.0..=3.0).contains(&ratio), "unknown {unknown:?} against known {known:?}");

    sink.wait_for(8, WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.to("jo@example.org").len(), 8);
    assert!(sink.to("nobody@example.org").is_empty());
    assert_eq!(sink.messages().len(), 8);

    // Both audited; the unknown one without the address that was typed.
    let requests: Vec<(String, String, String)> =
        audit_actions(&app).await.into_iter().filter(|(a, _, _)| a == "user.password_reset_request").collect();
    assert_eq!(requests.len(), 16);
    let logged: String = app
        .db(|conn| audit_log::table.select(audit_log::actor.concat(audit_log::detail)).load::<String>(conn).unwrap())
        .await
        .concat();
    assert!(!logged.contains("nobody@example.org"), "{logged}");
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_and_account_alike_for_unknown_accounts() {
    let (_sink, app) = with_sink().await;
    let password = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    for email in ["jo@example.org", "nobody@example.org"] {
        for n in 1..=5 {
            assert_eq!(ask(&app, email, "203.0.113.5").await.0.status, 200, "request {n} for {email}");
        }
        let (blocked, _) = ask(&app, email, "203.0.113.5").await;
        assert_eq!(blocked.status, 429, "{email}");
        assert!(blocked.header("retry-after").is_some());
    }
    // Resets are counted apart from sign-ins: the officer still signs in from that address.
    let browser = app.browser_from(Some("203.0.113.5"));
    let fields = [("email", "jo@example.org"), ("password", password.as_str())];
    assert_eq!(browser.submit("/officer/sign-in", "/officer/sign-in", &fields).await.status, 303);
    let (page, _) = ask(&app, "", "203.0.113.6").await;
    assert_eq!(page.status, 422, "an empty address is asked for again");
    assert!(page.body.contains("There is a problem") && page.body.contains("<title>Error: Reset your password"));
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let (sink, app) = with_sink().await;
    let old = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let desk = app.sign_in("jo@example.org", &old).await;
    let laptop = app.sign_in("jo@example.org", &old).await;
    assert_eq!(desk.get("/officer").await.status, 200);

    let (page, _) = ask(&app, "jo@example.org", "192.0.2.1").await;
    assert_eq!(page.status, 200);
    let mail = sink.wait_to("jo@example.org", WAIT).await.expect("the reset arrives");
    assert_eq!(mail.header("Subject").as_deref(), Some("Reset your password for Have Your Say"));
    let first = link_path(&app, &mail, "/officer/reset/");
    // A second request: both links work until one is used, then neither.
    ask(&app, "jo@example.org", "192.0.2.1").await;
    let second = link_path(&app, &nth_to(&sink, "jo@example.org", 1).await, "/officer/reset/");
    let shown = app.browser().get(&second).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Choose a new password"), "{}", shown.body);
    let done = set_password(&app, &second, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);

    // Every session ended; the new password works and the old does not.
    for browser in [&desk, &laptop] {
        assert_eq!(browser.get("/officer").await.status, 303, "signed out");
    }
    assert_eq!(sign_in_status(&app, "jo@example.org", &old).await, 422);
    assert_eq!(sign_in_status(&app, "jo@example.org", NEW_PASSWORD).await, 303);
    for used in [&first, &second] {
        let page = app.browser().get(used).await;
        assert_eq!(page.status, 410, "{used}");
        assert!(page.body.contains("already been used"), "{}", page.body);
    }
    assert_eq!(set_password(&app, &first, "a different passphrase 9", "a different passphrase 9").await.status, 410);

    // An expired one.
    ask(&app, "jo@example.org", "192.0.2.2").await;
    expire_links(&app).await;
    let third = link_path(&app, &nth_to(&sink, "jo@example.org", 2).await, "/officer/reset/");
    let expired = app.browser().get(&third).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("This link has expired"), "{}", expired.body);
    assert_eq!(app.browser().get(&format!("/officer/reset/{}", "cd".repeat(32))).await.status, 404);

    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(actions.iter().filter(|a| *a == "user.password_reset_request").count(), 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "user.password_reset").count(), 1, "{actions:?}");
}

#[tokio::test]
async fn admins_see_refused_messages_without_their_addresses_and_resend_them() {
    let (sink, app) = with_sink().await;
    let admin = admin(&app).await;
    let officer = app.signed_in("officer@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    assert_eq!(officer.get("/officer/admin/email").await.status, 403);
    sink.set_mode(Mode::Refuse);
    let fields = [("name", "Nia Officer"), ("email", "nia@example.org"), ("role", "officer"), ("organisation", "1")];
    admin.submit("/officer/admin/users/invite", "/officer/admin/users/invite", &fields).await;
    let mut page = admin.get("/officer/admin/email").await;
    for _ in 0..100 {
        if page.body.contains("Invitation to an officer") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = admin.get("/officer/admin/email").await;
    }
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Invitation to an officer"), "{}", page.body);
    assert!(page.body.contains("n•••@example.org"), "{}", page.body);
    assert!(!page.body.contains("nia@example.org"), "no full address");
    assert!(page.body.contains("550"), "the relay's answer: {}", page.body);
    assert!(page.body.contains("0 messages are waiting"), "{}", page.body);
    let action = page.body.split("action=\"").find(|s| s.starts_with("/officer/admin/email/")).unwrap();
    let action = action.split('"').next().unwrap().to_string();
    // Only admins resend.
    let csrf = officer.get("/officer/account").await.csrf();
    assert_eq!(officer.post_form(&action, &[("_csrf", &csrf)]).await.status, 403);

    sink.set_mode(Mode::Accept);
    let resent = admin.post_form(&action, &[("_csrf", &page.csrf())]).await;
    assert_eq!(resent.status, 303);
    let mail = sink.wait_to("nia@example.org", WAIT).await.expect("the resent invitation arrives");
    assert!(mail.link(&format!("{}/officer/invitation/", app.address)).is_some());
    assert!(admin.get("/officer/admin/email").await.body.contains("None."));
    // Resent once: the button again finds nothing to resend.
    assert_eq!(admin.post_form(&action, &[("_csrf", &page.csrf())]).await.status, 404);
    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(actions.iter().filter(|a| *a == "email.resend").count(), 1, "{actions:?}");
}
