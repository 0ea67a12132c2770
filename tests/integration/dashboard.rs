//! The results dashboard, its cross-tabs, the printed report, the written answers' reader and the role-aware
//! results API, through real HTTP: who sees what under every policy and state, figures equal to an
//! independent recount of the stored answers, small counts suppressed outside officers' own view, and live
//! updates through the server-sent event streams within a second of a committed response.

use crate::api::{every_kind, random_body};
use crate::helpers::{spawn_app, Browser, TestApp, IRMP};
use haveyoursay::auth::Viewer;
use haveyoursay::domain::questionnaire::Questionnaire;
use haveyoursay::models::response::recount;
use haveyoursay::models::{consultation, version};
use haveyoursay::results::{crosstab, report};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ORG: &str = "Test Council";

/// Sets a consultation's results policy, and whether its results are published.
async fn set_policy(app: &TestApp, slug: &str, visibility: &str, published: bool) {
    use diesel::prelude::*;
    use haveyoursay::db::schema::consultations::dsl;
    let id = app.consultation_id(slug).await;
    let visibility = visibility.to_string();
    app.db(move |conn| {
        let at = published.then(haveyoursay::models::now);
        diesel::update(dsl::consultations.find(id))
            .set((dsl::results_visibility.eq(visibility), dsl::results_published_at.eq(at)))
            .execute(conn)
            .unwrap()
    })
    .await;
}

async fn api_get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Signed-in browsers and API tokens of each role: officer, analyst and cabinet member of the test
/// organisation, an officer of another, and an admin.
struct Staff {
    browsers: Vec<(&'static str, Browser)>,
    tokens: Vec<(&'static str, String)>,
}

async fn staff(app: &TestApp) -> Staff {
    let mut browsers = Vec::new();
    let mut tokens = Vec::new();
    for (who, role, organisation) in [
        ("officer", "officer", Some(ORG)),
        ("analyst", "analyst", Some(ORG)),
        ("cabinet", "cabinet", Some(ORG)),
        ("elsewhere", "officer", Some("Another Council")),
        ("admin", "admin", None),
    ] {
        let email = format!("{who}@example.org");
        browsers.push((who, app.signed_in(&email, role, organisation).await));
        tokens.push((who, app.token_for(&email).await));
    }
    Staff { browsers, tokens }
}

impl Staff {
    fn browser(&self, who: &str) -> &Browser {
        &self.browsers.iter().find(|(w, _)| *w == who).unwrap().1
    }
    fn token(&self, who: &str) -> &str {
        &self.tokens.iter().find(|(w, _)| *w == who).unwrap().1
    }
}

fn simple() -> Value {
    json!({"sections": [{"key": "s", "title": "Questions", "questions": [
        {"key": "area", "kind": "single_choice", "prompt": "Where do you live?", "required": true, "purpose": "profile",
         "options": [{"key": "north", "label": "North"}, {"key": "south", "label": "South"}]},
        {"key": "support", "kind": "scale", "prompt": "Do you agree?", "required": true, "options": [
            {"key": "agree", "label": "Agree"}, {"key": "neither", "label": "Neither agree nor disagree"},
            {"key": "disagree", "label": "Disagree"}]},
        {"key": "comment", "kind": "short_text", "prompt": "Anything else?", "required": false}
    ]}]})
}

#[tokio::test]
async fn who_sees_the_results_follows_the_policy_for_every_role_and_state() {
    let app = spawn_app().await;
    let staff = staff(&app).await;
    let anonymous = app.browser();
    for policy in ["officers", "cabinet", "public"] {
        for state in ["open", "closed", "published"] {
            let slug = format!("vis-{policy}-{state}");
            app.create_consultation(&slug, if state == "open" { "open" } else { "closed" }, simple()).await;
            set_policy(&app, &slug, policy, state == "published").await;
            let public_may = policy == "public" || state == "published";
            let cabinet_may = policy != "officers" || state == "published";
            for (who, page_expected, api_expected) in [
                ("officer", 200, 200),
                ("analyst", 200, 200),
                ("admin", 200, 200),
                ("cabinet", if cabinet_may { 200 } else { 403 }, if cabinet_may { 200 } else { 403 }),
                // Another organisation's consultation is not found in the workspace; its API is the public's.
                ("elsewhere", 404, if public_may { 200 } else { 403 }),
            ] {
                let case = format!("{who} under {policy}, {state}");
                let dashboard = staff.browser(who).get(&format!("/officer/consultations/{slug}/results")).await;
                assert_eq!(dashboard.status, page_expected, "dashboard: {case}");
                let report = staff.browser(who).get(&format!("/officer/consultations/{slug}/results/report")).await;
                assert_eq!(report.status, page_expected, "report: {case}");
                // The live stream answers with its status at once (its body never ends: it is not read).
                let browser = staff.browser(who);
                let live = browser.client.get(browser.url(&format!("/officer/consultations/{slug}/results/stream")));
                assert_eq!(live.send().await.unwrap().status().as_u16(), page_expected, "live: {case}");
                let (status, _) =
                    api_get(&app, &format!("/api/v1/consultations/{slug}/results"), Some(staff.token(who))).await;
                assert_eq!(status, api_expected, "API: {case}");
            }
            let expected = if public_may { 200 } else { 403 };
            let case = format!("the public under {policy}, {state}");
            assert_eq!(anonymous.get(&format!("/consultations/{slug}/results")).await.status, expected, "{case}");
            let (status, _) = api_get(&app, &format!("/api/v1/consultations/{slug}/results"), None).await;
            assert_eq!(status, expected, "API: {case}");
            let dashboard = anonymous.get(&format!("/officer/consultations/{slug}/results")).await;
            assert_eq!(dashboard.status, 303, "the dashboard asks the public to sign in: {case}");
        }
    }
}

/// The report and tallies of a full recount of the stored answers, independent of the running totals.
async fn recounted(app: &TestApp, slug: &str) -> (report::Report, haveyoursay::results::tally::Tallies) {
    let slug = slug.to_string();
    app.db(move |conn| {
        let c = consultation::find_by_slug(conn, &slug).unwrap().unwrap();
        let published = version::published_questionnaires(conn, c.id).unwrap();
        let published: Vec<(i64, &Questionnaire)> = published.iter().map(|(id, _, q)| (*id, q)).collect();
        let tallies = recount(conn, c.id, chrono_tz::Europe::London).unwrap();
        (report::build(&slug, &published, &tallies), tallies)
    })
    .await
}

fn as_json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

#[tokio::test]
async fn dashboard_and_api_figures_equal_a_recount_of_the_stored_answers() {
    let app = spawn_app().await;
    let staff = staff(&app).await;
    let slug = "figures";
    app.create_consultation(slug, "open", every_kind()).await;
    set_policy(&app, slug, "cabinet", false).await;
    let q: Questionnaire = serde_json::from_value(every_kind()).unwrap();
    let seed: u64 = rand::random();
    for i in 0..60u64 {
        let r = app.post_response(slug, &format!("k{i}"), &random_body(&q, seed.wrapping_add(i))).await;
        assert_eq!(r.status(), 201, "seed {seed}");
    }
    let (report, tallies) = recounted(&app, slug).await;
    assert_eq!(report.responses, 60);

    // The API, with an officer's token: the working view, every count.
    let (status, served) =
        api_get(&app, &format!("/api/v1/consultations/{slug}/results"), Some(staff.token("officer"))).await;
    assert_eq!(status, 200);
    assert_eq!(served, as_json(&report), "seed {seed}");
    // With a cabinet member's: the same but for suppressed profile counts (none here).
    let (_, cabinet) =
        api_get(&app, &format!("/api/v1/consultations/{slug}/results"), Some(staff.token("cabinet"))).await;
    assert_eq!(cabinet, as_json(&report.clone().for_viewer(Viewer::Staff(haveyoursay::auth::Role::Cabinet))));
    // Cross-tabs by a question and by channel: officers' unsuppressed, cabinet's suppressed.
    for by in ["area", "channel"] {
        let path = format!("/api/v1/consultations/{slug}/results?by={by}");
        let (_, officer) = api_get(&app, &path, Some(staff.token("officer"))).await;
        assert_eq!(officer, as_json(&crosstab::build(&report, &tallies, by, false).unwrap()), "by {by}, seed {seed}");
        let (_, cabinet) = api_get(&app, &path, Some(staff.token("cabinet"))).await;
        let public_report = report.clone().for_viewer(Viewer::Public);
        assert_eq!(cabinet, as_json(&crosstab::build(&public_report, &tallies, by, true).unwrap()), "by {by}");
    }

    // The dashboard writes every figure with its base.
    let page = staff.browser("officer").get(&format!("/officer/consultations/{slug}/results")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("60 responses<"), "the total");
    for question in &report.questions {
        let counts = format!(
            "{} answered · {} shown it but left it blank · {} not shown it",
            question.base, question.skipped, question.not_shown
        );
        assert!(page.body.contains(&counts), "{}: {counts} (seed {seed})", question.key);
        assert_eq!(question.base + question.skipped + question.not_shown, 60);
        for o in &question.options {
            if let (Some(n), Some(p), Some([low, high])) = (o.count, o.percent, o.ci95) {
                let cell = format!("{p:.1}% ({n} of {} who answered)", question.base);
                assert!(page.body.contains(&cell), "{} {}: {cell} (seed {seed})", question.key, o.key);
                assert!(page.body.contains(&format!("{low:.1}% to {high:.1}%")), "{} {}", question.key, o.key);
            }
        }
        if question.base < 30 {
            assert!(
                page.body.contains(&format!("only {} answered (fewer than 30)", question.base)) || question.base == 0
            );
        }
    }
    // Ranking: who ranked each first, and the mean rank.
    let rank = report.questions.iter().find(|q| q.key == "rank").unwrap();
    for o in &rank.options {
        if let Some(mean) = o.mean_rank {
            // Written as the number it is, "2" or "2.0" alike.
            let (short, long) = (format!(">{mean}<"), format!(">{}<", serde_json::to_string(&mean).unwrap()));
            assert!(page.body.contains(&short) || page.body.contains(&long), "mean rank of {}: {mean}", o.key);
        }
    }
    // Numbers: the mean, median and range of what was given, from an independent count.
    let given: Vec<i64> = tallies
        .values()
        .flat_map(|t| t.values.iter().flat_map(|((_, v), n)| std::iter::repeat_n(*v, *n as usize)))
        .collect();
    if !given.is_empty() {
        let (min, max) = (given.iter().min().unwrap(), given.iter().max().unwrap());
        let range = format!("Range</dt><dd class=\"hys-summary-list__value\">{min} to {max}");
        assert!(page.body.contains(&range), "the range of the numbers");
    }
    // Channels: every response came through the API.
    assert!(page.body.contains("Through the API</th><td class=\"hys-table__cell\">60 (100.0% of 60)"), "by channel");
    // The cross-tab on the page carries the same cells as the API.
    let page = staff.browser("officer").get(&format!("/officer/consultations/{slug}/results?by=area")).await;
    assert_eq!(page.status, 200);
    let table = crosstab::build(&report, &tallies, "area", false).unwrap();
    for g in &table.groups {
        assert!(page.body.contains(&format!("{}: {} response", g.label, g.base.unwrap())), "group {}", g.key);
    }
    // Nothing an address can hold reaches the database as a `by` (PostgreSQL refuses NUL in text).
    for by in ["%00", "%FF", "CAPITALS"] {
        let path = format!("/api/v1/consultations/{slug}/results?by={by}");
        let (status, _) = api_get(&app, &path, Some(staff.token("officer"))).await;
        assert_eq!(status, 422, "by={by}");
        let page = staff.browser("officer").get(&format!("/officer/consultations/{slug}/results?by={by}")).await;
        assert_eq!(page.status, 422, "by={by}");
    }
    let bad = staff.browser("officer").get(&format!("/officer/consultations/{slug}/results?by=name")).await;
    assert_eq!(bad.status, 422, "only single choice questions and channel break results down");
    assert!(bad.body.contains("There is a problem"));
}

#[tokio::test]
async fn small_counts_are_suppressed_outside_officers_own_view() {
    let app = spawn_app().await;
    let staff = staff(&app).await;
    let slug = "suppressed";
    app.create_consultation(slug, "open", simple()).await;
    set_policy(&app, slug, "cabinet", false).await;
    let mut n = 0;
    for (area, support, count) in [("north", "agree", 14), ("north", "disagree", 12), ("south", "agree", 3)] {
        for _ in 0..count {
            n += 1;
            let body = json!({"answers": {"area": area, "support": support}});
            assert_eq!(app.post_response(slug, &format!("k{n}"), &body).await.status(), 201);
        }
    }
    let path = format!("/api/v1/consultations/{slug}/results?by=area");
    let (_, officer) = api_get(&app, &path, Some(staff.token("officer"))).await;
    let support = |v: &Value, option: &str, group: &str| {
        let q = v["questions"].as_array().unwrap().iter().find(|q| q["key"] == "support").unwrap().clone();
        q["options"].as_array().unwrap().iter().find(|o| o["key"] == option).unwrap()["groups"][group].clone()
    };
    assert_eq!(support(&officer, "agree", "south"), json!({"count": 3, "percent": 100.0}));
    assert_eq!(officer["groups"][1], json!({"key": "south", "label": "South", "base": 3}));
    let (_, cabinet) = api_get(&app, &path, Some(staff.token("cabinet"))).await;
    let small = json!({"count": null, "percent": null, "suppression": "fewer_than_10"});
    let second = json!({"count": null, "percent": null, "suppression": "secondary"});
    assert_eq!(support(&cabinet, "agree", "south"), small);
    assert_eq!(support(&cabinet, "disagree", "south"), small, "a group under 10 is suppressed whole");
    assert_eq!(
        cabinet["groups"][1],
        json!({"key": "south", "label": "South", "base": null, "suppression": "fewer_than_10"})
    );
    // With two groups, North's counts would give South's away (each option's total is published): they go too,
    // though neither is under 10.
    assert_eq!(support(&cabinet, "agree", "north"), second);
    assert_eq!(support(&cabinet, "disagree", "north"), second);
    assert_eq!(cabinet["groups"][0]["suppression"], "secondary");
    // The profile question itself: South's 3 is suppressed, and North's 26 with it (the base would give it away).
    let (_, results) =
        api_get(&app, &format!("/api/v1/consultations/{slug}/results"), Some(staff.token("cabinet"))).await;
    let area = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "area").unwrap().clone();
    assert_eq!(
        (area["options"][0]["count"].clone(), area["options"][0]["suppression"].clone()),
        (Value::Null, json!("secondary"))
    );
    assert_eq!(
        (area["options"][1]["count"].clone(), area["options"][1]["suppression"].clone()),
        (Value::Null, json!("fewer_than_10"))
    );
    assert_eq!(area["base"], 29);
    let (_, results) =
        api_get(&app, &format!("/api/v1/consultations/{slug}/results"), Some(staff.token("officer"))).await;
    let area = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "area").unwrap().clone();
    assert_eq!((area["options"][0]["count"].clone(), area["options"][1]["count"].clone()), (json!(26), json!(3)));
    assert!(area["options"][1].get("suppression").is_none(), "nothing is suppressed in officers' own view");
    // The public, once the policy lets them, sees what cabinet members see.
    set_policy(&app, slug, "public", false).await;
    let (_, public) = api_get(&app, &path, None).await;
    assert_eq!(public, cabinet);
    // On the pages, the cabinet member's cross-tab says South has fewer than 10, and that North is not shown
    // because it would reveal South: "fewer than 10" only where it is true. The officer's shows both.
    const SECOND: &str = "not shown (would reveal a count under 10)";
    let page = staff.browser("cabinet").get(&format!("/officer/consultations/{slug}/results?by=area")).await;
    assert!(page.body.contains("South: fewer than 10"), "cabinet view");
    assert!(page.body.contains(&format!("North: {SECOND}")), "cabinet view");
    let cells = page.table("Do you agree?");
    let expected = ["Agree", "Neither agree nor disagree", "Disagree"].map(|o| vec![o, SECOND, "fewer than 10"]);
    assert_eq!(cells, expected, "South's zero goes with its group; North's with the group it protects");
    assert!(page.body.contains("(base fewer than 10)") && page.body.contains(&format!("(base {SECOND})")));
    assert!(!page.body.to_lowercase().contains("withheld"));
    let page = staff.browser("officer").get(&format!("/officer/consultations/{slug}/results?by=area")).await;
    assert!(page.body.contains("South: 3 responses"), "officers' own view");
    assert_eq!(page.table("Do you agree?")[0], ["Agree", "14 (53.8%)", "3 (100.0%)"]);
    // The public results page: the profile question's table says which is which.
    let page = app.browser().get(&format!("/consultations/{slug}/results")).await;
    let area = page.table("Where do you live?");
    assert_eq!(area, [vec!["North", SECOND, "–"], vec!["South", "fewer than 10", "–"]], "public page");
}

/// Reads a server-sent events stream until the next event carrying data; panics after `within`.
pub(crate) async fn next_event(
    stream: &mut reqwest::Response,
    buffer: &mut String,
    within: Duration,
) -> (String, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer[..end].to_string();
            buffer.replace_range(..end + 2, "");
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("").to_string();
            let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            if !data.is_empty() {
                return (name, data.join("\n"));
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within {within:?}; so far {buffer:?}"))
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_response_reaches_every_live_stream_within_a_second() {
    let app = spawn_app().await;
    let cabinet = app.signed_in("cabinet@example.org", "cabinet", Some(crate::helpers::NORTHSHIRE_FIRE)).await;
    let q = crate::api::questionnaire(&app, IRMP).await;
    let mut api =
        app.client.get(app.url(&format!("/api/v1/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    let mut public = app.client.get(app.url(&format!("/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    let mut dashboard =
        cabinet.client.get(cabinet.url(&format!("/officer/consultations/{IRMP}/results/stream"))).send().await.unwrap();
    for s in [&api, &public, &dashboard] {
        assert_eq!(s.status(), 200);
        assert!(s.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    }
    let mut buffers = [String::new(), String::new(), String::new()];
    let (name, first) = next_event(&mut api, &mut buffers[0], Duration::from_secs(5)).await;
    assert_eq!(name, "results");
    let before = serde_json::from_str::<Value>(&first).unwrap()["responses"].as_i64().unwrap();
    let (name, html) = next_event(&mut public, &mut buffers[1], Duration::from_secs(5)).await;
    assert_eq!(name, "figures");
    assert!(html.contains(&format!("{before} responses<")), "the public figures fragment");
    let (_, html) = next_event(&mut dashboard, &mut buffers[2], Duration::from_secs(5)).await;
    assert!(html.contains(&format!("{before} responses<")), "the dashboard's figures fragment");

    for round in 0..3u64 {
        let sent = Instant::now();
        let r = app.post_response(IRMP, &format!("live-{round}"), &random_body(&q, round)).await;
        assert_eq!(r.status(), 201);
        let expected = before + round as i64 + 1;
        let (_, data) = next_event(&mut api, &mut buffers[0], Duration::from_secs(1)).await;
        assert_eq!(serde_json::from_str::<Value>(&data).unwrap()["responses"], expected);
        let (_, html) = next_event(&mut public, &mut buffers[1], Duration::from_secs(1)).await;
        assert!(html.contains(&format!("{expected} responses<")));
        let (_, html) = next_event(&mut dashboard, &mut buffers[2], Duration::from_secs(1)).await;
        assert!(html.contains(&format!("{expected} responses<")));
        assert!(sent.elapsed() < Duration::from_secs(1), "round {round}: {:?} from the POST", sent.elapsed());
    }
}

#[tokio::test]
async fn officers_choose_the_headlines_and_the_choice_is_audited() {
    let app = spawn_app().await;
    let staff = staff(&app).await;
    let slug = "headlines";
    app.create_consultation(slug, "open", simple()).await;
    for i in 0..3 {
        let body = json!({"answers": {"area": "north", "support": if i == 0 { "disagree" } else { "agree" }}});
        app.post_response(slug, &format!("k{i}"), &body).await;
    }
    let dashboard = format!("/officer/consultations/{slug}/results");
    let page = staff.browser("officer").get(&dashboard).await;
    assert!(page.body.contains("66.7% agree"), "every scale question is a headline until officers choose");
    assert!(page.body.contains("(2 of 3 who answered)"));
    let action = format!("{dashboard}/headlines");
    let done = staff.browser("officer").submit(&dashboard, &action, &[]).await;
    assert_eq!(done.status, 303);
    let page = staff.browser("officer").get(&dashboard).await;
    assert!(!page.body.contains("66.7% agree"), "none chosen");
    let done = staff.browser("officer").submit(&dashboard, &action, &[("headline", "support")]).await;
    assert_eq!(done.status, 303);
    assert!(staff.browser("cabinet").get(&dashboard).await.body.contains("66.7% agree"));
    let refused = staff.browser("officer").submit(&dashboard, &action, &[("headline", "area")]).await;
    assert_eq!(refused.status, 422, "only scale questions can be headlines");
    let cabinet = staff.browser("cabinet").submit(&dashboard, &action, &[]).await;
    assert_eq!(cabinet.status, 403, "cabinet members cannot choose");
    let recorded = app
        .db(|conn| {
            use diesel::prelude::*;
            use haveyoursay::db::schema::audit_log::dsl;
            dsl::audit_log.filter(dsl::action.eq("results.headlines")).count().get_result::<i64>(conn).unwrap()
        })
        .await;
    assert_eq!(recorded, 2);
}

#[tokio::test]
async fn written_answers_are_read_a_page_at_a_time_escaped() {
    let app = spawn_app().await;
    let staff = staff(&app).await;
    let slug = "written";
    app.create_consultation(slug, "open", simple()).await;
    for i in 0..30 {
        let comment = if i == 0 { "<script>alert('x')</script> & more".to_string() } else { format!("Comment {i}") };
        let body = json!({"answers": {"area": "north", "support": "agree", "comment": comment}});
        assert_eq!(app.post_response(slug, &format!("k{i}"), &body).await.status(), 201);
    }
    let reader = format!("/officer/consultations/{slug}/results/answers/comment");
    let page = staff.browser("analyst").get(&reader).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt; &amp; more"), "escaped");
    assert!(!page.body.contains("<script>alert"));
    assert!(
        page.body.contains("Page 1 of 2") && page.body.contains("Comment 24") && !page.body.contains("Comment 25<")
    );
    let second = staff.browser("analyst").get(&format!("{reader}?page=2")).await;
    assert!(second.body.contains("Comment 29") && second.body.contains("start=\"26\""));
    assert_eq!(staff.browser("cabinet").get(&reader).await.status, 403, "cabinet members read results, not answers");
    assert_eq!(staff.browser("elsewhere").get(&reader).await.status, 404);
    let dashboard = staff.browser("analyst").get(&format!("/officer/consultations/{slug}/results")).await;
    assert!(dashboard.body.contains(&format!("href=\"{reader}\"")), "linked from the dashboard");
    let report = staff.browser("cabinet").get(&format!("/officer/consultations/{slug}/results/report")).await;
    assert!(report.body.contains("/static/css/report.css") && report.body.contains("self-selected"));
    assert!(!report.body.contains(&reader), "cabinet members get no link to the answers");
}
