//! Officers' accounts and sessions over real HTTP: signing in and out, session fixation and replay, revocation
//! on the next request, timeouts, the sign-in throttle, CSRF on every form, password policy, API tokens (made in
//! the browser and on the command line), the definition endpoint's 401/403/404/200, and the audit log.

use crate::helpers::{spawn_app, spawn_app_with, Browser, TestApp, IRMP, NORTHSHIRE_FIRE};
use diesel::prelude::*;
use haveyoursay::db::schema::{audit_log, sessions, sign_in_throttle};
use std::time::{Duration, Instant};

const WRONG: &str = "Enter a correct email address and password";
const DEFINITION: &str = "/api/v1/consultations/irmp-2027/definition";

fn session_cookie(browser: &Browser) -> Option<String> {
    browser.cookie("hys_session")
}

/// Whether a browser is signed in: the officers' home answers 200 rather than sending it to sign in.
async fn signed_in(browser: &Browser) -> bool {
    let home = browser.get("/officer").await;
    match home.status {
        200 => true,
        303 => {
            assert!(home.location.as_deref().unwrap_or("").starts_with("/officer/sign-in"), "{:?}", home.location);
            false
        }
        other => panic!("/officer answered {other}"),
    }
}

async fn try_sign_in(browser: &Browser, email: &str, password: &str) -> crate::helpers::Page {
    browser.submit("/officer/sign-in", "/officer/sign-in", &[("email", email), ("password", password)]).await
}

/// The app trusting 127.0.0.1 as a proxy, so that tests can sign in "from" any address.
async fn behind_a_proxy() -> TestApp {
    spawn_app_with(|s| s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await
}

async fn bearer(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("Authorization", format!("Bearer {token}")).send().await.unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.db(|conn| audit_log::table.select(audit_log::action).order(audit_log::id).load::<String>(conn).unwrap()).await
}

#[tokio::test]
async fn unknown_accounts_wrong_passwords_and_disabled_accounts_get_the_same_answer() {
    let app = spawn_app().await;
    let password = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let disabled_password = app.add_user("gone@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let gone = app.user_id("gone@example.org").await;
    app.db(move |conn| {
        haveyoursay::accounts::set_disabled(conn, &haveyoursay::models::audit::Actor::command_line(), gone, true)
            .unwrap()
    })
    .await;

    let mut bodies = Vec::new();
    for (email, pw) in [
        ("nobody@example.org", password.as_str()),
        ("jo@example.org", "not the right password"),
        ("gone@example.org", disabled_password.as_str()),
    ] {
        let browser = app.browser();
        let page = try_sign_in(&browser, email, pw).await;
        assert_eq!(page.status, 422, "{email}");
        assert!(page.body.contains(WRONG), "{email}");
        assert!(page.body.contains("<title>Error: Sign in"), "{email}");
        assert!(page.body.contains("href=\"#email\""), "the summary links to the field");
        assert!(page.body.contains(&format!("value=\"{email}\"")), "the email is kept");
        assert!(!page.body.contains(pw), "the password is never shown again");
        assert!(!signed_in(&browser).await);
        bodies.push(page.body.replace(email, "EMAIL").replace(&page.csrf(), "CSRF"));
    }
    assert_eq!(bodies[0], bodies[1], "unknown and wrong password read the same");
    assert_eq!(bodies[1], bodies[2], "wrong password and disabled read the same");

    let browser = app.browser();
    let done = try_sign_in(&browser, "JO@example.org ", &password).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/officer"));
    assert!(signed_in(&browser).await);
    let home = browser.get("/officer").await;
    assert_eq!(home.header("cache-control"), Some("no-store"));
    assert!(home.body.contains("/officer/consultations/irmp-2027"), "the organisation's consultation is listed");
}

#[tokio::test]
async fn blank_fields_are_named_and_next_is_followed_to_local_paths_only() {
    let app = spawn_app().await;
    let password = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let browser = app.browser();
    let blank = try_sign_in(&browser, "", "").await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("Enter your email address") && blank.body.contains("Enter your password"));
    assert!(blank.body.contains("href=\"#password\""));

    // Anonymous requests for a page are sent to sign in, and come back to it afterwards.
    let account = app.browser().get("/officer/account").await;
    assert_eq!(account.status, 303);
    assert_eq!(account.location.as_deref(), Some("/officer/sign-in?next=%2Fofficer%2Faccount"));
    let form = browser.get("/officer/sign-in?next=%2Fofficer%2Faccount").await;
    assert!(form.body.contains("name=\"next\" value=\"&#x2F;officer&#x2F;account\""), "escaped, as everything is");

    for (next, expected) in [
        ("/officer/account", "/officer/account"),
        ("//evil.example/x", "/officer"),
        ("https://evil.example/", "/officer"),
        ("/\\evil.example", "/officer"),
        ("\\\\evil.example", "/officer"),
    ] {
        let browser = app.browser();
        let csrf = browser.get("/officer/sign-in").await.csrf();
        let done = browser
            .post_form(
                "/officer/sign-in",
                &[("_csrf", &csrf), ("email", "jo@example.org"), ("password", &password), ("next", next)],
            )
            .await;
        assert_eq!(done.status, 303);
        assert_eq!(done.location.as_deref(), Some(expected), "next={next}");
    }
}

#[tokio::test]
async fn a_session_id_set_before_signing_in_is_never_the_session_after() {
    let app = spawn_app().await;
    let password = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let planted = "ab".repeat(32);
    let victim = app.browser();
    victim.set_cookie("hys_session", &planted);
    assert_eq!(try_sign_in(&victim, "jo@example.org", &password).await.status, 303);
    let after = session_cookie(&victim).expect("a session cookie");
    assert_ne!(after, planted);
    assert!(signed_in(&victim).await);
    let attacker = app.browser();
    attacker.set_cookie("hys_session", &planted);
    assert!(!signed_in(&attacker).await, "the planted id signs nobody in");

    // Signing in again while signed in (the sign-in page itself sends a signed-in browser on) ends the old
    // session and makes another.
    assert_eq!(victim.get("/officer/sign-in").await.status, 303);
    let csrf = victim.get("/officer").await.csrf();
    let fields = [("_csrf", csrf.as_str()), ("email", "jo@example.org"), ("password", password.as_str())];
    assert_eq!(victim.post_form("/officer/sign-in", &fields).await.status, 303);
    let again = session_cookie(&victim).unwrap();
    assert_ne!(again, after);
    let old = app.browser();
    old.set_cookie("hys_session", &after);
    assert!(!signed_in(&old).await);

    // Only digests are stored.
    let stored: Vec<String> = app.db(|conn| sessions::table.select(sessions::id_hash).load(conn).unwrap()).await;
    assert!(!stored.contains(&again));
    assert!(stored.contains(&haveyoursay::auth::secret::digest(&again)));
}

#[tokio::test]
async fn after_signing_out_the_old_cookie_works_nowhere() {
    let app = spawn_app().await;
    let browser = app.signed_in("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let cookie = session_cookie(&browser).unwrap();
    let home = browser.get("/officer").await;
    assert!(home.body.contains("action=\"/officer/sign-out\""), "the header has a sign-out button");
    let out = browser.post_form("/officer/sign-out", &[("_csrf", &home.csrf())]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/officer/sign-in?signed_out=1"));
    assert!(browser.get("/officer/sign-in?signed_out=1").await.body.contains("You have signed out"));
    assert!(!signed_in(&browser).await);

    let replay = app.browser();
    replay.set_cookie("hys_session", &cookie);
    assert!(!signed_in(&replay).await, "the old cookie is refused on pages");
    let api = replay.client.get(replay.url(DEFINITION)).send().await.unwrap();
    assert_eq!(api.status(), 401, "and on the API");
}

#[tokio::test]
async fn cookies_never_authenticate_the_api() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin@example.org", "admin", None).await;
    assert!(signed_in(&browser).await);
    let r = browser.client.get(browser.url(DEFINITION)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn disabling_changing_role_or_organisation_and_changing_the_password_end_sessions_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.org", "admin", None).await;
    let edit = |id: i64| format!("/officer/admin/users/{id}");

    // Disabled: signed out at once, and its token stops working.
    let jo = app.signed_in("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let jo_token = app.token_for("jo@example.org").await;
    assert_eq!(bearer(&app, DEFINITION, &jo_token).await.status(), 200);
    let id = app.user_id("jo@example.org").await;
    assert_eq!(admin.submit(&edit(id), &format!("{}/disable", edit(id)), &[]).await.status, 303);
    assert!(!signed_in(&jo).await);
    assert_eq!(bearer(&app, DEFINITION, &jo_token).await.status(), 401);
    // Enabled again, the account signs in anew; the revoked token stays revoked.
    assert_eq!(admin.submit(&edit(id), &format!("{}/enable", edit(id)), &[]).await.status, 303);
    assert_eq!(bearer(&app, DEFINITION, &jo_token).await.status(), 401);

    // A new role.
    let al = app.signed_in("al@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let id = app.user_id("al@example.org").await;
    let organisation = app.db(|conn| {
        haveyoursay::models::organisation::find_by_name(conn, NORTHSHIRE_FIRE).unwrap().unwrap().id.to_string()
    });
    let organisation = organisation.await;
    let fields = [("name", "Al Analyst"), ("role", "analyst"), ("organisation", organisation.as_str())];
    assert_eq!(admin.submit(&edit(id), &edit(id), &fields).await.status, 303);
    assert!(!signed_in(&al).await);

    // A new organisation.
    let bo = app.signed_in("bo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    app.add_user("someone@example.org", "officer", Some("Westshire Council")).await;
    let westshire = app
        .db(|conn| {
            haveyoursay::models::organisation::find_by_name(conn, "Westshire Council").unwrap().unwrap().id.to_string()
        })
        .await;
    let id = app.user_id("bo@example.org").await;
    let fields = [("name", "Bo"), ("role", "officer"), ("organisation", westshire.as_str())];
    assert_eq!(admin.submit(&edit(id), &edit(id), &fields).await.status, 303);
    assert!(!signed_in(&bo).await);

    // A name alone changes nothing about access.
    let cy = app.signed_in("cy@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let id = app.user_id("cy@example.org").await;
    let fields = [("name", "Cy Renamed"), ("role", "officer"), ("organisation", organisation.as_str())];
    assert_eq!(admin.submit(&edit(id), &edit(id), &fields).await.status, 303);
    assert!(signed_in(&cy).await);

    // A password set by an admin.
    let password = "a brand new password";
    let fields = [("new-password", password)];
    assert_eq!(admin.submit(&edit(id), &format!("{}/password", edit(id)), &fields).await.status, 303);
    assert!(!signed_in(&cy).await);
    assert!(signed_in(&app.sign_in("cy@example.org", password).await).await);

    // A password changed by its owner: their other browsers are signed out; this one carries on.
    let dee_password = app.add_user("dee@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let here = app.sign_in("dee@example.org", &dee_password).await;
    let elsewhere = app.sign_in("dee@example.org", &dee_password).await;
    let before = session_cookie(&here).unwrap();
    let changed = here
        .submit(
            "/officer/account",
            "/officer/account/password",
            &[
                ("current-password", &dee_password),
                ("new-password", "another long password"),
                ("confirm-password", "another long password"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert!(here.get("/officer/account?password_changed=1").await.body.contains("Your password has been changed"));
    assert!(signed_in(&here).await);
    assert_ne!(session_cookie(&here).unwrap(), before, "a new session for this browser");
    assert!(!signed_in(&elsewhere).await);

    let actions = audit_actions(&app).await;
    for action in ["user.disable", "user.enable", "user.update", "user.password_set", "user.password_change"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let app = spawn_app().await;
    let idle = app.signed_in("idle@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let busy = app.signed_in("busy@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let fresh = app.signed_in("fresh@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let digest = |b: &Browser| haveyoursay::auth::secret::digest(&session_cookie(b).unwrap());
    let (idle_id, busy_id, fresh_id) = (digest(&idle), digest(&busy), digest(&fresh));
    let now = haveyoursay::models::now();
    app.db(move |conn| {
        // Unused for 31 minutes (the setting is 30).
        diesel::update(sessions::table.find(&idle_id))
            .set(sessions::last_seen_at.eq(now - chrono::Duration::minutes(31)))
            .execute(conn)
            .unwrap();
        // Used a moment ago, but signed in 12 hours ago.
        diesel::update(sessions::table.find(&busy_id))
            .set(sessions::expires_at.eq(now - chrono::Duration::seconds(1)))
            .execute(conn)
            .unwrap();
        // Used five minutes ago: still live, and the use is noted.
        diesel::update(sessions::table.find(&fresh_id))
            .set(sessions::last_seen_at.eq(now - chrono::Duration::minutes(5)))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert!(!signed_in(&idle).await);
    assert!(!signed_in(&busy).await);
    assert!(signed_in(&fresh).await);
    let fresh_id = digest(&fresh);
    let seen = app
        .db(move |conn| {
            sessions::table.find(&fresh_id).select(sessions::last_seen_at).first::<chrono::NaiveDateTime>(conn)
        })
        .await
        .unwrap();
    assert!(seen > now - chrono::Duration::minutes(1), "last_seen_at is refreshed when a minute old");
    // The ended ones are gone from the table too.
    let left: i64 = app.db(|conn| sessions::table.count().get_result(conn).unwrap()).await;
    assert_eq!(left, 1);
}

#[tokio::test]
async fn repeated_failures_are_throttled_without_locking_the_officer_out() {
    let app = behind_a_proxy().await;
    let password = app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;

    // One address guessing: the 5th failure blocks that address for this account, with Retry-After.
    let guesser = app.browser_from(Some("198.51.100.1"));
    for n in 1..=4 {
        assert_eq!(try_sign_in(&guesser, "jo@example.org", "a wrong guess").await.status, 422, "failure {n}");
    }
    let blocked = try_sign_in(&guesser, "jo@example.org", "a wrong guess").await;
    assert_eq!(blocked.status, 429);
    let retry: i64 = blocked.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(blocked.body.contains("too many attempts to sign in"), "a clear page");
    // Even the right password is refused from there while blocked.
    assert_eq!(try_sign_in(&guesser, "jo@example.org", &password).await.status, 429);
    // The officer elsewhere signs in.
    let officer = app.browser_from(Some("203.0.113.7"));
    assert_eq!(try_sign_in(&officer, "jo@example.org", &password).await.status, 303);

    // Guessing spread over many addresses: from the 10th failure the account as a whole waits (a second
    // here, a minute at most).
    // Five failures so far; seven more from seven addresses make twelve, a block of four seconds.
    for n in 0..7 {
        let from = format!("198.51.100.{}", 10 + n);
        let status = try_sign_in(&app.browser_from(Some(&from)), "jo@example.org", "wrong").await.status;
        assert_eq!(status, if n < 4 { 422 } else { 429 }, "failure {} from {from}", 6 + n);
    }
    let newcomer = app.browser_from(Some("192.0.2.99"));
    let refused = try_sign_in(&newcomer, "jo@example.org", &password).await;
    assert_eq!(refused.status, 429, "the account is blocked for a browser that has not signed in before");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=4).contains(&retry), "{retry}");
    // The officer's own browser has signed in before: it is not held up by the account-wide block.
    let again = app.browser_from(Some("203.0.113.7"));
    again.set_cookie("hys_device", &officer.cookie("hys_device").expect("a device cookie"));
    assert_eq!(try_sign_in(&again, "jo@example.org", &password).await.status, 303);
    // And once the block has run out, a new address gets through too.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(try_sign_in(&newcomer, "jo@example.org", &password).await.status, 303);

    // A successful sign-in clears its pair's count; unknown accounts are counted like known ones (their keys
    // exist too), and nothing readable is stored.
    let keys: Vec<String> =
        app.db(|conn| sign_in_throttle::table.select(sign_in_throttle::key).load(conn).unwrap()).await;
    assert!(keys.iter().all(|k| !k.contains("example.org") && !k.contains("198.51")), "{keys:?}");
    let unknown = app.browser_from(Some("198.51.100.200"));
    for _ in 1..=4 {
        assert_eq!(try_sign_in(&unknown, "nobody@example.org", "wrong").await.status, 422);
    }
    assert_eq!(try_sign_in(&unknown, "nobody@example.org", "wrong").await.status, 429);
}

#[tokio::test]
async fn unknown_and_known_accounts_take_about_as_long_to_refuse() {
    let app = behind_a_proxy().await;
    app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    async fn attempt(app: &TestApp, email: &str, address: &str, n: usize) -> Duration {
        // A new address each time, so that no block cuts an attempt short.
        let browser = app.browser_from(Some(address));
        let csrf = browser.get("/officer/sign-in").await.csrf();
        let started = Instant::now();
        let page = browser
            .post_form("/officer/sign-in", &[("_csrf", &csrf), ("email", email), ("password", &format!("guess {n}"))])
            .await;
        let took = started.elapsed();
        assert_eq!(page.status, 422);
        took
    }
    // Taken in turns, so that whatever else the machine is doing slows both alike.
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for n in 0..9 {
        unknown.push(attempt(&app, "nobody@example.org", &format!("198.51.100.{n}"), n).await);
        known.push(attempt(&app, "jo@example.org", &format!("198.51.101.{n}"), n).await);
    }
    // The quickest of each: what the work itself costs, since whatever else the machine does only adds to it
    // (the other tests of the suite run beside this one). A check skipped for unknown accounts would make their
    // quickest many times quicker.
    let quickest = |times: Vec<Duration>| times.into_iter().min().unwrap();
    let (unknown, known) = (quickest(unknown), quickest(known));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((1.0 / 3.0..=3.0).contains(&ratio), "unknown {unknown:?} against known {known:?}");
}

#[tokio::test]
async fn every_form_post_is_refused_without_its_csrf_token() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.org", "admin", None).await;
    let posts: Vec<String> = haveyoursay::web::routes::table()
        .into_iter()
        .filter(|r| r.method == actix_web::http::Method::POST && r.path.starts_with("/officer"))
        .map(|r| crate::routes::concrete(&r).replace("{id}", "1"))
        .collect();
    assert!(posts.len() >= 12, "{posts:?}");
    for path in &posts {
        for fields in [vec![], vec![("_csrf", "0".repeat(64))]] {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = admin.post_form(path, &fields).await;
            assert_eq!(page.status, 403, "POST {path} with {fields:?}");
        }
    }
    // A token made for one session is refused in another's.
    let other = app.signed_in("other@example.org", "admin", None).await;
    let foreign = other.get("/officer").await.csrf();
    assert_eq!(admin.post_form("/officer/sign-out", &[("_csrf", &foreign)]).await.status, 403);
    // Signing in is protected too (login CSRF), and a form from another site is refused outright.
    let browser = app.browser();
    let page = browser.post_form("/officer/sign-in", &[("email", "a@example.org"), ("password", "x")]).await;
    assert_eq!(page.status, 403);
    assert!(signed_in(&admin).await, "nothing above signed the admin out");
}

#[tokio::test]
async fn passwords_follow_the_policy() {
    let app = spawn_app().await;
    let password = app.add_user("jo.bloggs@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let browser = app.sign_in("jo.bloggs@example.org", &password).await;
    let change = |new: String| {
        let current = password.clone();
        let browser = &browser;
        async move {
            browser
                .submit(
                    "/officer/account",
                    "/officer/account/password",
                    &[("current-password", &current), ("new-password", &new), ("confirm-password", &new)],
                )
                .await
        }
    };
    for (new, message) in [
        ("short one".to_string(), "Password must be 12 characters or more"),
        ("x".repeat(257), "Password must be 256 characters or fewer"),
        ("Password1234".to_string(), "on a list of common passwords"),
        ("qwertyuiop123".to_string(), "on a list of common passwords"),
        ("JO.BLOGGS@example.org".to_string(), "must not be the same as the email address or name"),
    ] {
        let page = change(new.clone()).await;
        assert_eq!(page.status, 422, "{new}");
        assert!(page.body.contains(message), "{new}: {message}");
        assert!(page.body.contains("<title>Error: Your account"));
        assert!(page.body.contains("href=\"#new-password\""));
    }
    // Twelve characters counted as characters: twelve accented letters are enough.
    let mismatch = browser
        .submit(
            "/officer/account",
            "/officer/account/password",
            &[("current-password", &password), ("new-password", "ééééééééééé!"), ("confirm-password", "other")],
        )
        .await;
    assert!(mismatch.body.contains("Passwords must match"));
    let wrong_current = browser
        .submit(
            "/officer/account",
            "/officer/account/password",
            &[
                ("current-password", "not it at all"),
                ("new-password", "ééééééééééé!"),
                ("confirm-password", "ééééééééééé!"),
            ],
        )
        .await;
    assert_eq!(wrong_current.status, 422);
    assert!(wrong_current.body.contains("Your current password is not correct"));
    assert_eq!(change("ééééééééééé!".into()).await.status, 303);
}

#[tokio::test]
async fn api_tokens_made_in_the_browser_work_until_revoked() {
    let app = spawn_app().await;
    let browser = app.signed_in("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let blank = browser.submit("/officer/account", "/officer/account/tokens", &[("label", " ")]).await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("href=\"#label\""));
    let made = browser.submit("/officer/account", "/officer/account/tokens", &[("label", "Nightly export")]).await;
    assert_eq!(made.status, 200);
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let start = made.body.find("hys_").expect("the token is shown");
    let token: String = made.body[start..].chars().take(68).collect();
    assert!(haveyoursay::auth::secret::looks_like_token(&token), "{token}");
    assert_eq!(bearer(&app, DEFINITION, &token).await.status(), 200);

    let account = browser.get("/officer/account").await;
    assert!(account.body.contains("Nightly export"));
    assert!(account.body.contains(&token[..12]), "listed by its prefix");
    assert!(!account.body.contains(&token), "never shown again");
    let id: i64 = app
        .db(|conn| {
            use haveyoursay::db::schema::api_tokens;
            api_tokens::table.select(api_tokens::id).first(conn).unwrap()
        })
        .await;
    let confirm = browser.get(&format!("/officer/account/tokens/{id}/revoke")).await;
    assert!(confirm.body.contains("Are you sure you want to revoke the token ‘Nightly export’?"));
    let revoked =
        browser.post_form(&format!("/officer/account/tokens/{id}/revoke"), &[("_csrf", &confirm.csrf())]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(bearer(&app, DEFINITION, &token).await.status(), 401);
    // Someone else's token is not found.
    let other = app.signed_in("al@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    assert_eq!(other.get(&format!("/officer/account/tokens/{id}/revoke")).await.status, 404);

    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"api_token.create".to_string()) && actions.contains(&"api_token.revoke".to_string()));
}

#[tokio::test]
async fn the_definition_endpoint_answers_401_403_404_and_200() {
    let app = spawn_app().await;
    let none = app.client.get(app.url(DEFINITION)).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    for header in
        ["Bearer hys_not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer", &format!("Bearer hys_{}", "0".repeat(64))]
    {
        let r = app.client.get(app.url(DEFINITION)).header("Authorization", header).send().await.unwrap();
        assert_eq!(r.status(), 401, "{header}");
    }
    // A malformed token is refused even where no token is needed, rather than taken as anonymous.
    let r = app.client.get(app.url("/api/v1/consultations")).header("Authorization", "Bearer nonsense").send();
    assert_eq!(r.await.unwrap().status(), 401);

    app.add_user("cabinet@example.org", "cabinet", Some(NORTHSHIRE_FIRE)).await;
    let cabinet = app.token_for("cabinet@example.org").await;
    assert_eq!(bearer(&app, DEFINITION, &cabinet).await.status(), 403);
    app.add_user("west@example.org", "officer", Some("Westshire Council")).await;
    let west = app.token_for("west@example.org").await;
    assert_eq!(bearer(&app, DEFINITION, &west).await.status(), 404, "another organisation's");
    assert_eq!(bearer(&app, "/api/v1/consultations/no-such/definition", &west).await.status(), 404);

    app.add_user("jo@example.org", "analyst", Some(NORTHSHIRE_FIRE)).await;
    let jo = app.token_for("jo@example.org").await;
    let r = bearer(&app, DEFINITION, &jo).await;
    assert_eq!(r.status(), 200);
    let definition: serde_json::Value = r.json().await.unwrap();
    assert_eq!(definition["slug"], IRMP);
    assert_eq!(definition["results_visibility"], "public");
    assert!(definition["sections"].as_array().unwrap().len() > 1);
    // What it returns reads back as a definition: export then import gives the same consultation.
    let parsed: haveyoursay::domain::definition::Definition = serde_json::from_value(definition.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), definition);

    // With a draft, the draft is the latest.
    let id = app.consultation_id(IRMP).await;
    app.db(move |conn| {
        use haveyoursay::models::version;
        let live_id = conn_live(conn, id);
        let live = version::find(conn, live_id).unwrap();
        let mut content = live.content().unwrap();
        content.title = "A draft title".into();
        version::create_draft(conn, id, &content).unwrap();
    })
    .await;
    let r = bearer(&app, DEFINITION, &jo).await;
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["title"], "A draft title");
    // Admins see every organisation's.
    app.add_user("admin@example.org", "admin", None).await;
    let admin = app.token_for("admin@example.org").await;
    assert_eq!(bearer(&app, DEFINITION, &admin).await.status(), 200);
}

fn conn_live(conn: &mut haveyoursay::db::DbConnection, id: i64) -> i64 {
    haveyoursay::models::consultation::find(conn, id).unwrap().live_version_id.unwrap()
}

#[tokio::test]
async fn the_command_line_adds_accounts_and_tokens() {
    let app = spawn_app().await;
    let add = |email: &str, role: &str, organisation: Option<&str>, password: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"));
        command.args(["user", "add", "--email", email, "--name", "Pat Person", "--role", role, "--password-stdin"]);
        command.args(["--database-url", &app.database_url]);
        if let Some(o) = organisation {
            command.args(["--organisation", o]);
        }
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let made = add("pat@example.org", "officer", Some(NORTHSHIRE_FIRE), "a long enough password");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(made.stdout.is_empty(), "prints nothing");
    let again = add("Pat@Example.org", "officer", Some(NORTHSHIRE_FIRE), "a long enough password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let weak = add("weak@example.org", "officer", Some(NORTHSHIRE_FIRE), "password1234");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("common passwords"));
    let homeless = add("homeless@example.org", "analyst", None, "a long enough password");
    assert!(!homeless.status.success());
    assert!(String::from_utf8_lossy(&homeless.stderr).contains("--organisation is required"));
    let bad_role = add("boss@example.org", "boss", None, "a long enough password");
    assert!(!bad_role.status.success());
    // The account works in the browser.
    assert!(signed_in(&app.sign_in("pat@example.org", "a long enough password").await).await);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
        .args(["token", "add", "--email", "pat@example.org", "--label", "Scripts", "--database-url", &app.database_url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let token = stdout.trim();
    assert_eq!(bearer(&app, DEFINITION, token).await.status(), 200);
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
        .args(["token", "add", "--email", "nobody@example.org", "--database-url", &app.database_url])
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    let actors: Vec<(String, String)> =
        app.db(|conn| audit_log::table.select((audit_log::action, audit_log::actor)).load(conn).unwrap()).await;
    assert!(actors.contains(&("user.create".into(), "command line".into())), "{actors:?}");
    assert!(actors.contains(&("api_token.create".into(), "command line".into())), "{actors:?}");
}

#[tokio::test]
async fn admin_pages_validate_and_audit_every_change() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.org", "admin", None).await;
    for path in
        ["/officer/admin/users", "/officer/admin/organisations", "/officer/admin/audit", "/officer/admin/settings"]
    {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
    // Only admins.
    let officer = app.signed_in("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    assert_eq!(officer.get("/officer/admin/users").await.status, 403);
    assert!(!officer.get("/officer").await.body.contains("/officer/admin/users"), "no Admin link for officers");

    // Adding a user: every problem named, in the order of the fields.
    let empty = admin.submit("/officer/admin/users/new", "/officer/admin/users", &[]).await;
    assert_eq!(empty.status, 422);
    let order: Vec<usize> =
        ["#name", "#email", "#role", "#password"].iter().map(|t| empty.body.find(t).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let fields =
        [("name", "Kim"), ("email", "kim@example.org"), ("role", "officer"), ("password", "a long enough password")];
    let homeless = admin.submit("/officer/admin/users/new", "/officer/admin/users", &fields).await;
    assert_eq!(homeless.status, 422);
    assert!(homeless.body.contains("officers, analysts and cabinet members belong to one"));
    let made = admin
        .submit(
            "/officer/admin/organisations",
            "/officer/admin/organisations",
            &[("organisation-name", "Kim’s Council")],
        )
        .await;
    assert_eq!(made.status, 303);
    let duplicate = admin
        .submit(
            "/officer/admin/organisations",
            "/officer/admin/organisations",
            &[("organisation-name", "Kim’s Council")],
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.body.contains("already exists"));
    let organisation = app
        .db(|conn| {
            haveyoursay::models::organisation::find_by_name(conn, "Kim’s Council").unwrap().unwrap().id.to_string()
        })
        .await;
    let mut fields = fields.to_vec();
    fields.push(("organisation", &organisation));
    let added = admin.submit("/officer/admin/users/new", "/officer/admin/users", &fields).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert!(signed_in(&app.sign_in("kim@example.org", "a long enough password").await).await);
    let taken = admin.submit("/officer/admin/users/new", "/officer/admin/users", &fields).await;
    assert_eq!(taken.status, 422);
    assert!(taken.body.contains("An account with this email address already exists"));
    assert!(taken.body.contains("<title>Error: Add a user"));

    // An admin cannot disable themselves, nor change their own role.
    let me = app.user_id("admin@example.org").await;
    let own =
        admin.submit(&format!("/officer/admin/users/{me}"), &format!("/officer/admin/users/{me}/disable"), &[]).await;
    assert_eq!(own.status, 422);
    let demote = admin
        .submit(
            &format!("/officer/admin/users/{me}"),
            &format!("/officer/admin/users/{me}"),
            &[("name", "Admin"), ("role", "officer"), ("organisation", &organisation)],
        )
        .await;
    assert_eq!(demote.status, 422);
    assert!(demote.body.contains("You cannot change your own role"));

    // Settings: the shortest consultation length, and pre-election periods.
    let bad = admin.submit("/officer/admin/settings", "/officer/admin/settings", &[("minimum-weeks", "none")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("href=\"#minimum-weeks\""));
    assert_eq!(
        admin.submit("/officer/admin/settings", "/officer/admin/settings", &[("minimum-weeks", "8")]).await.status,
        303
    );
    assert_eq!(app.db(|conn| haveyoursay::models::setting::minimum_weeks(conn).unwrap()).await, 8);
    let period = "/officer/admin/settings/election-periods";
    let bad = admin
        .submit(
            "/officer/admin/settings",
            period,
            &[("period-name", ""), ("starts-day", "31"), ("starts-month", "2"), ("starts-year", "2027")],
        )
        .await;
    assert_eq!(bad.status, 422);
    for target in ["#period-name", "#starts-day", "#ends-day"] {
        assert!(bad.body.contains(&format!("href=\"{target}\"")), "{target}");
    }
    let good = [
        ("period-name", "County elections 2027"),
        ("starts-day", "25"),
        ("starts-month", "3"),
        ("starts-year", "2027"),
        ("ends-day", "6"),
        ("ends-month", "5"),
        ("ends-year", "2027"),
    ];
    assert_eq!(admin.submit("/officer/admin/settings", period, &good).await.status, 303);
    let settings = admin.get("/officer/admin/settings").await;
    assert!(settings.body.contains("County elections 2027") && settings.body.contains("6 May 2027"));
    let periods = app.db(|conn| haveyoursay::models::election_period::all(conn).unwrap()).await;
    assert_eq!(periods.len(), 1);
    let delete = format!("{period}/{}/delete", periods[0].id);
    assert_eq!(admin.submit("/officer/admin/settings", &delete, &[]).await.status, 303);

    // The audit log: filtered, newest first, and unchangeable.
    let log = admin.get("/officer/admin/audit?action=organisation.create").await;
    assert_eq!(log.status, 200);
    assert!(log.body.contains("Kim’s Council"));
    assert!(!log.body.contains("user.create</code>"), "filtered by action");
    let by_actor = admin.get("/officer/admin/audit?actor=ADMIN%40example.org").await;
    assert!(by_actor.body.contains("setting.update"));
    let bad_dates = admin.get("/officer/admin/audit?from-day=31&from-month=2&from-year=2027").await;
    assert_eq!(bad_dates.status, 422);
    assert!(bad_dates.body.contains("href=\"#from-day\""));
    let actions = audit_actions(&app).await;
    for action in [
        "sign_in",
        "user.create",
        "organisation.create",
        "setting.update",
        "election_period.create",
        "election_period.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let changed = app.db(|conn| diesel::sql_query("UPDATE audit_log SET action = 'nothing'").execute(conn)).await;
    assert!(changed.is_err(), "audit records cannot be changed");
    let deleted = app.db(|conn| diesel::sql_query("DELETE FROM audit_log").execute(conn)).await;
    assert!(deleted.is_err(), "audit records cannot be deleted");
    assert!(!haveyoursay::web::routes::table()
        .iter()
        .any(|r| r.path.contains("audit") && r.method != actix_web::http::Method::GET));
}

#[tokio::test]
async fn the_demo_accounts_get_a_fresh_password_at_every_start_but_never_in_production() {
    let app = spawn_app().await;
    let demo = |environment: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
            .args(["demo", "--database-url", &app.database_url])
            .env("APP_ENVIRONMENT", environment)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let password_of = |printed: &str, email: &str| -> String {
        let line = printed.lines().find(|l| l.contains(email)).unwrap_or_else(|| panic!("{email} in {printed}"));
        line.split("password ").nth(1).unwrap().split_whitespace().next().unwrap().to_string()
    };
    assert_eq!(app.db(|conn| haveyoursay::models::user::list(conn).unwrap().len()).await, 0, "no account by default");

    let first = demo("development");
    assert!(first.contains("/officer/sign-in"), "{first}");
    let officer = password_of(&first, "officer@northshire-fire.example");
    password_of(&first, "cabinet@northshire-fire.example");
    let browser = app.sign_in("officer@northshire-fire.example", &officer).await;
    assert!(browser.get("/officer").await.body.contains("/officer/consultations/irmp-2027"));

    let second = demo("development");
    let again = password_of(&second, "officer@northshire-fire.example");
    assert_ne!(again, officer);
    assert!(!signed_in(&browser).await, "a new password ends the old sessions");
    assert_eq!(try_sign_in(&app.browser(), "officer@northshire-fire.example", &officer).await.status, 422);

    let production = demo("production");
    assert!(production.contains("demo accounts are not made in production"), "{production}");
    assert!(!production.contains("password "), "{production}");
    assert!(signed_in(&app.sign_in("officer@northshire-fire.example", &again).await).await, "left as it was");
}
