//! The resident's journey through the HTML pages, told as scenarios: start, answer page by page, meet every
//! validation message, routing, check your answers and its Change links, submit once, come back later, closed
//! and forthcoming consultations, and the headers and escaping every page needs (see /work/shared/PATTERNS.md).
//! A small string reader stands in for an HTML parser: the assertions name the structure the patterns require.

use crate::helpers::{spawn_app, Page, TestApp, CLOSED, IRMP};
use diesel::prelude::*;
use haveyoursay::db::schema::{answers, consultations, journeys, responses};
use std::collections::BTreeMap;

const IRMP_TITLE: &str = "Our Integrated Risk Management Plan 2027 to 2031";
const COUNCIL: &str = "Northshire County Council";

pub type Fields = &'static [(&'static str, &'static str)];

/// One page of the demo journey: its key, the questions it shows, and valid answers to them.
pub struct Step {
    pub page: &'static str,
    pub questions: &'static [&'static str],
    pub fields: Fields,
}

/// The demo journey of a resident who agrees with the headline: `why_disagree` (page `closer_working-2`) is
/// routed past, `organisation_name` is not asked of a resident. Every kind of question is answered.
pub const AGREE_JOURNEY: &[Step] = &[
    Step {
        page: "closer_working",
        questions: &["support_closer_working"],
        fields: &[("q.support_closer_working", "agree")],
    },
    Step {
        page: "closer_working_details",
        questions: &["closer_working_benefits", "collaboration_areas"],
        fields: &[
            ("q.closer_working_benefits", "faster_help"),
            ("q.closer_working_benefits", "other"),
            ("q.closer_working_benefits.other", "Fewer false alarms"),
            ("q.collaboration_areas", "joint_training"),
        ],
    },
    Step {
        page: "sharing_buildings",
        questions: &["support_shared_buildings", "shared_buildings_comments"],
        fields: &[
            ("q.support_shared_buildings", "strongly_agree"),
            ("q.shared_buildings_comments", "Keep the car park open for visitors"),
        ],
    },
    Step {
        page: "joint_control_room",
        questions: &["support_joint_control", "control_room_concerns"],
        fields: &[
            ("q.support_joint_control", "disagree"),
            ("q.control_room_concerns", "local_knowledge"),
            ("q.control_room_concerns", "jobs"),
        ],
    },
    Step {
        page: "joint_control_room-2",
        questions: &["control_room_concerns_detail"],
        fields: &[("q.control_room_concerns_detail", "Call handlers need to know the villages")],
    },
    Step {
        page: "prevention",
        questions: &["prevention_priorities", "had_home_visit"],
        fields: &[
            ("q.prevention_priorities.home_fire_safety_visits", "2"),
            ("q.prevention_priorities.road_safety", "3"),
            ("q.prevention_priorities.water_safety", "1"),
            ("q.prevention_priorities.business_fire_safety", "4"),
            ("q.had_home_visit", "yes"),
        ],
    },
    Step {
        page: "prevention-2",
        questions: &["last_home_visit_date", "reach_vulnerable_people"],
        fields: &[
            ("q.last_home_visit_date.day", "14"),
            ("q.last_home_visit_date.month", "3"),
            ("q.last_home_visit_date.year", "2024"),
            ("q.reach_vulnerable_people", "Through GP surgeries and pharmacies"),
        ],
    },
    Step { page: "about_you", questions: &["respondent_type"], fields: &[("q.respondent_type", "resident")] },
    Step {
        page: "about_you-2",
        questions: &["age_band", "household_size", "district"],
        fields: &[("q.age_band", "age_35_to_44"), ("q.household_size", "3"), ("q.district", "kingsholt")],
    },
];

/// What check your answers shows for `AGREE_JOURNEY`: question, the page its Change link opens, the answer.
const AGREE_SUMMARY: &[(&str, &str, &str)] = &[
    ("support_closer_working", "closer_working", "Agree"),
    (
        "closer_working_benefits",
        "closer_working_details",
        "People get help more quickly in an emergency Other (please specify) Other: Fewer false alarms",
    ),
    ("collaboration_areas", "closer_working_details", "Training together"),
    ("support_shared_buildings", "sharing_buildings", "Strongly agree"),
    ("shared_buildings_comments", "sharing_buildings", "Keep the car park open for visitors"),
    ("support_joint_control", "joint_control_room", "Disagree"),
    ("control_room_concerns", "joint_control_room", "Loss of local knowledge The effect on jobs"),
    ("control_room_concerns_detail", "joint_control_room-2", "Call handlers need to know the villages"),
    (
        "prevention_priorities",
        "prevention",
        "1. Water safety and preventing drowning 2. Home fire safety visits for people most at risk \
         3. Road safety education for young drivers 4. Fire safety advice and checks for businesses",
    ),
    ("had_home_visit", "prevention", "Yes"),
    ("last_home_visit_date", "prevention-2", "14 March 2024"),
    ("reach_vulnerable_people", "prevention-2", "Through GP surgeries and pharmacies"),
    ("respondent_type", "about_you", "As a resident of Northshire"),
    ("age_band", "about_you-2", "35 to 44"),
    ("household_size", "about_you-2", "3"),
    ("district", "about_you-2", "Kingsholt"),
];

fn step(page: &str) -> &'static Step {
    AGREE_JOURNEY.iter().find(|s| s.page == page).expect("a page of the agree journey")
}

/// A question of the demo questionnaire: its prompt and whether it is required.
fn demo_question(key: &str) -> (String, bool) {
    let demo: serde_json::Value = serde_json::from_str(include_str!("../../src/demo/irmp.json")).unwrap();
    let question = demo["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .find(|q| q["key"] == key)
        .unwrap_or_else(|| panic!("the demo has no question {key}"));
    (question["prompt"].as_str().unwrap().to_string(), question["required"].as_bool().unwrap())
}

fn prompt(key: &str) -> String {
    demo_question(key).0
}

fn consultation_path(slug: &str) -> String {
    format!("/consultations/{slug}")
}

fn respond_path(slug: &str, page: &str) -> String {
    format!("/consultations/{slug}/respond/{page}")
}

fn irmp(page: &str) -> String {
    respond_path(IRMP, page)
}

// ---------------------------------------------------------------------------------------------------------------
// A resident: a browser that keeps its cookies, and the CSRF token of the journey it is on.

/// A browser like the test client: keeps cookies, follows no redirects.
fn browser() -> reqwest::Client {
    crate::helpers::client().cookie_store(true).build().unwrap()
}

async fn read(r: reqwest::Response) -> Page {
    crate::helpers::page(r).await
}

/// Asserts a 303 See Other to a path on this site and returns the path.
fn see_other(page: &Page) -> String {
    assert_eq!(page.status, 303, "expected a 303 redirect, got {}:\n{}", page.status, excerpt(&page.body));
    let location = page.location.clone().expect("a 303 has a Location");
    assert!(location.starts_with('/'), "redirects stay on the site: {location}");
    location
}

fn excerpt(body: &str) -> String {
    let main = main_of(body);
    main.chars().take(3000).collect()
}

struct Resident<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    slug: String,
    csrf: String,
}

impl<'a> Resident<'a> {
    /// Starts a journey with the test app's own client (its cookies); returns the resident and the first page.
    async fn start(app: &'a TestApp, slug: &str) -> (Resident<'a>, String) {
        Self::start_with(app, app.client.clone(), slug).await
    }

    async fn start_with(app: &'a TestApp, client: reqwest::Client, slug: &str) -> (Resident<'a>, String) {
        let mut resident = Resident { app, client, slug: slug.to_string(), csrf: String::new() };
        let first = see_other(&resident.get(&format!("/consultations/{slug}/respond")).await);
        let page = resident.get(&first).await;
        assert_eq!(page.status, 200, "{first}");
        resident.csrf = page.csrf();
        (resident, first)
    }

    async fn get(&self, path: &str) -> Page {
        read(self.client.get(self.app.url(path)).send().await.expect("GET answers")).await
    }

    /// POSTs a form to a path, with the journey's CSRF token first.
    async fn post_to(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        form.extend_from_slice(fields);
        read(self.client.post(self.app.url(path)).form(&form).send().await.expect("POST answers")).await
    }

    /// POSTs answers to a question page of this resident's consultation.
    async fn post(&self, page: &str, fields: &[(&str, &str)]) -> Page {
        self.post_to(&respond_path(&self.slug, page), fields).await
    }

    /// Answers a page validly: asserts the 303 and returns where it leads.
    async fn answer(&self, page: &str, fields: &[(&str, &str)]) -> String {
        let response = self.post(page, fields).await;
        assert_eq!(response.status, 303, "answering {page}:\n{}", excerpt(&response.body));
        see_other(&response)
    }

    /// GETs a page that must be there (200).
    async fn open(&self, path: &str) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "GET {path}:\n{}", excerpt(&page.body));
        page
    }

    async fn submit(&self) -> Page {
        self.post_to(&format!("/consultations/{}/respond/check", self.slug), &[]).await
    }

    /// Answers the IRMP's `steps` in order from the first, checking each redirect leads to the next step and the
    /// last to check your answers.
    async fn answer_all(&self, steps: &[Step]) {
        for (n, s) in steps.iter().enumerate() {
            let next = self.answer(s.page, s.fields).await;
            let expected = steps.get(n + 1).map_or_else(|| irmp("check"), |s| irmp(s.page));
            assert_eq!(next, expected, "after {}", s.page);
        }
    }

    /// Submits from check your answers and returns the reference the confirmation shows.
    async fn submit_and_confirm(&self) -> String {
        let submitted = self.submit().await;
        assert_eq!(see_other(&submitted), format!("/consultations/{}/respond/confirmation", self.slug));
        let confirmation = self.open(&format!("/consultations/{}/respond/confirmation", self.slug)).await;
        reference_in(&confirmation.body)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading pages.

/// Text as tera's autoescaping writes it.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            _ => out.push(c),
        }
    }
    out
}

fn title_of(body: &str) -> &str {
    let start = body.find("<title>").expect("a <title>") + "<title>".len();
    let end = body[start..].find("</title>").expect("a </title>") + start;
    body[start..end].trim()
}

fn main_of(body: &str) -> &str {
    let Some(start) = body.find("<main") else { return body };
    let end = body[start..].find("</main>").map_or(body.len(), |e| e + start);
    &body[start..end]
}

fn h1_count(body: &str) -> usize {
    body.matches("<h1").count()
}

/// Every opening tag `<name …>` in `html`, with where it ends.
fn tags<'h>(html: &'h str, name: &str) -> Vec<(&'h str, usize)> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find(&open) {
        let start = at + i;
        let after = html[start + open.len()..].chars().next();
        let end = html[start..].find('>').map_or(html.len(), |e| start + e + 1);
        if matches!(after, Some(' ' | '>' | '\n' | '\t')) {
            found.push((&html[start..end], end));
        }
        at = end;
    }
    found
}

/// An attribute's value as the browser reads it (character references decoded).
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    Some(unescape(tag[start..].split('"').next().unwrap()))
}

/// Decodes the character references tera's escaping writes.
fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn has_attr(tag: &str, name: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>').any(|part| part == name || part.starts_with(&format!("{name}=")))
}

/// Text with the tags taken out and whitespace collapsed (entities stay as written).
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The href of the page's Back link.
fn back_link(body: &str) -> Option<String> {
    tags(body, "a").into_iter().find(|(t, _)| attr(t, "class").is_some_and(|c| c.contains("back-link"))).and_then(
        |(t, end)| {
            assert!(body[end..].trim_start().starts_with("Back"), "the back link says Back: {t}");
            attr(t, "href")
        },
    )
}

/// The `<input>` named `name` with value `value` (option keys need no escaping).
fn input<'h>(body: &'h str, name: &str, value: &str) -> Option<&'h str> {
    tags(body, "input")
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| attr(t, "name").as_deref() == Some(name) && attr(t, "value").as_deref() == Some(value))
}

fn is_checked(body: &str, name: &str, value: &str) -> bool {
    has_attr(input(body, name, value).unwrap_or_else(|| panic!("no input {name}={value}")), "checked")
}

/// The checked options of a radio or checkbox group.
fn checked(body: &str, name: &str) -> Vec<String> {
    tags(body, "input")
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| attr(t, "name").as_deref() == Some(name) && has_attr(t, "checked"))
        .filter_map(|t| attr(t, "value"))
        .collect()
}

/// The value of the text `<input>` named `name`.
fn input_value(body: &str, name: &str) -> Option<String> {
    tags(body, "input")
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| attr(t, "name").as_deref() == Some(name))
        .and_then(|t| attr(t, "value"))
}

fn textarea(body: &str, name: &str) -> Option<String> {
    let (_, end) = tags(body, "textarea").into_iter().find(|(t, _)| attr(t, "name").as_deref() == Some(name))?;
    Some(unescape(&body[end..end + body[end..].find("</textarea>")?]))
}

/// The value of the selected `<option>` of the `<select>` named `name`.
fn selected(body: &str, name: &str) -> Option<String> {
    let (_, end) = tags(body, "select").into_iter().find(|(t, _)| attr(t, "name").as_deref() == Some(name))?;
    let inner = &body[end..end + body[end..].find("</select>")?];
    tags(inner, "option").into_iter().map(|(t, _)| t).find(|t| has_attr(t, "selected")).and_then(|t| attr(t, "value"))
}

/// A reference like `HYS-7KQ3-M9XP` on the page.
fn reference_in(body: &str) -> String {
    let at = body.find("HYS-").expect("the page shows a reference");
    let reference: String = body[at..].chars().take(13).collect();
    let ok = reference.len() == 13
        && reference.chars().enumerate().all(|(i, c)| match i {
            0..=3 => true,
            8 => c == '-',
            _ => c.is_ascii_digit() || c.is_ascii_uppercase(),
        });
    assert!(ok, "a reference HYS-XXXX-XXXX: {reference}");
    reference
}

/// The question form group of `key` on a page: from its opening to the next group (or the buttons).
fn form_group<'h>(body: &'h str, key: &str) -> &'h str {
    let marker = format!("data-question-key=\"{key}\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("the page has no question {key}"));
    let rest = &body[start + marker.len()..];
    let end =
        ["data-question-key=\"", "type=\"submit\""].iter().filter_map(|m| rest.find(m)).min().unwrap_or(rest.len());
    &body[start..start + marker.len() + end]
}

/// Every page of the journey: the frame the patterns ask for.
fn assert_frame(page: &Page, path: &str) {
    let body = &page.body;
    assert!(body.contains("<html lang=\"en\""), "{path}: html lang");
    assert_eq!(h1_count(body), 1, "{path}: exactly one h1");
    assert!(title_of(body).ends_with(&format!("– {} – {COUNCIL}", esc(IRMP_TITLE))), "{path}: {}", title_of(body));
    assert!(body.contains("href=\"#main-content\""), "{path}: a skip link");
    assert!(body.contains("href=\"/accessibility\"") && body.contains("href=\"/privacy\""), "{path}: footer links");
}

/// A question shown on its page: "(optional)" after an optional one's prompt, nothing after a required one's,
/// and never an asterisk.
fn assert_labelled(body: &str, key: &str) {
    let (prompt, required) = demo_question(key);
    let group = form_group(body, key);
    if required {
        assert!(group.contains(&esc(&prompt)), "{key}: its prompt is shown");
        assert!(!group.contains("(optional)"), "{key} is required, so not marked optional");
    } else {
        assert!(group.contains(&format!("{} (optional)", esc(&prompt))), "{key}: marked (optional)");
    }
    assert!(!main_of(body).contains('*'), "no asterisks on the page of {key}");
}

/// A page shown again with one problem: 422, "Error: " title, an error summary linking to the field, the same
/// words beside the field (referenced by aria-describedby).
fn assert_problem(page: &Page, target: &str, key: &str, message: &str) {
    let body = &page.body;
    assert_eq!(page.status, 422, "expected 422 for {key} ({message}), got {}:\n{}", page.status, excerpt(body));
    assert!(title_of(body).starts_with("Error: "), "title: {}", title_of(body));
    let main = main_of(body);
    let summary_at = main.find("There is a problem").expect("an error summary");
    let form_at = main.find("<form").expect("the form");
    assert!(summary_at < form_at, "the error summary is at the top of main, before the form");
    let summary = &main[..form_at];
    assert!(summary.contains("role=\"alert\"") && summary.contains("tabindex=\"-1\""), "summary is an alert");
    let link = format!("<a href=\"#{target}\">{}</a>", esc(message));
    assert!(summary.contains(&link), "the summary links {link}:\n{summary}");
    assert!(body.contains(&format!("id=\"{target}\"")), "the summary's target #{target} is on the page");
    let group = form_group(body, key);
    let error_id = format!("q-{key}-error");
    let (_, end) = tags(group, "p")
        .into_iter()
        .find(|(t, _)| attr(t, "id").as_deref() == Some(error_id.as_str()))
        .unwrap_or_else(|| panic!("an error message #{error_id} beside {key}:\n{group}"));
    let beside = text(&group[end..end + group[end..].find("</p>").unwrap()]);
    assert_eq!(beside, format!("Error: {}", esc(message)), "the words beside {key}");
    assert!(
        group.contains("aria-describedby=\"")
            && group.split("aria-describedby=\"").skip(1).any(|s| s
                .split('"')
                .next()
                .unwrap()
                .split(' ')
                .any(|id| id == error_id)),
        "{key}'s field is described by its error message"
    );
}

/// One row of check your answers.
#[derive(Debug)]
struct Row {
    question: String,
    answer: String,
    change: String,
    /// The visually hidden words of the Change link.
    hidden: String,
}

fn summary_rows(body: &str) -> Vec<Row> {
    let main = main_of(body);
    let mut rows = Vec::new();
    for chunk in main.split("<dt").skip(1) {
        let question = text(&chunk[chunk.find('>').unwrap() + 1..chunk.find("</dt>").unwrap()]);
        let value_start = chunk.find("<dd").expect("an answer");
        let value_end = value_start + chunk[value_start..].find("</dd>").unwrap();
        let answer = text(&chunk[chunk[..value_end].rfind("<dd").unwrap()..value_end]);
        let (link, end) = tags(&chunk[value_end..], "a").into_iter().next().expect("a Change link");
        let inner_start = value_end + end;
        let inner = &chunk[inner_start..inner_start + chunk[inner_start..].find("</a>").unwrap()];
        assert!(inner.trim_start().starts_with("Change"), "the action is Change: {inner}");
        let hidden = tags(inner, "span")
            .into_iter()
            .find(|(t, _)| attr(t, "class").is_some_and(|c| c.contains("visually-hidden")))
            .map(|(_, end)| text(&inner[end..end + inner[end..].find("</span>").unwrap()]))
            .expect("the Change link names its question in visually hidden text");
        rows.push(Row { question, answer, change: attr(link, "href").unwrap(), hidden });
    }
    rows
}

fn row<'r>(rows: &'r [Row], key: &str) -> Option<&'r Row> {
    rows.iter().find(|r| r.change.ends_with(&format!("#q-{key}")))
}

/// Check your answers lists exactly `expected` (question key, page, answer), in order, each with its Change link.
fn assert_summary(body: &str, expected: &[(&str, &str, &str)]) {
    let rows = summary_rows(body);
    let keys: Vec<&str> = expected.iter().map(|(k, _, _)| *k).collect();
    assert_eq!(rows.len(), expected.len(), "rows {rows:#?}\nexpected {keys:?}");
    for (row, (key, page, answer)) in rows.iter().zip(expected) {
        let prompt = esc(&prompt(key));
        assert_eq!(row.question, prompt);
        assert_eq!(row.answer, esc(answer), "the answer to {key}");
        assert_eq!(row.change, format!("{}#q-{key}", irmp(page)));
        assert!(row.hidden.contains(&prompt), "the Change link's hidden text names {key}: {}", row.hidden);
    }
}

fn without(
    expected: &[(&'static str, &'static str, &'static str)],
    keys: &[&str],
) -> Vec<(&'static str, &'static str, &'static str)> {
    expected.iter().filter(|(k, _, _)| !keys.contains(k)).copied().collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Looking into the database.

/// The stored answers (question key to stored value) of the response with `reference`.
async fn stored_answers_of(app: &TestApp, slug: &str, reference: &str) -> BTreeMap<String, String> {
    let id = app.consultation_id(slug).await;
    let reference = reference.to_string();
    app.db(move |conn| {
        let response_ids: Vec<i64> = responses::table
            .filter(responses::consultation_id.eq(id))
            .filter(responses::reference.eq(&reference))
            .select(responses::id)
            .load(conn)
            .unwrap();
        assert_eq!(response_ids.len(), 1, "one response stored under {reference}");
        answers::table
            .filter(answers::response_id.eq(response_ids[0]))
            .select((answers::question_key, answers::value))
            .load::<(String, String)>(conn)
            .unwrap()
            .into_iter()
            .collect()
    })
    .await
}

async fn journeys_of(app: &TestApp, slug: &str) -> i64 {
    let id = app.consultation_id(slug).await;
    app.db(move |conn| journeys::table.filter(journeys::consultation_id.eq(id)).count().get_result(conn).unwrap()).await
}

async fn set_times(app: &TestApp, slug: &str, opens_in_days: i64, closes_in_days: i64) {
    let id = app.consultation_id(slug).await;
    app.db(move |conn| {
        let now = haveyoursay::models::now();
        diesel::update(consultations::table.find(id))
            .set((
                consultations::opens_at.eq(Some(now + chrono::Duration::days(opens_in_days))),
                consultations::closes_at.eq(Some(now + chrono::Duration::days(closes_in_days))),
            ))
            .execute(conn)
            .unwrap()
    })
    .await;
}

fn small_questionnaire(prompt: &str) -> serde_json::Value {
    serde_json::json!({"sections": [{"key": "views", "title": "Your views", "questions": [{
        "key": "support", "kind": "single_choice", "prompt": prompt, "required": true,
        "options": [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}]}]}]})
}

// ---------------------------------------------------------------------------------------------------------------
// The scenarios.

#[tokio::test]
async fn a_resident_responds_from_the_hub_to_the_confirmation() {
    let app = spawn_app().await;
    assert_eq!(app.stored_responses(IRMP).await, 420);

    // The hub lists the consultation under "Open consultations", and the closed one under "Closed".
    let hub = app.get("/").await;
    assert_eq!(hub.status, 200);
    let open_at = hub.body.find("Open consultations").expect("an Open consultations group");
    let forthcoming_at = hub.body.find("Forthcoming consultations").expect("a Forthcoming group");
    let closed_at = hub.body.find("Closed consultations").expect("a Closed group");
    let irmp_at = hub.body.find(&format!("href=\"{}\"", consultation_path(IRMP))).expect("the hub links the IRMP");
    let closed_link = hub.body.find(&format!("href=\"{}\"", consultation_path(CLOSED))).expect("the closed one");
    assert!(open_at < irmp_at && irmp_at < forthcoming_at, "the IRMP is listed as open");
    assert!(closed_at < closed_link, "the library consultation is listed as closed");

    // The consultation page starts the journey.
    let consultation = app.get(&consultation_path(IRMP)).await;
    assert_eq!(consultation.status, 200);
    let start = tags(&consultation.body, "a")
        .into_iter()
        .find(|(_, end)| consultation.body[*end..].starts_with("Start now"))
        .map(|(t, _)| attr(t, "href"))
        .expect("a Start now button");
    assert_eq!(start.as_deref(), Some(format!("/consultations/{IRMP}/respond").as_str()));

    let (resident, first) = Resident::start(&app, IRMP).await;
    assert_eq!(first, irmp("closer_working"));

    // Page by page: one h1, Back to the page before (the consultation page first; the routed-past
    // closer_working-2 never), "(optional)" where it belongs, then a 303 to the next page.
    let mut path = first;
    let mut back = consultation_path(IRMP);
    for s in AGREE_JOURNEY {
        assert_eq!(path, irmp(s.page));
        let page = resident.open(&path).await;
        assert_frame(&page, &path);
        assert_eq!(back_link(&page.body), Some(back.clone()), "the Back link of {path}");
        for key in s.questions {
            assert_labelled(&page.body, key);
        }
        if s.questions.len() == 1 {
            // A single question is the page's heading.
            let h1 = &page.body[page.body.find("<h1").unwrap()..];
            assert!(h1[..h1.find("</h1>").unwrap()].contains(&esc(&prompt(s.questions[0]))), "{path}: the h1");
        }
        if s.page == "about_you-2" {
            assert!(
                !page.body.contains(&esc(&prompt("organisation_name"))),
                "a resident is not asked for an organisation"
            );
        }
        let next = resident.answer(s.page, s.fields).await;
        back = path;
        path = next;
    }
    assert_eq!(path, irmp("check"));

    // Check your answers: every question shown, its answer and a Change link naming it.
    let check = resident.open(&path).await;
    assert_frame(&check, &path);
    assert!(title_of(&check.body).starts_with("Check your answers"));
    assert_eq!(back_link(&check.body), Some(irmp("about_you-2")));
    assert_summary(&check.body, AGREE_SUMMARY);
    assert!(check.body.contains("Submit response"));
    assert_eq!(app.stored_responses(IRMP).await, 420, "nothing is stored before submitting");

    // Submit: 303 to the confirmation, which gives the reference.
    let reference = resident.submit_and_confirm().await;
    let confirmation = resident.open(&irmp("confirmation")).await;
    assert!(confirmation.body.contains("Response submitted"));
    assert!(title_of(&confirmation.body).starts_with("Response submitted"));
    assert_eq!(h1_count(&confirmation.body), 1);

    assert_eq!(app.stored_responses(IRMP).await, 421, "stored once");
    let stored = stored_answers_of(&app, IRMP, &reference).await;
    assert_eq!(stored.len(), AGREE_SUMMARY.len(), "{stored:?}");
    assert_eq!(stored["support_closer_working"], "agree");
    assert_eq!(stored["household_size"], "3");
    assert_eq!(stored["last_home_visit_date"], "2024-03-14");
    let (status, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(status, 200);
    assert_eq!(results["responses"], 421, "the results count the response");
}

#[tokio::test]
async fn every_kind_of_question_explains_what_is_wrong_and_keeps_what_was_entered() {
    let app = spawn_app().await;
    let (r, _) = Resident::start(&app, IRMP).await;

    // Scale (a required radio): nothing chosen, then an option that does not exist.
    let p = r.post("closer_working", &[]).await;
    let headline = prompt("support_closer_working");
    assert_problem(
        &p,
        "q-support_closer_working",
        "support_closer_working",
        &format!("Select an answer for ‘{headline}’"),
    );
    assert!(checked(&p.body, "q.support_closer_working").is_empty());
    let p = r.post("closer_working", &[("q.support_closer_working", "maybe")]).await;
    assert_problem(
        &p,
        "q-support_closer_working",
        "support_closer_working",
        &format!("Select one of the options for ‘{headline}’"),
    );
    // A refused page is not recorded: the journey still starts there.
    assert_eq!(see_other(&r.get(&format!("/consultations/{IRMP}/respond")).await), irmp("closer_working"));
    r.answer("closer_working", step("closer_working").fields).await;

    // Multiple choice: more than max_selections, "Other" without details, an option that does not exist.
    let benefits = prompt("closer_working_benefits");
    let p = r
        .post(
            "closer_working_details",
            &[
                ("q.closer_working_benefits", "faster_help"),
                ("q.closer_working_benefits", "better_value"),
                ("q.closer_working_benefits", "shared_skills"),
                ("q.closer_working_benefits", "more_prevention"),
                ("q.collaboration_areas", "joint_training"),
            ],
        )
        .await;
    assert_problem(&p, "q-closer_working_benefits", "closer_working_benefits", "Select between 1 and 3 options");
    assert_eq!(
        checked(&p.body, "q.closer_working_benefits"),
        ["faster_help", "better_value", "shared_skills", "more_prevention"]
    );
    assert_eq!(checked(&p.body, "q.collaboration_areas"), ["joint_training"], "the other question keeps its answer");

    let p = r
        .post(
            "closer_working_details",
            &[
                ("q.closer_working_benefits", "faster_help"),
                ("q.closer_working_benefits", "other"),
                ("q.closer_working_benefits.other", "  "),
            ],
        )
        .await;
    assert_problem(
        &p,
        "q-closer_working_benefits-other",
        "closer_working_benefits",
        "Give details of ‘Other’, or choose a different option",
    );
    assert_eq!(checked(&p.body, "q.closer_working_benefits"), ["faster_help", "other"]);

    let p = r.post("closer_working_details", &[("q.closer_working_benefits", "free_pizza")]).await;
    assert_problem(
        &p,
        "q-closer_working_benefits",
        "closer_working_benefits",
        &format!("Select from the options for ‘{benefits}’"),
    );
    r.answer("closer_working_details", step("closer_working_details").fields).await;

    // Long text over its max_length (1000); the radio beside it stays chosen.
    let long = "Parking is hard. ".repeat(59); // 1003 characters, 1002 once trimmed
    let p = r
        .post("sharing_buildings", &[("q.support_shared_buildings", "agree"), ("q.shared_buildings_comments", &long)])
        .await;
    assert_problem(
        &p,
        "q-shared_buildings_comments",
        "shared_buildings_comments",
        "Answer must be 1000 characters or fewer",
    );
    assert!(
        textarea(&p.body, "q.shared_buildings_comments").is_some_and(|t| t.contains(long.trim())),
        "the text is kept"
    );
    assert!(is_checked(&p.body, "q.support_shared_buildings", "agree"));
    r.answer("sharing_buildings", step("sharing_buildings").fields).await;

    // An exclusive "None of these" with another option.
    let p = r
        .post(
            "joint_control_room",
            &[
                ("q.support_joint_control", "dont_know"),
                ("q.control_room_concerns", "jobs"),
                ("q.control_room_concerns", "none"),
            ],
        )
        .await;
    assert_problem(
        &p,
        "q-control_room_concerns",
        "control_room_concerns",
        "Select ‘None of these’ on its own, or choose other options",
    );
    assert_eq!(checked(&p.body, "q.control_room_concerns"), ["jobs", "none"]);
    assert!(is_checked(&p.body, "q.support_joint_control", "dont_know"));
    let next = r.answer("joint_control_room", &[("q.support_joint_control", "agree")]).await;
    assert_eq!(next, irmp("joint_control_room-2"));
    r.answer("joint_control_room-2", &[]).await;

    // Ranking with a duplicate rank; an optional radio with an unknown option.
    let ranks: [(&str, &str); 4] = [
        ("q.prevention_priorities.home_fire_safety_visits", "1"),
        ("q.prevention_priorities.road_safety", "1"),
        ("q.prevention_priorities.water_safety", "3"),
        ("q.prevention_priorities.business_fire_safety", "4"),
    ];
    let mut fields: Vec<(&str, &str)> = ranks.to_vec();
    fields.push(("q.had_home_visit", "yes"));
    let p = r.post("prevention", &fields).await;
    assert_problem(
        &p,
        "q-prevention_priorities",
        "prevention_priorities",
        "Give each option a different number from 1 to 4",
    );
    for (name, rank) in ranks {
        assert_eq!(selected(&p.body, name).as_deref(), Some(rank), "{name} keeps its rank");
    }
    assert!(is_checked(&p.body, "q.had_home_visit", "yes"));
    let mut fields: Vec<(&str, &str)> = step("prevention").fields[..4].to_vec();
    fields.push(("q.had_home_visit", "sometimes"));
    let p = r.post("prevention", &fields).await;
    assert_problem(
        &p,
        "q-had_home_visit",
        "had_home_visit",
        &format!("Select one of the options for ‘{}’", prompt("had_home_visit")),
    );
    assert_eq!(selected(&p.body, "q.prevention_priorities.water_safety").as_deref(), Some("1"));
    r.answer("prevention", step("prevention").fields).await;

    // Date: a part missing, then a date that does not exist.
    let p = r
        .post(
            "prevention-2",
            &[
                ("q.last_home_visit_date.day", "14"),
                ("q.last_home_visit_date.month", ""),
                ("q.last_home_visit_date.year", "2024"),
            ],
        )
        .await;
    // As in the GOV.UK date pattern, a missing part is linked to that part's field.
    assert_problem(&p, "q-last_home_visit_date-month", "last_home_visit_date", "Date must include a month");
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.day").as_deref(), Some("14"));
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.month").as_deref(), Some(""));
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.year").as_deref(), Some("2024"));
    let p = r
        .post(
            "prevention-2",
            &[
                ("q.last_home_visit_date.day", "31"),
                ("q.last_home_visit_date.month", "2"),
                ("q.last_home_visit_date.year", "2024"),
                ("q.reach_vulnerable_people", "Through GP surgeries"),
            ],
        )
        .await;
    assert_problem(&p, "q-last_home_visit_date", "last_home_visit_date", "Enter a real date, for example 27 3 2007");
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.day").as_deref(), Some("31"));
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.month").as_deref(), Some("2"));
    assert_eq!(input_value(&p.body, "q.last_home_visit_date.year").as_deref(), Some("2024"));
    assert_eq!(textarea(&p.body, "q.reach_vulnerable_people").as_deref(), Some("Through GP surgeries"));
    r.answer("prevention-2", step("prevention-2").fields).await;

    // A required radio with "Other": nothing chosen, then "Other" without details.
    let p = r.post("about_you", &[]).await;
    assert_problem(
        &p,
        "q-respondent_type",
        "respondent_type",
        &format!("Select an answer for ‘{}’", prompt("respondent_type")),
    );
    let p = r.post("about_you", &[("q.respondent_type", "other"), ("q.respondent_type.other", "")]).await;
    assert_problem(
        &p,
        "q-respondent_type-other",
        "respondent_type",
        "Give details of ‘Other’, or choose a different option",
    );
    assert!(is_checked(&p.body, "q.respondent_type", "other"));
    assert!(input(&p.body, "q.respondent_type.other", "").is_some(), "the other field is shown without JavaScript");

    // Short text over its max_length (150), asked of a business.
    assert_eq!(r.answer("about_you", &[("q.respondent_type", "business")]).await, irmp("about_you-2"));
    let name = "Northshire Widgets Limited ".repeat(6); // 162 characters
    let p = r.post("about_you-2", &[("q.organisation_name", &name), ("q.age_band", "age_25_to_34")]).await;
    assert_problem(&p, "q-organisation_name", "organisation_name", "Answer must be 150 characters or fewer");
    assert_eq!(input_value(&p.body, "q.organisation_name").as_deref(), Some(name.as_str()), "the text is kept");
    assert!(is_checked(&p.body, "q.age_band", "age_25_to_34"));

    // Number, asked of a resident: not a number, then out of range either side.
    assert_eq!(r.answer("about_you", &[("q.respondent_type", "resident")]).await, irmp("about_you-2"));
    for typed in ["lots", "2.5", "21", "0"] {
        let p = r.post("about_you-2", &[("q.household_size", typed), ("q.district", "eastmere")]).await;
        assert_problem(&p, "q-household_size", "household_size", "Enter a whole number between 1 and 20");
        assert_eq!(input_value(&p.body, "q.household_size").as_deref(), Some(typed), "the number typed is kept");
        assert!(is_checked(&p.body, "q.district", "eastmere"));
    }

    // Two problems on one page: one summary link each, in page order.
    let p = r.post("about_you-2", &[("q.age_band", "age_200"), ("q.household_size", "many")]).await;
    assert_eq!(p.status, 422);
    let summary = &main_of(&p.body)[..main_of(&p.body).find("<form").unwrap()];
    let age = summary.find("href=\"#q-age_band\"").expect("a link for age");
    let size = summary.find("href=\"#q-household_size\"").expect("a link for household size");
    assert!(age < size, "summary links follow the page order");

    assert_eq!(r.answer("about_you-2", step("about_you-2").fields).await, irmp("check"));
    assert_eq!(app.stored_responses(IRMP).await, 420, "validation stores nothing");
}

#[tokio::test]
async fn routing_skips_pages_and_forgets_answers_it_routes_past() {
    let app = spawn_app().await;
    let (r, _) = Resident::start(&app, IRMP).await;

    // A page further on cannot be reached before the pages before it are answered.
    assert_eq!(see_other(&r.get(&irmp("prevention")).await), irmp("closer_working"));
    let early = r.post("prevention", step("prevention").fields).await;
    assert_eq!(see_other(&early), irmp("closer_working"));
    assert_eq!(see_other(&r.get(&irmp("check")).await), irmp("closer_working"));

    // Agreeing routes past why_disagree: the next page is the details, and its page cannot be opened.
    assert_eq!(
        r.answer("closer_working", &[("q.support_closer_working", "agree")]).await,
        irmp("closer_working_details")
    );
    assert_eq!(see_other(&r.get(&irmp("closer_working-2")).await), irmp("closer_working_details"));
    let sneaked = r.post("closer_working-2", &[("q.why_disagree", "Sneaked in")]).await;
    assert_eq!(see_other(&sneaked), irmp("closer_working_details"), "a routed-past page takes no answers");
    r.answer("closer_working_details", step("closer_working_details").fields).await;
    r.answer("sharing_buildings", step("sharing_buildings").fields).await;

    // A checkbox answer without "None of these" asks for details; with it, the details page is skipped and the
    // details given before are forgotten.
    let concerns = [("q.support_joint_control", "disagree"), ("q.control_room_concerns", "jobs")];
    assert_eq!(r.answer("joint_control_room", &concerns).await, irmp("joint_control_room-2"));
    let detail = [("q.control_room_concerns_detail", "Worried about jobs in Kingsholt")];
    assert_eq!(r.answer("joint_control_room-2", &detail).await, irmp("prevention"));
    let none = [("q.support_joint_control", "disagree"), ("q.control_room_concerns", "none")];
    assert_eq!(r.answer("joint_control_room", &none).await, irmp("prevention"));
    assert_eq!(see_other(&r.get(&irmp("joint_control_room-2")).await), irmp("prevention"));
    assert_eq!(back_link(&r.open(&irmp("prevention")).await.body), Some(irmp("joint_control_room")));

    // Disagreeing shows why_disagree (and routes past the details section, whose answers go).
    assert_eq!(r.answer("closer_working", &[("q.support_closer_working", "disagree")]).await, irmp("closer_working-2"));
    let why = r.open(&irmp("closer_working-2")).await;
    assert!(why.body.contains(&format!("{} (optional)", esc(&prompt("why_disagree")))));
    assert_eq!(back_link(&why.body), Some(irmp("closer_working")));
    assert_eq!(h1_count(&why.body), 1);
    assert_eq!(r.answer("closer_working-2", &[("q.why_disagree", "It would cost too much")]).await, irmp("prevention"));
    assert_eq!(see_other(&r.get(&irmp("closer_working_details")).await), irmp("prevention"));
    assert_eq!(back_link(&r.open(&irmp("sharing_buildings")).await.body), Some(irmp("closer_working-2")));

    for s in &AGREE_JOURNEY[5..] {
        r.answer(s.page, s.fields).await;
    }
    let check = r.open(&irmp("check")).await;
    let rows = summary_rows(&check.body);
    assert!(row(&rows, "why_disagree").is_some_and(|r| r.answer == "It would cost too much"));
    assert!(row(&rows, "control_room_concerns").is_some_and(|r| r.answer == "None of these"));
    for gone in ["closer_working_benefits", "collaboration_areas", "control_room_concerns_detail", "organisation_name"]
    {
        assert!(row(&rows, gone).is_none(), "{gone} was routed past: {rows:#?}");
        assert!(!check.body.contains(&esc(&prompt(gone))), "{gone}'s question is not on the check page");
    }
    for answer in ["Worried about jobs in Kingsholt", "Fewer false alarms", "Sneaked in"] {
        assert!(!check.body.contains(answer), "{answer} is not on the check page");
    }

    let reference = r.submit_and_confirm().await;
    let stored = stored_answers_of(&app, IRMP, &reference).await;
    assert_eq!(stored["support_closer_working"], "disagree");
    assert_eq!(stored["why_disagree"], "It would cost too much");
    assert_eq!(stored["control_room_concerns"], "[\"none\"]");
    for gone in ["closer_working_benefits", "collaboration_areas", "control_room_concerns_detail", "organisation_name"]
    {
        assert!(!stored.contains_key(gone), "{gone} was routed past but stored: {stored:?}");
    }
}

#[tokio::test]
async fn change_links_return_to_check_after_any_page_the_change_reveals() {
    let app = spawn_app().await;
    let (r, _) = Resident::start(&app, IRMP).await;
    r.answer_all(AGREE_JOURNEY).await;
    let check = r.open(&irmp("check")).await;

    // A change that reveals nothing goes straight back to check.
    let rows = summary_rows(&check.body);
    let change = &row(&rows, "age_band").expect("an age row").change;
    let (path, fragment) = change.split_once('#').unwrap();
    let page = r.open(path).await;
    assert!(page.body.contains(&format!("id=\"{fragment}\"")), "the Change link's #{fragment} is on the page");
    assert!(is_checked(&page.body, "q.age_band", "age_35_to_44"), "the page shows the answer to change");
    assert_eq!(input_value(&page.body, "q.household_size").as_deref(), Some("3"));
    let changed = [("q.age_band", "age_45_to_54"), ("q.household_size", "3"), ("q.district", "kingsholt")];
    assert_eq!(r.answer("about_you-2", &changed).await, irmp("check"));
    let check = r.open(&irmp("check")).await;
    assert_eq!(row(&summary_rows(&check.body), "age_band").unwrap().answer, "45 to 54");

    // Changing the headline to disagree reveals why_disagree: it is asked before check comes back.
    let rows = summary_rows(&check.body);
    let change = row(&rows, "support_closer_working").unwrap().change.clone();
    assert_eq!(change, format!("{}#q-support_closer_working", irmp("closer_working")));
    let page = r.open(change.split('#').next().unwrap()).await;
    assert!(is_checked(&page.body, "q.support_closer_working", "agree"));
    assert_eq!(r.answer("closer_working", &[("q.support_closer_working", "disagree")]).await, irmp("closer_working-2"));
    assert_eq!(see_other(&r.get(&irmp("check")).await), irmp("closer_working-2"), "check waits for the new page");
    assert_eq!(r.answer("closer_working-2", &[("q.why_disagree", "It would cost too much")]).await, irmp("check"));
    let check = r.open(&irmp("check")).await;
    let mut expected = without(AGREE_SUMMARY, &["closer_working_benefits", "collaboration_areas"]);
    expected[0].2 = "Disagree";
    expected.insert(1, ("why_disagree", "closer_working-2", "It would cost too much"));
    for e in expected.iter_mut().filter(|e| e.0 == "age_band") {
        e.2 = "45 to 54";
    }
    assert_summary(&check.body, &expected);

    // Changing back: the details section is asked again, and why_disagree leaves the check page.
    assert_eq!(
        r.answer("closer_working", &[("q.support_closer_working", "strongly_agree")]).await,
        irmp("closer_working_details")
    );
    assert_eq!(
        r.answer("closer_working_details", &[("q.closer_working_benefits", "better_value")]).await,
        irmp("check")
    );
    let check = r.open(&irmp("check")).await;
    let rows = summary_rows(&check.body);
    assert!(row(&rows, "why_disagree").is_none(), "{rows:#?}");
    assert!(!check.body.contains("It would cost too much"));
    assert!(!check.body.contains(&esc(&prompt("why_disagree"))));
    assert_eq!(row(&rows, "support_closer_working").unwrap().answer, "Strongly agree");
    assert_eq!(row(&rows, "closer_working_benefits").unwrap().answer, "Better value for money");
    assert_eq!(row(&rows, "collaboration_areas").unwrap().answer, "Not answered");

    let reference = r.submit_and_confirm().await;
    let stored = stored_answers_of(&app, IRMP, &reference).await;
    assert!(!stored.contains_key("why_disagree"), "{stored:?}");
    assert_eq!(stored["support_closer_working"], "strongly_agree");
    assert_eq!(stored["age_band"], "age_45_to_54");
}

#[tokio::test]
async fn submitting_twice_stores_one_response() {
    let app = spawn_app().await;

    // One after the other.
    let (r, _) = Resident::start(&app, IRMP).await;
    r.answer_all(AGREE_JOURNEY).await;
    let first = r.submit().await;
    let second = r.submit().await;
    assert_eq!(see_other(&first), irmp("confirmation"));
    assert_eq!(see_other(&second), irmp("confirmation"));
    let reference = reference_in(&r.open(&irmp("confirmation")).await.body);
    assert_eq!(
        reference_in(&r.open(&irmp("confirmation")).await.body),
        reference,
        "a refresh shows the same reference"
    );
    assert_eq!(app.stored_responses(IRMP).await, 421);

    // After submitting, the journey's pages lead to the confirmation, and answers are not taken.
    let late = r.post("about_you", &[("q.respondent_type", "staff")]).await;
    assert_eq!(see_other(&late), irmp("confirmation"));
    assert_eq!(see_other(&r.get(&irmp("closer_working")).await), irmp("confirmation"));
    assert_eq!(see_other(&r.get(&irmp("check")).await), irmp("confirmation"));
    assert_eq!(stored_answers_of(&app, IRMP, &reference).await["respondent_type"], "resident");

    // At the same moment, from another browser.
    let (other, _) = Resident::start_with(&app, browser(), IRMP).await;
    other.answer_all(AGREE_JOURNEY).await;
    let (a, b) = tokio::join!(other.submit(), other.submit());
    assert_eq!(see_other(&a), irmp("confirmation"), "{}", excerpt(&a.body));
    assert_eq!(see_other(&b), irmp("confirmation"), "{}", excerpt(&b.body));
    let concurrent = reference_in(&other.open(&irmp("confirmation")).await.body);
    assert_ne!(concurrent, reference);
    assert_eq!(app.stored_responses(IRMP).await, 422, "two journeys, two responses");
    stored_answers_of(&app, IRMP, &concurrent).await; // exactly one response under the reference
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    assert_eq!(results["responses"], 422);
}

#[tokio::test]
async fn answers_survive_a_browser_restart() {
    let app = spawn_app().await;
    let (r, first) = Resident::start(&app, IRMP).await;
    assert_eq!(first, irmp("closer_working"));
    assert_eq!(journeys_of(&app, IRMP).await, 0, "nothing is stored before an answer is saved");
    // The journey cookie comes with the first answer saved.
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &r.csrf)];
    form.extend_from_slice(step("closer_working").fields);
    let saved = r.client.post(app.url(&first)).form(&form).send().await.unwrap();
    let cookie = saved
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("hys_journey="))
        .expect("the journey cookie is set");
    assert_eq!(see_other(&read(saved).await), irmp("closer_working_details"));
    assert_eq!(journeys_of(&app, IRMP).await, 1);
    assert_eq!(
        r.answer("closer_working_details", step("closer_working_details").fields).await,
        irmp("sharing_buildings")
    );

    // The browser restarts: a new client that kept only the lasting journey cookie (session cookies, like the
    // one CSRF tokens are bound to, do not survive a restart).
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&cookie, &app.url("/").parse().unwrap());
    let restarted =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_provider(jar).build().unwrap();
    let again = Resident { app: &app, client: restarted, slug: IRMP.into(), csrf: String::new() };
    assert_eq!(see_other(&again.get(&format!("/consultations/{IRMP}/respond")).await), irmp("sharing_buildings"));
    let details = again.open(&irmp("closer_working_details")).await;
    assert_eq!(checked(&details.body, "q.closer_working_benefits"), ["faster_help", "other"]);
    assert_eq!(input_value(&details.body, "q.closer_working_benefits.other").as_deref(), Some("Fewer false alarms"));
    assert_eq!(checked(&details.body, "q.collaboration_areas"), ["joint_training"]);
    let headline = again.open(&irmp("closer_working")).await;
    assert_eq!(checked(&headline.body, "q.support_closer_working"), ["agree"]);

    // And carries on where the first left off.
    let page = again.open(&irmp("sharing_buildings")).await;
    let again = Resident { csrf: page.csrf(), ..again };
    assert_eq!(again.answer("sharing_buildings", step("sharing_buildings").fields).await, irmp("joint_control_room"));
    assert_eq!(see_other(&r.get(&format!("/consultations/{IRMP}/respond")).await), irmp("joint_control_room"));

    // Without the cookie, a browser starts a journey of its own.
    let (_, first) = Resident::start_with(&app, browser(), IRMP).await;
    assert_eq!(first, irmp("closer_working"));
}

#[tokio::test]
async fn closed_and_forthcoming_consultations_take_no_responses() {
    let app = spawn_app().await;
    let responses_before = app.stored_responses(CLOSED).await;
    let answers_before = app.stored_answers(CLOSED).await;

    // The demo's closed consultation says so and offers no start.
    let page = app.get(&consultation_path(CLOSED)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("This consultation has closed"));
    assert!(!page.body.contains("Start now"));
    assert!(!page.body.contains(&format!("href=\"/consultations/{CLOSED}/respond\"")));

    let start = app.client.get(app.url(&format!("/consultations/{CLOSED}/respond"))).send().await.unwrap();
    assert!(start.headers().get("set-cookie").is_none(), "no journey cookie");
    let start = read(start).await;
    assert_eq!(start.status, 200);
    assert!(start.body.contains("This consultation has closed"));
    assert_eq!(h1_count(&start.body), 1);
    assert_eq!(journeys_of(&app, CLOSED).await, 0, "no journey is created");

    // A real token (any page's form gives one) so that the refusal is about the consultation being closed.
    let (_, irmp_first) = Resident::start(&app, IRMP).await;
    let csrf = app.get(&irmp_first).await.csrf();
    let answer = [("_csrf", csrf.as_str()), ("q.library_used", "kingsholt")];
    let p = app.post_form(&respond_path(CLOSED, "library_use"), &answer).await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("This consultation has closed"));
    let p = app.post_form(&respond_path(CLOSED, "check"), &answer[..1]).await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("This consultation has closed"));
    assert_eq!(app.stored_responses(CLOSED).await, responses_before);
    assert_eq!(app.stored_answers(CLOSED).await, answers_before);
    assert_eq!(journeys_of(&app, CLOSED).await, 0);

    // A resident part-way through when a consultation closes cannot submit.
    app.create_consultation("closing-today", "open", small_questionnaire("Do you support the plan?")).await;
    let (r, first) = Resident::start(&app, "closing-today").await;
    assert_eq!(first, respond_path("closing-today", "views"));
    assert_eq!(r.answer("views", &[("q.support", "yes")]).await, respond_path("closing-today", "check"));
    set_times(&app, "closing-today", -30, 0).await;
    let refused = r.submit().await;
    assert_eq!(refused.status, 409, "{}", excerpt(&refused.body));
    assert!(refused.body.contains("This consultation has closed"));
    assert_eq!(r.post("views", &[("q.support", "no")]).await.status, 409);
    assert_eq!(app.stored_responses("closing-today").await, 0);

    // A forthcoming consultation is listed as such and is not open yet.
    app.create_consultation("future-plans", "scheduled", small_questionnaire("Do you support the plan?")).await;
    set_times(&app, "future-plans", 10, 40).await;
    let hub = app.get("/").await;
    let forthcoming_at = hub.body.find("Forthcoming consultations").unwrap();
    let closed_at = hub.body.find("Closed consultations").unwrap();
    let link = hub.body.find("href=\"/consultations/future-plans\"").expect("the hub lists it");
    assert!(forthcoming_at < link && link < closed_at, "listed under Forthcoming consultations");
    let page = app.get(&consultation_path("future-plans")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("This consultation is not open yet"));
    assert!(!page.body.contains("Start now"));
    let start = app.client.get(app.url("/consultations/future-plans/respond")).send().await.unwrap();
    assert!(start.headers().get("set-cookie").is_none(), "no journey cookie");
    let start = read(start).await;
    assert_eq!(start.status, 200);
    assert!(start.body.contains("This consultation is not open yet"));
    assert_eq!(journeys_of(&app, "future-plans").await, 0);
    let p = app.post_form(&respond_path("future-plans", "views"), &answer).await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("This consultation is not open yet"));
    assert_eq!(app.stored_responses("future-plans").await, 0);
}

#[tokio::test]
async fn pages_send_security_headers_a_strict_cookie_and_escape_officer_text() {
    let app = spawn_app().await;

    // The journey cookie, set when the first answer is saved.
    let (r, first) = Resident::start(&app, IRMP).await;
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &r.csrf)];
    form.extend_from_slice(step("closer_working").fields);
    let saved = r.client.post(app.url(&first)).form(&form).send().await.unwrap();
    let cookie = saved
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("hys_journey="))
        .expect("the journey cookie is set");
    let attributes: Vec<String> = cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect();
    assert!(attributes.contains(&"httponly".into()), "{cookie}");
    assert!(attributes.contains(&"samesite=lax".into()), "{cookie}");
    assert!(cookie.split(';').any(|a| a.trim() == format!("Path=/consultations/{IRMP}")), "{cookie}");
    let token = cookie.split(';').next().unwrap().trim_start_matches("hys_journey=");
    assert!(token.len() >= 32, "the token is long and random: {token}");

    // Security headers on every kind of page, errors included.
    let invalid = r.client.post(app.url(&first)).form(&[("_csrf", r.csrf.as_str())]).send().await.unwrap();
    assert_eq!(invalid.status(), 422);
    let mut responses = vec![("an invalid page".to_string(), invalid)];
    for path in [
        "/".to_string(),
        consultation_path(IRMP),
        first.clone(),
        consultation_path(CLOSED),
        format!("/consultations/{CLOSED}/respond"),
        "/accessibility".into(),
        "/no-such-page".into(),
    ] {
        responses.push((path.clone(), app.client.get(app.url(&path)).send().await.unwrap()));
    }
    for (path, response) in &responses {
        let h = response.headers();
        let csp = h.get("content-security-policy").unwrap_or_else(|| panic!("{path}: a CSP")).to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'") || csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{path}");
        assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{path}");
    }

    // A POST without the journey's CSRF token is refused and saves nothing.
    let before = see_other(&app.get(&format!("/consultations/{IRMP}/respond")).await);
    let details = irmp("closer_working_details");
    let forged = app.post_form(&details, &[("_csrf", "forged"), ("q.collaboration_areas", "joint_training")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(see_other(&app.get(&format!("/consultations/{IRMP}/respond")).await), before, "nothing was saved");

    // Officer-authored text is escaped wherever it appears: question page, error page, check page.
    let q = serde_json::json!({"sections": [{
    "key": "views",
    "title": "Views <script>alert(2)</script>",
    "description": "Read this. <script>alert(3)</script>",
    "questions": [
        {"key": "support", "kind": "single_choice", "prompt": "<script>alert(1)</script>",
         "hint": "<img src=x onerror=alert(4)>", "required": true,
         "options": [{"key": "yes", "label": "<script>alert(5)</script>"}, {"key": "no", "label": "No & never"}]},
    ]}]});
    app.create_consultation("escaping", "open", q).await;
    let (r, first) = Resident::start(&app, "escaping").await;
    let page = r.open(&first).await;
    let error = r.post("views", &[]).await;
    assert_eq!(error.status, 422);
    assert_eq!(r.answer("views", &[("q.support", "yes")]).await, respond_path("escaping", "check"));
    let check = r.open(&respond_path("escaping", "check")).await;
    for (name, body) in [("question page", &page.body), ("error page", &error.body), ("check page", &check.body)] {
        assert!(body.contains("&lt;script&gt;alert(1)"), "{name}: the prompt is shown escaped");
        assert!(!body.contains("<script>alert"), "{name}: no officer script runs");
        assert!(!body.contains("<img src=x"), "{name}: no officer markup");
    }
    assert!(page.body.contains("&lt;script&gt;alert(5)"), "option labels are escaped");
    assert!(page.body.contains("No &amp; never"));
    assert!(page.body.contains("&lt;img src=x onerror=alert(4)&gt;"), "hints are escaped");
    assert!(title_of(&error.body).starts_with("Error: &lt;script&gt;"), "{}", title_of(&error.body));
    assert!(check.body.contains("&lt;script&gt;alert(5)"), "the chosen label is escaped on the check page");
}

#[tokio::test]
async fn a_line_break_counts_as_one_character_as_the_character_count_shows() {
    // Browsers send a textarea's line breaks as CR LF, while the character count (static/js/app.js) and the
    // textarea itself count each line break once. 10 lines of 99 characters are 999 characters to the resident.
    let app = spawn_app().await;
    let (r, _) = Resident::start(&app, IRMP).await;
    r.answer("closer_working", step("closer_working").fields).await;
    r.answer("closer_working_details", step("closer_working_details").fields).await;
    let line = "x".repeat(98) + ".";
    let comments = [line.as_str(); 10].join("\r\n");
    assert_eq!(comments.replace("\r\n", "\n").chars().count(), 999);
    let p = r
        .post(
            "sharing_buildings",
            &[("q.support_shared_buildings", "agree"), ("q.shared_buildings_comments", &comments)],
        )
        .await;
    assert_eq!(p.status, 303, "999 characters are within the limit of 1000:\n{}", excerpt(&p.body));
    assert_eq!(see_other(&p), irmp("joint_control_room"));
    let page = r.open(&irmp("sharing_buildings")).await;
    let kept = textarea(&page.body, "q.shared_buildings_comments").expect("the comments are shown again");
    assert_eq!(kept.replace("\r\n", "\n"), comments.replace("\r\n", "\n"));
}
