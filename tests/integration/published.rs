//! Published results over real HTTP: an officer publishes a closed consultation's results; the snapshot stays
//! as it was when a paper response is keyed in later, and changes only when the results are published again,
//! every publication kept; the public read it suppressed, as JSON, as open-data CSV and as "We asked, you said,
//! we did" on the consultation's page; each publication is in the audit log.

use crate::helpers::{spawn_app, TestApp};
use diesel::prelude::*;
use haveyoursay::db::schema::{audit_log, consultations, results_snapshots};
use haveyoursay::domain::phase::Stage;
use serde_json::{json, Value};

const SLUG: &str = "to-publish";
const COUNCIL: &str = "Test Council";

/// `pick` (single choice: a, b, c), `tell` (optional text) and `age` (an optional equality monitoring question).
fn questionnaire() -> Value {
    json!({"sections": [{"key": "only", "title": "Questions", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Pick one <b>now</b>", "required": true, "options": [
            {"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}]},
        {"key": "tell", "kind": "short_text", "prompt": "Tell us", "required": false},
        {"key": "age", "kind": "single_choice", "prompt": "Your age", "required": false, "purpose": "equality_monitoring",
         "options": [{"key": "young", "label": "Under 40"}, {"key": "old", "label": "40 or over"}]}
    ]}]})
}

/// Moves the closing time of consultation `slug` (into the past to close it, the future to reopen it).
pub(crate) async fn set_closes_of(app: &TestApp, slug: &str, at: chrono::NaiveDateTime) {
    let id = app.consultation_id(slug).await;
    app.db(move |conn| {
        diesel::update(consultations::table.find(id)).set(consultations::closes_at.eq(Some(at))).execute(conn).unwrap()
    })
    .await;
}

async fn publish(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = app.client.post(app.url(&format!("/api/v1/consultations/{SLUG}/results/publish"))).json(body);
    if let Some(token) = token {
        r = r.bearer_auth(token);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn stage(app: &TestApp) -> Stage {
    let id = app.consultation_id(SLUG).await;
    app.db(move |conn| haveyoursay::models::consultation::find(conn, id).unwrap().stage(haveyoursay::models::now()))
        .await
}

fn option<'a>(results: &'a Value, question: &str, option: &str) -> &'a Value {
    let q = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == question).unwrap();
    q["options"].as_array().unwrap().iter().find(|o| o["key"] == option).unwrap()
}

#[tokio::test]
async fn a_snapshot_stays_until_the_results_are_published_again_and_every_publication_is_kept() {
    let app = spawn_app().await;
    app.create_consultation(SLUG, "open", questionnaire()).await;
    app.add_user("officer@example.org", "officer", Some(COUNCIL)).await;
    app.add_user("analyst@example.org", "analyst", Some(COUNCIL)).await;
    app.add_user("elsewhere@example.org", "officer", Some("Another Council")).await;
    let officer = app.token_for("officer@example.org").await;
    let analyst = app.token_for("analyst@example.org").await;
    let elsewhere = app.token_for("elsewhere@example.org").await;
    // 25 choose a, 3 choose b; 12 say they are under 40, none that they are older.
    for i in 0..28 {
        let mut answers = json!({"pick": if i < 25 { "a" } else { "b" }});
        if i < 12 {
            answers["age"] = json!("young");
        }
        let r = app.post_response(SLUG, &format!("r-{i}"), &json!({ "answers": answers })).await;
        assert_eq!(r.status(), 201);
    }
    let outcome = json!({"outcome": "We decided **this**. <script>alert(1)</script>"});
    let published = format!("/api/v1/consultations/{SLUG}/results/published");
    assert_eq!(app.get_json(&published).await.0, 404, "nothing published yet");
    assert_eq!(publish(&app, Some(&officer), &outcome).await.0, 409, "still open");

    set_closes_of(&app, SLUG, haveyoursay::models::now() - chrono::Duration::hours(1)).await;
    assert_eq!(stage(&app).await, Stage::Closed);
    assert_eq!(publish(&app, None, &outcome).await.0, 401);
    assert_eq!(publish(&app, Some(&analyst), &outcome).await.0, 403);
    assert_eq!(publish(&app, Some(&elsewhere), &outcome).await.0, 404);
    assert_eq!(publish(&app, Some(&officer), &json!({"outcome": "  "})).await.0, 422);
    assert_eq!(publish(&app, Some(&officer), &json!({"decided": "x"})).await.0, 400);
    let (status, first) = publish(&app, Some(&officer), &outcome).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["publication"], 1);
    assert_eq!(first["responses"], 28);
    assert_eq!(stage(&app).await, Stage::ResultsPublished, "the stage follows from the snapshot");

    let (status, results) = app.get_json(&published).await;
    assert_eq!(status, 200);
    assert_eq!(results["responses"], 28);
    assert_eq!(results["outcome"], "We decided **this**. <script>alert(1)</script>");
    assert_eq!(option(&results, "pick", "a")["count"], 25);
    // 3 is under 10, and c's 0 goes with it, or 28 - 25 would give the 3 away.
    for small in ["b", "c"] {
        assert_eq!(option(&results, "pick", small)["count"], Value::Null, "{small}");
        assert_eq!(option(&results, "pick", small)["suppressed"], true);
        assert_eq!(option(&results, "pick", small)["percent"], Value::Null);
    }
    assert_eq!(option(&results, "age", "young")["count"], 12);
    assert_eq!(option(&results, "age", "old")["count"], 0, "a zero gives nothing away");
    let age = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "age").unwrap();
    assert_eq!(age["purpose"], "equality_monitoring");
    assert!(results["licence"].as_str().unwrap().starts_with("Open Government Licence v3.0"));

    // A paper response keyed in after publication (the consultation reopened for it, then closed again): the
    // live figures count it, the published ones do not.
    set_closes_of(&app, SLUG, haveyoursay::models::now() + chrono::Duration::days(1)).await;
    let paper = json!({"channel": "paper", "answers": {"pick": "c"}});
    let r = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{SLUG}/responses")))
        .bearer_auth(&officer)
        .header("Idempotency-Key", "paper-1")
        .json(&paper)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    set_closes_of(&app, SLUG, haveyoursay::models::now() - chrono::Duration::minutes(1)).await;
    let (_, live) = app.get_json(&format!("/api/v1/consultations/{SLUG}/results")).await;
    assert_eq!(live["responses"], 29);
    let (_, still) = app.get_json(&published).await;
    assert_eq!(still, results, "the snapshot is frozen");

    let again = json!({"outcome": "We looked again."});
    let (status, second) = publish(&app, Some(&officer), &again).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["publication"], 2);
    let (_, republished) = app.get_json(&published).await;
    assert_eq!(republished["responses"], 29);
    assert_eq!(republished["publication"], 2);
    assert_eq!(republished["outcome"], "We looked again.");
    let listed: Vec<i64> =
        republished["publications"].as_array().unwrap().iter().map(|p| p["publication"].as_i64().unwrap()).collect();
    assert_eq!(listed, [2, 1]);

    // Both snapshots are kept, each with who published it and what was decided; each is in the audit log.
    let id = app.consultation_id(SLUG).await;
    let (kept, audited): (Vec<(i32, String, String, i64)>, Vec<String>) = app
        .db(move |conn| {
            let kept = results_snapshots::table
                .filter(results_snapshots::consultation_id.eq(id))
                .order(results_snapshots::number)
                .select((
                    results_snapshots::number,
                    results_snapshots::publisher,
                    results_snapshots::outcome,
                    results_snapshots::responses,
                ))
                .load(conn)
                .unwrap();
            let audited = audit_log::table
                .filter(audit_log::action.eq("results.publish").and(audit_log::consultation_id.eq(id)))
                .select(audit_log::actor)
                .load(conn)
                .unwrap();
            (kept, audited)
        })
        .await;
    assert_eq!(kept.len(), 2);
    assert_eq!((kept[0].0, kept[0].1.as_str(), kept[0].3), (1, "officer@example.org", 28));
    assert_eq!((kept[1].0, kept[1].2.as_str(), kept[1].3), (2, "We looked again.", 29));
    assert_eq!(audited, ["officer@example.org", "officer@example.org"]);

    // The open data as CSV: a row per option, suppressed counts empty.
    let csv = app.client.get(app.url(&format!("{published}?format=csv"))).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let expected: Vec<&str> = haveyoursay::results::published::DICTIONARY.iter().map(|(c, _)| *c).collect();
    assert_eq!(header, expected);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let count_of = |q: &str, o: &str| rows.iter().find(|r| &r[3] == q && &r[8] == o).unwrap()[11].to_string();
    assert_eq!(count_of("pick", "a"), "25");
    assert_eq!(count_of("pick", "b"), "");
    assert_eq!(rows.len(), 3 + 2, "the options of pick and age; text questions have none");

    // "We asked, you said, we did" on the consultation's page, officer-authored text escaped or sanitised.
    let page = app.get(&format!("/consultations/{SLUG}")).await;
    assert_eq!(page.status, 200);
    for expected in [
        "We asked, you said, we did",
        "Pick one &lt;b&gt;now&lt;&#x2F;b&gt;",
        "86.2% (25 of 29 who answered)",
        "We looked again.",
        "Earlier publications",
        "We decided <strong>this</strong>.",
        "Open Government Licence v3.0",
        &format!("/api/v1/consultations/{SLUG}/results/published?format=csv"),
    ] {
        assert!(page.body.contains(expected), "the page shows {expected:?}");
    }
    assert!(!page.body.contains("<script>alert(1)"), "markdown is sanitised");
    assert!(!page.body.contains("(3 of"), "suppressed counts are not shown");
}

#[tokio::test]
async fn the_officers_publish_page_follows_the_form_pattern() {
    let app = spawn_app().await;
    app.create_consultation(SLUG, "open", questionnaire()).await;
    let officer = app.signed_in("officer@example.org", "officer", Some(COUNCIL)).await;
    let form = format!("/officer/consultations/{SLUG}/results/publish");
    let shown = officer.get(&form).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("has not closed"));
    let refused = officer.submit(&form, &form, &[("outcome", "Decided."), ("action", "publish")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("There is a problem") && refused.body.contains("once it has"), "{}", refused.body);

    set_closes_of(&app, SLUG, haveyoursay::models::now() - chrono::Duration::hours(1)).await;
    let empty = officer.submit(&form, &form, &[("outcome", ""), ("action", "publish")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.starts_with("<!DOCTYPE html>") || empty.body.contains("<html"));
    assert!(empty.body.contains("<title>Error: "), "the title says there is an error");
    assert!(
        empty.body.contains("href=\"#f-outcome\"") && empty.body.contains("Enter what the council decided and why")
    );
    let preview = officer
        .submit(&form, &form, &[("outcome", "## Decided\n\n<img src=x onerror=alert(1)> kept"), ("action", "preview")])
        .await;
    assert_eq!(preview.status, 200);
    assert!(preview.body.contains("<h2>Decided</h2>"), "{}", preview.body);
    assert!(!preview.body.contains("<img src=x onerror") && !preview.body.contains("onerror=\"alert"), "sanitised");
    let done = officer.submit(&form, &form, &[("outcome", "Decided."), ("action", "publish")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some(format!("/consultations/{SLUG}").as_str()));
    assert_eq!(stage(&app).await, Stage::ResultsPublished);
    let again = officer.get(&form).await;
    assert!(again.body.contains("Publish the results again") && again.body.contains("Publication 1"));

    let analyst = app.signed_in("analyst@example.org", "analyst", Some(COUNCIL)).await;
    assert_eq!(analyst.get(&form).await.status, 403);
    let elsewhere = app.signed_in("elsewhere@example.org", "officer", Some("Another Council")).await;
    assert_eq!(elsewhere.get(&form).await.status, 404);
}

#[tokio::test]
async fn the_demos_closed_consultation_has_published_results() {
    let app = spawn_app().await;
    let (status, results) =
        app.get_json(&format!("/api/v1/consultations/{}/results/published", crate::helpers::CLOSED)).await;
    assert_eq!(status, 200);
    assert_eq!(results["publication"], 1);
    assert_eq!(results["responses"], app.stored_responses(crate::helpers::CLOSED).await);
    let page = app.get(&format!("/consultations/{}", crate::helpers::CLOSED)).await;
    assert!(page.body.contains("We asked, you said, we did"));
    let (status, _) = app.get_json(&format!("/api/v1/consultations/{}/results/published", crate::helpers::IRMP)).await;
    assert_eq!(status, 404, "the open one is not published");
}

/// Sends a publication with the token of an officer and whatever body and content type are given.
async fn publish_raw(app: &TestApp, token: &str, content_type: Option<&str>, body: &'static str) -> (u16, Value) {
    let mut r = app.client.post(app.url(&format!("/api/v1/consultations/{SLUG}/results/publish"))).bearer_auth(token);
    if let Some(content_type) = content_type {
        r = r.header("Content-Type", content_type);
    }
    let r = r.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn results_can_be_published_before_the_decision_is_recorded_and_say_so() {
    let app = spawn_app().await;
    app.create_consultation(SLUG, "open", questionnaire()).await;
    app.add_user("officer@example.org", "officer", Some(COUNCIL)).await;
    let officer = app.token_for("officer@example.org").await;
    // 25 choose a, 3 choose b, none c: b is fewer than 10; c's 0 is hidden only so that 28 - 25 cannot give
    // the 3 away.
    for i in 0..28 {
        let answers = json!({"pick": if i < 25 { "a" } else { "b" }});
        assert_eq!(app.post_response(SLUG, &format!("r-{i}"), &json!({ "answers": answers })).await.status(), 201);
    }
    set_closes_of(&app, SLUG, haveyoursay::models::now() - chrono::Duration::hours(1)).await;

    // No body at all takes the snapshot, with no decision recorded yet.
    let (status, made) = publish_raw(&app, &officer, None, "").await;
    assert_eq!(status, 201, "{made}");
    assert_eq!((made["publication"].clone(), made["responses"].clone()), (json!(1), json!(28)));
    let published = format!("/api/v1/consultations/{SLUG}/results/published");
    let (_, results) = app.get_json(&published).await;
    assert_eq!(results["outcome"], Value::Null);
    assert_eq!(results["publications"][0]["outcome"], Value::Null);
    assert_eq!(option(&results, "pick", "b")["suppression"], "fewer_than_10");
    assert_eq!(option(&results, "pick", "c")["suppression"], "secondary");
    assert_eq!(
        (option(&results, "pick", "c")["count"].clone(), option(&results, "pick", "c")["suppressed"].clone()),
        (Value::Null, json!(true))
    );
    assert!(option(&results, "pick", "a").get("suppression").is_none());

    // The page says plainly that nothing is recorded yet, and which counts are under 10.
    let page = app.get(&format!("/consultations/{SLUG}")).await;
    assert!(page.body.contains("The council has not yet recorded what it did"), "{}", page.body);
    assert_eq!(
        page.table("Pick one <b>now</b>"),
        [
            vec!["A", "89.3% (25 of 28 who answered)"],
            vec!["B", "fewer than 10"],
            vec!["C", "not shown (would reveal a count under 10)"],
        ]
    );

    // An empty body with a JSON content type, and `{}`, are the same; then a decision, which a later
    // publication without one keeps.
    assert_eq!(publish_raw(&app, &officer, Some("application/json"), "").await.0, 200);
    assert_eq!(publish_raw(&app, &officer, Some("application/json"), "{}").await.0, 200);
    assert_eq!(app.get_json(&published).await.1["outcome"], Value::Null);
    let (status, made) = publish(&app, Some(&officer), &json!({"outcome": "We did **this**."})).await;
    assert_eq!((status, made["publication"].clone()), (200, json!(4)));
    let (status, made) = publish_raw(&app, &officer, None, "").await;
    assert_eq!((status, made["publication"].clone()), (200, json!(5)));
    let (_, results) = app.get_json(&published).await;
    assert_eq!(results["outcome"], "We did **this**.", "refreshing the figures keeps the decision");
    let outcomes: Vec<Value> =
        results["publications"].as_array().unwrap().iter().map(|p| p["outcome"].clone()).collect();
    assert_eq!(outcomes, [json!("We did **this**."), json!("We did **this**."), Value::Null, Value::Null, Value::Null]);
    let page = app.get(&format!("/consultations/{SLUG}")).await;
    assert!(page.body.contains("We did <strong>this</strong>."));
    assert!(page.body.contains("No decision had been recorded with this publication."), "the earlier ones say so");

    // What is sent must still be right: JSON, an object of the one field, an outcome within bounds.
    let (status, problem) = publish_raw(&app, &officer, Some("text/plain"), "{}").await;
    assert_eq!((status, problem["status"].clone()), (415, json!(415)));
    assert_eq!(publish_raw(&app, &officer, Some("application/json"), "[]").await.0, 400);
    assert_eq!(publish_raw(&app, &officer, Some("application/json"), "{\"outcome\": 5}").await.0, 400);
    assert_eq!(publish(&app, Some(&officer), &json!({"outcome": null})).await.0, 200, "null is no outcome");
    let long = "x".repeat(haveyoursay::domain::questionnaire::limits::BODY + 1);
    let (status, problem) = publish(&app, Some(&officer), &json!({ "outcome": long })).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["problems"].to_string().contains("characters or fewer"), "{problem}");
    assert_eq!(app.get_json(&published).await.1["publication"], 6, "nothing refused was published");
}
