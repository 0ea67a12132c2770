//! The officers' workspace, told as an officer uses it: from `haveyoursay user add` through the builder to an
//! open consultation, a resident's response, a paper response and closing it; then the builder's own rules —
//! its GOV.UK error pattern, drafts of published consultations, versions kept apart, two officers' edits,
//! duplicating, exporting and importing.

use crate::helpers::{spawn_app, Browser, Page, TestApp};
use serde_json::Value;

const ORG: &str = "Westshire Fire and Rescue Service";

/// Makes an officer with the command line, as the README says, and signs them in.
async fn officer_from_the_command_line(app: &TestApp, email: &str) -> Browser {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"));
    command.args([
        "user",
        "add",
        "--email",
        email,
        "--name",
        "Olu Officer",
        "--role",
        "officer",
        "--organisation",
        ORG,
    ]);
    command.args(["--password-stdin", "--database-url", &app.database_url]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a long and memorable passphrase\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app.sign_in(email, "a long and memorable passphrase").await
}

/// Submits a form shown at `form_page` to `action`, expecting a redirect; returns where it leads.
pub async fn done(b: &Browser, form_page: &str, action: &str, fields: &[(&str, &str)]) -> String {
    let page = b.submit(form_page, action, fields).await;
    assert_eq!(page.status, 303, "POST {action}: {}", excerpt(&page));
    page.location.clone().unwrap()
}

pub fn excerpt(page: &Page) -> String {
    let body = &page.body;
    match body.find("<main") {
        Some(at) => body[at..].chars().take(3000).collect(),
        None => body.chars().take(1500).collect(),
    }
}

/// The value of a hidden field on a page.
pub fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    page.body[start..].split('"').next().unwrap().to_string()
}

/// Builds a small consultation in the browser: a section with a scale, a long text shown only to those who
/// disagree, and a profile question; scheduled from yesterday for a month, results public. Returns its slug.
async fn build(b: &Browser, title: &str) -> String {
    let overview = done(
        b,
        "/officer/consultations/new",
        "/officer/consultations",
        &[("title", title), ("summary", "Tell us what you think of the plan.")],
    )
    .await;
    let slug = overview.trim_start_matches("/officer/consultations/").to_string();
    let base = format!("/officer/consultations/{slug}");
    done(
        b,
        &format!("{base}/details"),
        &format!("{base}/details"),
        &[
            ("revision", &hidden(&b.get(&format!("{base}/details")).await, "revision")),
            ("title", title),
            ("summary", "Tell us what you think of the plan."),
            ("body", "## Why we are asking\n\nWe want to **share stations**."),
            ("action", "save"),
        ],
    )
    .await;
    let revision = hidden(&b.get(&format!("{base}/sections/new")).await, "revision");
    done(
        b,
        &format!("{base}/sections/new"),
        &format!("{base}/sections"),
        &[("revision", &revision), ("title", "Your views"), ("description", ""), ("key", "")],
    )
    .await;
    let kind_form = format!("{base}/sections/your_views/questions/new?kind=scale");
    let revision = hidden(&b.get(&kind_form).await, "revision");
    let scale_options = b.get(&kind_form).await;
    assert!(scale_options.body.contains("Strongly agree"), "a new scale starts with the agree scale");
    let mut fields: Vec<(String, String)> = vec![
        ("revision".into(), revision),
        ("kind".into(), "scale".into()),
        ("section".into(), "your_views".into()),
        ("prompt".into(), "Do you support sharing fire stations?".into()),
        ("hint".into(), "".into()),
        ("required".into(), "yes".into()),
        ("purpose".into(), "opinion".into()),
        ("key".into(), "support".into()),
        ("option_count".into(), "5".into()),
        ("row_count".into(), "0".into()),
    ];
    for (i, label) in
        ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree"].iter().enumerate()
    {
        fields.push((format!("option_{i}_label"), label.to_string()));
        fields.push((format!("option_{i}_key"), String::new()));
    }
    fields.push(("action".into(), "save".into()));
    let fields_ref: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    done(b, &kind_form, &format!("{base}/sections/your_views/questions"), &fields_ref).await;

    for (kind, key, prompt, purpose, extra) in [
        ("long_text", "why_not", "Why do you disagree?", "opinion", vec![("max_length", "500")]),
        (
            "single_choice",
            "area",
            "Where do you live?",
            "profile",
            vec![
                ("option_count", "2"),
                ("option_0_label", "North"),
                ("option_0_key", ""),
                ("option_1_label", "South"),
                ("option_1_key", ""),
            ],
        ),
    ] {
        let form = format!("{base}/sections/your_views/questions/new?kind={kind}");
        let revision = hidden(&b.get(&form).await, "revision");
        let mut fields = vec![
            ("revision", revision.as_str()),
            ("kind", kind),
            ("section", "your_views"),
            ("prompt", prompt),
            ("hint", ""),
            ("required", "no"),
            ("purpose", purpose),
            ("key", key),
            ("action", "save"),
        ];
        fields.extend(extra);
        done(b, &form, &format!("{base}/sections/your_views/questions"), &fields).await;
    }
    // A route built by choosing the question and its answers.
    let rule_form = format!("{base}/routing/new?question=support");
    let revision = hidden(&b.get(&rule_form).await, "revision");
    done(
        b,
        &rule_form,
        &format!("{base}/routing"),
        &[
            ("revision", &revision),
            ("question", "support"),
            ("answers", "disagree"),
            ("answers", "strongly_disagree"),
            ("action", "show"),
            ("target", "question:why_not"),
        ],
    )
    .await;
    // Open since yesterday (in the council's zone), for a month; results public.
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let (d1, m1, y1) =
        (yesterday.format("%-d").to_string(), yesterday.format("%-m").to_string(), yesterday.format("%Y").to_string());
    let (d2, m2, y2) =
        (later.format("%-d").to_string(), later.format("%-m").to_string(), later.format("%Y").to_string());
    done(
        b,
        &format!("{base}/schedule"),
        &format!("{base}/schedule"),
        &[
            ("opens_day", &d1),
            ("opens_month", &m1),
            ("opens_year", &y1),
            ("opens_time", "9am"),
            ("closes_day", &d2),
            ("closes_month", &m2),
            ("closes_year", &y2),
            ("closes_time", "11:59pm"),
            ("visibility", "public"),
        ],
    )
    .await;
    slug
}

#[tokio::test]
async fn an_officer_runs_a_consultation_from_an_empty_workspace_to_closed() {
    let app = spawn_app().await;
    let officer = officer_from_the_command_line(&app, "olu@westshire.example").await;
    let slug = build(&officer, "Sharing our fire stations").await;
    let base = format!("/officer/consultations/{slug}");

    // Not public until published.
    assert_eq!(app.get(&format!("/consultations/{slug}")).await.status, 404);
    let overview = officer.get(&base).await;
    assert!(overview.body.contains("Draft"), "{}", excerpt(&overview));
    assert!(overview.body.contains("Show ‘Why do you disagree?’ when the answer to ‘Do you support sharing fire stations?’ is ‘Disagree’ or ‘Strongly disagree’"));
    // The consultation runs for 31 days, less than the 12 weeks councils normally allow: a warning, not a block.
    assert!(overview.body.contains("less than the 12 weeks"), "{}", excerpt(&overview));

    done(&officer, &format!("{base}/publish"), &format!("{base}/publish"), &[]).await;
    let public = app.get(&format!("/consultations/{slug}")).await;
    assert_eq!(public.status, 200);
    assert!(
        public.body.contains("Sharing our fire stations") && public.body.contains("<strong>share stations</strong>")
    );
    assert!(public.body.contains("Start now"));

    // A resident responds online: the route shows the follow-up to someone who disagrees.
    let resident = app.browser();
    let first = resident.get(&format!("/consultations/{slug}/respond")).await.location.unwrap();
    let csrf = resident.get(&first).await.csrf();
    let next = resident.post_form(&first, &[("_csrf", &csrf), ("q.support", "disagree"), ("q.area", "north")]).await;
    assert_eq!(next.status, 303, "{}", excerpt(&next));
    let follow_up = next.location.unwrap();
    assert!(follow_up.ends_with("your_views-2"), "{follow_up}");
    let check =
        resident.post_form(&follow_up, &[("_csrf", &csrf), ("q.why_not", "The station is too far away.")]).await;
    assert_eq!(check.status, 303);
    let submitted = resident.post_form(&format!("/consultations/{slug}/respond/check"), &[("_csrf", &csrf)]).await;
    assert_eq!(submitted.status, 303, "{}", excerpt(&submitted));

    // A paper response keyed in by the officer, with routing applied on save: an answer the form should have
    // skipped is left out.
    let paper = officer.get(&format!("{base}/paper")).await;
    assert_eq!(paper.status, 200, "{}", excerpt(&paper));
    let entry = hidden(&paper, "entry");
    let saved = officer
        .submit(
            &format!("{base}/paper"),
            &format!("{base}/paper"),
            &[
                ("entry", &entry),
                ("channel", "paper"),
                ("q.support", "agree"),
                ("q.why_not", "should be left out"),
                ("q.area", "south"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", excerpt(&saved));
    let after = officer.get(saved.location.as_deref().unwrap()).await;
    assert!(after.body.contains("is saved"), "{}", excerpt(&after));
    // Saving the same form twice keys it once.
    let twice = officer
        .submit(
            &format!("{base}/paper"),
            &format!("{base}/paper"),
            &[("entry", &entry), ("channel", "paper"), ("q.support", "agree"), ("q.area", "south")],
        )
        .await;
    assert_eq!(twice.status, 303);

    let (_, results) = app.get_json(&format!("/api/v1/consultations/{slug}/results")).await;
    assert_eq!(results["responses"], 2, "{results}");
    let why = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "why_not").unwrap();
    assert_eq!((why["base"].as_i64(), why["not_shown"].as_i64()), (Some(1), Some(1)), "{why}");
    let id = app.consultation_id(&slug).await;
    let officer_id = app.user_id("olu@westshire.example").await;
    let channels = app
        .db(move |conn| {
            use diesel::prelude::*;
            use haveyoursay::db::schema::responses::dsl;
            dsl::responses
                .filter(dsl::consultation_id.eq(id))
                .select((dsl::channel, dsl::entered_by))
                .order(dsl::id)
                .load::<(String, Option<i64>)>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(channels, [("online".to_string(), None), ("paper".to_string(), Some(officer_id))]);

    // Closing early: no more responses, and the hub says so.
    done(&officer, &format!("{base}/lifecycle/close"), &format!("{base}/lifecycle/close"), &[]).await;
    let closed = app.get(&format!("/consultations/{slug}")).await;
    assert!(closed.body.contains("This consultation has closed"));
    let late = app.post_response(&slug, "late", &serde_json::json!({"answers": {"support": "agree"}})).await;
    assert_eq!(late.status().as_u16(), 409);

    // Every step is in the audit log, by the officer.
    let actions = app
        .db(move |conn| {
            use diesel::prelude::*;
            use haveyoursay::db::schema::audit_log::dsl;
            dsl::audit_log.filter(dsl::consultation_id.eq(id)).select(dsl::action).load::<String>(conn).unwrap()
        })
        .await;
    for expected in [
        "consultation.create",
        "consultation.edit",
        "consultation.schedule",
        "consultation.publish",
        "response.enter",
        "consultation.close",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

#[tokio::test]
async fn editing_a_published_consultation_makes_a_draft_that_goes_live_only_when_published() {
    let app = spawn_app().await;
    let officer = app.signed_in("kim@westshire.example", "officer", Some(ORG)).await;
    let slug = build(&officer, "Station opening hours").await;
    let base = format!("/officer/consultations/{slug}");
    done(&officer, &format!("{base}/publish"), &format!("{base}/publish"), &[]).await;
    let body = serde_json::json!({"answers": {"support": "agree"}});
    assert_eq!(app.post_response(&slug, "v1", &body).await.status().as_u16(), 201);

    // A new question in the draft: residents still see version 1.
    let form = format!("{base}/sections/your_views/questions/new?kind=short_text");
    let revision = hidden(&officer.get(&form).await, "revision");
    done(
        &officer,
        &form,
        &format!("{base}/sections/your_views/questions"),
        &[
            ("revision", &revision),
            ("kind", "short_text"),
            ("section", "your_views"),
            ("prompt", "Anything else?"),
            ("hint", ""),
            ("required", "no"),
            ("purpose", "opinion"),
            ("key", "anything"),
            ("action", "save"),
        ],
    )
    .await;
    let (_, live) = app.get_json(&format!("/api/v1/consultations/{slug}")).await;
    assert_eq!(live["version"], 1);
    assert!(!live.to_string().contains("Anything else?"));
    let overview = officer.get(&base).await;
    assert!(overview.body.contains("Unpublished changes") && overview.body.contains("You are editing version 2"));

    // Changing what a key means once there are responses is refused at publishing, naming it.
    let edit = format!("{base}/questions/support");
    let page = officer.get(&edit).await;
    let revision = hidden(&page, "revision");
    let mut fields: Vec<(String, String)> = vec![
        ("revision".into(), revision),
        ("kind".into(), "scale".into()),
        ("section".into(), "your_views".into()),
        ("prompt".into(), "Do you support sharing fire stations?".into()),
        ("hint".into(), "".into()),
        ("required".into(), "yes".into()),
        ("purpose".into(), "opinion".into()),
        ("key".into(), "support".into()),
        ("option_count".into(), "5".into()),
        ("row_count".into(), "0".into()),
        ("action".into(), "save".into()),
    ];
    for (i, (label, key)) in [
        ("Strongly support", "strongly_agree"),
        ("Agree", "agree"),
        ("Neither agree nor disagree", "neither_agree_nor_disagree"),
        ("Disagree", "disagree"),
        ("Strongly disagree", "strongly_disagree"),
    ]
    .iter()
    .enumerate()
    {
        fields.push((format!("option_{i}_label"), label.to_string()));
        fields.push((format!("option_{i}_key"), key.to_string()));
    }
    let fields_ref: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    done(&officer, &edit, &edit, &fields_ref).await;
    let refused = officer.submit(&format!("{base}/publish"), &format!("{base}/publish"), &[]).await;
    assert_eq!(refused.status, 422, "{}", excerpt(&refused));
    assert!(refused.body.contains("was ‘Strongly agree’ in version 1"), "{}", excerpt(&refused));
    assert!(refused.body.contains("<title>Error: "));

    // Put back, it publishes as version 2; the first response keeps version 1 and the new question counts it
    // as not shown.
    fields.iter_mut().find(|(k, _)| k == "option_0_label").unwrap().1 = "Strongly agree".into();
    let revision = hidden(&officer.get(&edit).await, "revision");
    fields.iter_mut().find(|(k, _)| k == "revision").unwrap().1 = revision;
    let fields_ref: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    done(&officer, &edit, &edit, &fields_ref).await;
    done(&officer, &format!("{base}/publish"), &format!("{base}/publish"), &[]).await;
    let (_, live) = app.get_json(&format!("/api/v1/consultations/{slug}")).await;
    assert_eq!(live["version"], 2);
    assert_eq!(
        app.post_response(&slug, "v2", &serde_json::json!({"answers": {"support": "agree", "anything": "No"}}))
            .await
            .status()
            .as_u16(),
        201
    );
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{slug}/results")).await;
    let anything = results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "anything").unwrap();
    assert_eq!((anything["base"].as_i64(), anything["not_shown"].as_i64()), (Some(1), Some(1)), "{anything}");
}

#[tokio::test]
async fn two_officers_editing_at_once_cannot_overwrite_each_other_unseen() {
    let app = spawn_app().await;
    let first = app.signed_in("a@westshire.example", "officer", Some(ORG)).await;
    let second = app.signed_in("b@westshire.example", "officer", Some(ORG)).await;
    let slug = build(&first, "Two editors").await;
    let base = format!("/officer/consultations/{slug}");
    // Both open the section's page; the first saves; the second's save is refused with a message.
    let stale = hidden(&second.get(&format!("{base}/sections/your_views")).await, "revision");
    let fresh = hidden(&first.get(&format!("{base}/sections/your_views")).await, "revision");
    done(
        &first,
        &format!("{base}/sections/your_views"),
        &format!("{base}/sections/your_views"),
        &[("revision", &fresh), ("title", "Your views, please"), ("description", ""), ("key", "your_views")],
    )
    .await;
    let refused = second
        .submit(
            &format!("{base}/sections/your_views"),
            &format!("{base}/sections/your_views"),
            &[("revision", &stale), ("title", "Our views"), ("description", ""), ("key", "your_views")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Someone else changed this questionnaire"), "{}", excerpt(&refused));
    assert!(first.get(&base).await.body.contains("Your views, please"));
}

#[tokio::test]
async fn builder_forms_show_the_gov_uk_error_pattern() {
    let app = spawn_app().await;
    let officer = app.signed_in("e@westshire.example", "officer", Some(ORG)).await;
    let blank =
        officer.submit("/officer/consultations/new", "/officer/consultations", &[("title", ""), ("summary", "")]).await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("<title>Error: "));
    assert!(
        blank.body.contains("There is a problem")
            && blank.body.contains("href=\"#f-title\"")
            && blank.body.contains("id=\"f-title\"")
    );
    assert!(blank.body.contains("<span class=\"hys-visually-hidden\">Error:</span> Enter a title"));

    let slug = build(&officer, "Errors everywhere").await;
    let base = format!("/officer/consultations/{slug}");
    let form = format!("{base}/sections/your_views/questions/new?kind=multiple_choice");
    let revision = hidden(&officer.get(&form).await, "revision");
    let bad = officer
        .submit(
            &form,
            &format!("{base}/sections/your_views/questions"),
            &[
                ("revision", &revision),
                ("kind", "multiple_choice"),
                ("section", "your_views"),
                ("prompt", ""),
                ("hint", ""),
                ("required", ""),
                ("purpose", "opinion"),
                ("key", "Bad Key"),
                ("option_count", "2"),
                ("option_0_label", "Only one"),
                ("option_0_key", ""),
                ("option_1_label", ""),
                ("option_1_key", ""),
                ("max_selections", "many"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", excerpt(&bad));
    for message in [
        "Enter the question",
        "Select whether residents must answer",
        "The key must be",
        "Give at least two options",
        "must be a whole number",
    ] {
        assert!(bad.body.contains(message), "{message}: {}", excerpt(&bad));
    }
    assert!(bad.body.contains("value=\"Only one\""), "what was typed is kept");

    // "Add another option" shows the form again with one more line and nothing saved.
    let more = officer
        .submit(
            &form,
            &format!("{base}/sections/your_views/questions"),
            &[
                ("revision", &revision),
                ("kind", "multiple_choice"),
                ("section", "your_views"),
                ("prompt", "Which?"),
                ("option_count", "2"),
                ("option_0_label", "A"),
                ("option_1_label", "B"),
                ("action", "add_option"),
            ],
        )
        .await;
    assert_eq!(more.status, 200);
    assert!(more.body.contains("name=\"option_2_label\""), "a third line");

    // A backwards route is refused with a message naming it.
    let rule_form = format!("{base}/routing/new?question=area");
    let revision = hidden(&officer.get(&rule_form).await, "revision");
    let backwards = officer
        .submit(
            &rule_form,
            &format!("{base}/routing"),
            &[
                ("revision", &revision),
                ("question", "area"),
                ("answers", "north"),
                ("action", "skip"),
                ("target", "question:support"),
            ],
        )
        .await;
    assert_eq!(backwards.status, 422, "{}", excerpt(&backwards));
    assert!(
        backwards.body.contains("goes backwards") && backwards.body.contains("Where do you live?"),
        "{}",
        excerpt(&backwards)
    );
}

#[tokio::test]
async fn definitions_export_import_and_duplicate_to_the_same_consultation() {
    let app = spawn_app().await;
    let officer = app.signed_in("x@westshire.example", "officer", Some(ORG)).await;
    let slug = build(&officer, "Round trip").await;
    let base = format!("/officer/consultations/{slug}");
    let exported = officer.get(&format!("{base}/export")).await;
    assert_eq!(exported.status, 200);
    assert!(exported.header("content-disposition").unwrap().contains("attachment"));
    let mut definition: Value = serde_json::from_str(&exported.body).unwrap();
    definition["slug"] = "round-trip-again".into();

    // Importing it (as a file, without JavaScript) gives the same consultation under the new slug.
    let csrf = officer.get("/officer/import").await.csrf();
    let form = reqwest::multipart::Form::new().text("_csrf", csrf).text("definition", "").part(
        "file",
        reqwest::multipart::Part::bytes(serde_json::to_vec(&definition).unwrap()).file_name("round.json"),
    );
    let imported = officer.client.post(officer.url("/officer/import")).multipart(form).send().await.unwrap();
    assert_eq!(imported.status().as_u16(), 303, "{}", imported.text().await.unwrap());
    let again = officer.get("/officer/consultations/round-trip-again/export").await;
    let mut round: Value = serde_json::from_str(&again.body).unwrap();
    round["slug"] = slug.clone().into();
    definition["slug"] = slug.clone().into();
    assert_eq!(round, definition);

    // A definition with problems of every kind is refused, each named.
    let csrf = officer.get("/officer/import").await.csrf();
    let broken = serde_json::json!({"slug": "Bad!", "results_visibility": "everyone", "title": "", "summary": 7, "body": "",
        "sections": [{"key": "s", "title": "S", "questions": [{"key": "q", "kind": "slider", "prompt": "P", "required": true}]}],
        "routing": [{"target": "question", "key": "gone", "action": "show", "when": {"question": "q", "any_of": ["x"]}}]});
    let refused = officer.post_form("/officer/import", &[("_csrf", &csrf), ("definition", &broken.to_string())]).await;
    assert!(refused.status == 400 || refused.status == 403 || refused.status == 422, "{}", refused.status);
    let form = reqwest::multipart::Form::new()
        .text("_csrf", officer.get("/officer/import").await.csrf())
        .text("definition", broken.to_string());
    let refused =
        crate::helpers::page(officer.client.post(officer.url("/officer/import")).multipart(form).send().await.unwrap())
            .await;
    assert_eq!(refused.status, 422);
    for problem in [
        "results_visibility: ‘everyone’ is not one of",
        "summary: must be a string",
        "sections[0].questions[0].kind: ‘slider’ is not one of",
    ] {
        assert!(refused.body.contains(problem), "{problem}: {}", excerpt(&refused));
    }

    // Duplicating makes a new draft with the same questions and no dates.
    let copy = done(
        &officer,
        &format!("{base}/duplicate"),
        &format!("{base}/duplicate"),
        &[("title", "Round trip, again"), ("slug", "")],
    )
    .await;
    let copy_page = officer.get(&copy).await;
    assert!(
        copy_page.body.contains("Round trip, again")
            && copy_page.body.contains("Do you support sharing fire stations?")
    );
    assert!(copy_page.body.contains("Not set"));
}
