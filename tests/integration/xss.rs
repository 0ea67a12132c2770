//! Officer-authored text is data, never markup: a corpus of script, attribute-breaking, markdown and template
//! payloads is typed into every field the builder's forms have (title, summary, background, section titles
//! and descriptions, prompts, hints, option, row, "Other" and "None of these" labels), the consultation is
//! routed, published and answered, and every page that shows that text — residents', the builder's, the
//! preview, paper entry, results — is parsed as a browser would parse it: no script but the app's own, no
//! event-handler attribute, no `javascript:` address, and no template syntax evaluated.

use crate::builder::{done, excerpt, hidden};
use crate::helpers::{spawn_app, Browser, Page, TestApp};
use scraper::{Html, Selector};

/// Payloads for text shown as text or inside attributes.
const CORPUS: [&str; 12] = [
    "</title><script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "' onmouseover='alert(3)",
    "tpl{{ 7*7 }}end",
    "<script>alert(4)</script>",
    "<svg onload=alert(5)>",
    "tag{% raw %}x{% endraw %}end",
    "\" onfocus=\"alert(6)\" autofocus=\"",
    "[x](javascript:alert(7))",
    "![x](x\" onerror=\"alert(8))",
    "\u{202E}gpj.exe\u{200F}\u{2066}\u{200B}",
    "<a href=\"javascript:alert(9)\">j</a>",
];

/// Markdown payloads for the background, which is rendered as markdown.
const MARKDOWN: &str = "<div onclick=\"alert(10)\">a raw HTML block</div>\n\n\
    [x](javascript:alert(11))\n\n[y](  JaVaScRiPt:alert(12))\n\n[z](&#106;avascript:alert(13))\n\n\
    ![x](x\" onerror=\"alert(14))\n\n<a href=\"javascript:alert(15)\">link</a>\n\n\
    <iframe src=\"javascript:alert(16)\"></iframe>\n\n<img src=x onerror=alert(17)>\n\n\
    <form action=\"javascript:alert(18)\"><button formaction=\"javascript:alert(19)\">b</button></form>\n\n\
    {{ 7*7 }} {% raw %}tag{% endraw %}\n\n";

/// The whole corpus, or the part of it starting at `from` that fits in `limit` characters.
fn payload(from: usize, limit: usize) -> String {
    let mut out = String::new();
    for p in CORPUS.iter().cycle().skip(from).take(CORPUS.len()) {
        if out.chars().count() + p.chars().count() + 1 > limit {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// What the template syntax in the corpus would become if authored text were ever rendered as a template.
const EVALUATED: [&str; 2] = ["tpl49end", "tagxend"];

/// Asserts that a page is inert however it was reached: its scripts are the app's own, no element has an
/// event handler, and no address runs script.
fn assert_inert(what: &str, page: &Page, app_script: &str) {
    let doc = Html::parse_document(&page.body);
    let all = Selector::parse("*").unwrap();
    let mut scripts = 0;
    for element in doc.select(&all) {
        let e = element.value();
        if e.name() == "script" {
            assert!(e.attr("src").is_none(), "{what}: a script with src: {}", element.html());
            let text: String = element.text().collect();
            assert!(text == app_script, "{what}: a script that is not the app's: {}", element.html());
            scripts += 1;
        }
        for (name, value) in e.attrs() {
            assert!(!name.to_ascii_lowercase().starts_with("on"), "{what}: {name}=\"{value}\" on <{}>", e.name());
            let address: String =
                value.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>().to_lowercase();
            if ["href", "src", "action", "formaction", "xlink:href", "data", "poster"].contains(&name) {
                assert!(
                    !address.starts_with("javascript:") && !address.starts_with("vbscript:"),
                    "{what}: {name}=\"{value}\" on <{}>",
                    e.name()
                );
            }
        }
        if ["iframe", "object", "embed", "style"].contains(&e.name()) {
            panic!("{what}: a <{}> element: {}", e.name(), element.html());
        }
    }
    assert!(scripts <= 1, "{what}: {scripts} scripts");
    let text: String = doc.root_element().text().collect();
    for evaluated in EVALUATED {
        assert!(!text.contains(evaluated) && !page.body.contains(evaluated), "{what}: template syntax evaluated");
    }
}

/// GETs a page, expecting `status`, and asserts it shows some of the corpus, as text, and is inert.
async fn check(b: &Browser, path: &str, status: u16, app_script: &str) -> Page {
    let page = b.get(path).await;
    assert_eq!(page.status, status, "GET {path}: {}", excerpt(&page));
    let text: String = Html::parse_document(&page.body).root_element().text().collect();
    assert!(text.contains("<script>alert("), "GET {path} shows the corpus: {}", excerpt(&page));
    assert_inert(&format!("GET {path}"), &page, app_script);
    page
}

/// Adds a question through the builder's form, every text field carrying the corpus.
async fn add_question(b: &Browser, base: &str, section: &str, kind: &str, key: &str, extra: &[(&str, &str)]) {
    let form = format!("{base}/sections/{section}/questions/new?kind={kind}");
    let revision = hidden(&b.get(&form).await, "revision");
    let (prompt, hint) = (payload(0, 500), payload(3, 1000));
    let mut fields = vec![
        ("revision", revision.as_str()),
        ("kind", kind),
        ("section", section),
        ("prompt", prompt.as_str()),
        ("hint", hint.as_str()),
        ("required", "no"),
        ("purpose", "opinion"),
        ("key", key),
        ("action", "save"),
    ];
    fields.extend_from_slice(extra);
    done(b, &form, &format!("{base}/sections/{section}/questions"), &fields).await;
}

/// Goes through the journey answering the first choice of every question and "x" in every text field.
async fn respond(resident: &Browser, slug: &str, app_script: &str) -> Vec<String> {
    let mut visited = Vec::new();
    let mut at = resident.get(&format!("/consultations/{slug}/respond")).await.location.expect("to the first page");
    while !at.ends_with("/respond/check") {
        let page = check(resident, &at, 200, app_script).await;
        let doc = Html::parse_document(&page.body);
        let mut fields: Vec<(String, String)> = vec![("_csrf".into(), page.csrf())];
        let inputs = Selector::parse("main form input, main form textarea").unwrap();
        for input in doc.select(&inputs) {
            let (name, kind) = (input.value().attr("name").unwrap_or(""), input.value().attr("type").unwrap_or(""));
            if !name.starts_with("q.") || name.ends_with(".other") || fields.iter().any(|(n, _)| n == name) {
                continue;
            }
            let value = match kind {
                "radio" | "checkbox" => input.value().attr("value").unwrap().to_string(),
                _ => "x".to_string(),
            };
            fields.push((name.to_string(), value));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let next = resident.post_form(&at, &fields).await;
        assert_eq!(next.status, 303, "POST {at}: {}", excerpt(&next));
        visited.push(at);
        at = next.location.unwrap();
    }
    visited
}

#[tokio::test]
async fn authored_text_is_shown_as_text_on_every_page() {
    let app: TestApp = spawn_app().await;
    let app_script = std::fs::read_to_string("static/js/app.js").unwrap();
    let officer = app.signed_in("xss@westshire.example", "officer", Some("Westshire Council")).await;
    let title = payload(0, 200);
    let overview = done(
        &officer,
        "/officer/consultations/new",
        "/officer/consultations",
        &[("title", &title), ("summary", &payload(1, 1000))],
    )
    .await;
    let slug = overview.trim_start_matches("/officer/consultations/").to_string();
    let base = format!("/officer/consultations/{slug}");
    let body = format!("{MARKDOWN}{}", payload(0, 1000));
    let details = format!("{base}/details");
    let revision = hidden(&officer.get(&details).await, "revision");
    let summary = payload(2, 1000);
    let fields = [
        ("revision", revision.as_str()),
        ("title", &title),
        ("summary", &summary),
        ("body", &body),
        ("action", "save"),
    ];
    done(&officer, &details, &details, &fields).await;
    // The sanitised preview of the background, before it is saved.
    let revision = hidden(&officer.get(&details).await, "revision");
    let preview = officer
        .submit(
            &details,
            &details,
            &[
                ("revision", &revision),
                ("title", &title),
                ("summary", &summary),
                ("body", &body),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", excerpt(&preview));
    assert!(preview.body.contains("a raw HTML block"), "{}", excerpt(&preview));
    assert_inert("the background's preview", &preview, &app_script);

    for (key, from) in [("first", 0), ("second", 6)] {
        let revision = hidden(&officer.get(&format!("{base}/sections/new")).await, "revision");
        let fields = [
            ("revision", revision.as_str()),
            ("title", &payload(from, 200)),
            ("description", &payload(from + 1, 1000)),
            ("key", key),
        ];
        done(&officer, &format!("{base}/sections/new"), &format!("{base}/sections"), &fields).await;
    }
    let labels: Vec<String> = (0..4).map(|i| payload(i * 3, 300)).collect();
    let options = |keys: &[&'static str]| -> Vec<(String, String)> {
        let mut fields = vec![("option_count".to_string(), keys.len().to_string())];
        for (i, key) in keys.iter().enumerate() {
            fields.push((format!("option_{i}_label"), labels[i].clone()));
            fields.push((format!("option_{i}_key"), key.to_string()));
        }
        fields
    };
    let other_label = payload(4, 300);
    let mut single = options(&["a", "b"]);
    single.extend([("other".into(), "yes".into()), ("other_label".into(), other_label.clone())]);
    let mut multiple = options(&["a", "b", "c"]);
    multiple.extend([
        ("other".into(), "yes".into()),
        ("other_label".into(), other_label.clone()),
        ("none".into(), "yes".into()),
        ("none_label".into(), payload(5, 300)),
    ]);
    let mut grid = options(&["a", "b"]);
    grid.extend([
        ("row_count".into(), "2".into()),
        ("row_0_label".into(), payload(7, 300)),
        ("row_0_key".into(), "r1".into()),
        ("row_1_label".into(), payload(9, 300)),
        ("row_1_key".into(), "r2".into()),
    ]);
    for (section, kind, key, extra) in [
        ("first", "single_choice", "choice", single),
        ("first", "multiple_choice", "ticks", multiple),
        ("first", "grid", "grid", grid),
        ("first", "long_text", "long", vec![("max_length".to_string(), "500".to_string())]),
        ("second", "short_text", "short", vec![]),
    ] {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        add_question(&officer, &base, section, kind, key, &extra).await;
    }
    // The question form shown again with an error keeps the corpus in its fields, inert.
    let form = format!("{base}/sections/first/questions/new?kind=single_choice");
    let revision = hidden(&officer.get(&form).await, "revision");
    let refused = officer
        .submit(
            &form,
            &format!("{base}/sections/first/questions"),
            &[
                ("revision", &revision),
                ("kind", "single_choice"),
                ("section", "first"),
                ("prompt", &payload(0, 500)),
                ("hint", &payload(3, 1000)),
                ("option_count", "1"),
                ("option_0_label", &labels[0]),
                ("option_0_key", ""),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", excerpt(&refused));
    assert_inert("the question form with errors", &refused, &app_script);

    // A route on the first question's answer, shown with the prompt and labels.
    let rule_form = format!("{base}/routing/new?question=choice");
    let revision = hidden(&officer.get(&rule_form).await, "revision");
    let fields = [
        ("revision", revision.as_str()),
        ("question", "choice"),
        ("answers", "a"),
        ("action", "show"),
        ("target", "section:second"),
    ];
    done(&officer, &rule_form, &format!("{base}/routing"), &fields).await;

    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let day = |t: chrono::DateTime<chrono::Utc>, f: &str| t.format(f).to_string();
    let schedule = format!("{base}/schedule");
    let fields = [
        ("opens_day", day(yesterday, "%-d")),
        ("opens_month", day(yesterday, "%-m")),
        ("opens_year", day(yesterday, "%Y")),
        ("opens_time", "9am".into()),
        ("closes_day", day(later, "%-d")),
        ("closes_month", day(later, "%-m")),
        ("closes_year", day(later, "%Y")),
        ("closes_time", "11:59pm".into()),
        ("visibility", "public".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    done(&officer, &schedule, &schedule, &fields).await;

    // The builder's pages, before publishing: every one shows the corpus.
    let mut pages = vec![
        "/officer".to_string(),
        base.clone(),
        details.clone(),
        format!("{base}/sections/first"),
        format!("{base}/sections/second"),
        format!("{base}/sections/first/delete"),
        format!("{base}/routing"),
        format!("{base}/routing/new?question=choice"),
        format!("{base}/routing/new?question=ticks"),
        format!("{base}/publish"),
        format!("{base}/duplicate"),
        format!("{base}/preview"),
        format!("{base}/preview/first"),
        format!("{base}/preview/second"),
    ];
    for key in ["choice", "ticks", "grid", "long", "short"] {
        pages.push(format!("{base}/questions/{key}"));
        pages.push(format!("{base}/questions/{key}/delete"));
    }
    for page in &pages {
        check(&officer, page, 200, &app_script).await;
    }
    let page = check(&officer, &format!("{base}/preview/first"), 200, &app_script).await;
    assert!(page.body.contains("tpl{{ 7*7 }}end"), "the template syntax is shown as it was typed");

    done(&officer, &format!("{base}/publish"), &format!("{base}/publish"), &[]).await;

    // Residents' pages, and a response through the journey.
    let resident = app.browser();
    let hub = check(&resident, "/", 200, &app_script).await;
    assert!(hub.body.contains("tpl{{ 7*7 }}end"), "the hub lists the consultation by its title, as typed");
    check(&resident, &format!("/?q={}", "tpl"), 200, &app_script).await;
    let public = check(&resident, &format!("/consultations/{slug}"), 200, &app_script).await;
    assert!(public.body.contains("a raw HTML block"), "the background is shown");
    let doc = Html::parse_document(&public.body);
    let page_title: String = doc.select(&Selector::parse("title").unwrap()).next().unwrap().text().collect();
    assert!(page_title.contains("</title><script>alert(1)</script>"), "the title is text: {page_title}");
    let visited = respond(&resident, &slug, &app_script).await;
    assert!(visited.len() >= 2, "both sections shown by the route: {visited:?}");
    let check_page = check(&resident, &format!("/consultations/{slug}/respond/check"), 200, &app_script).await;
    let submitted =
        resident.post_form(&format!("/consultations/{slug}/respond/check"), &[("_csrf", &check_page.csrf())]).await;
    assert_eq!(submitted.status, 303, "{}", excerpt(&submitted));
    check(&resident, &submitted.location.unwrap(), 200, &app_script).await;
    check(&resident, &format!("/consultations/{slug}/results"), 200, &app_script).await;

    // After publishing: the builder, paper entry and the preview again.
    for page in
        [base.clone(), format!("{base}/paper"), format!("{base}/preview/first"), format!("{base}/lifecycle/close")]
    {
        check(&officer, &page, 200, &app_script).await;
    }
    // Paper entry with an error (a choice that is not an option) shows the form again, inert.
    let paper = officer.get(&format!("{base}/paper")).await;
    let entry = hidden(&paper, "entry");
    let refused = officer
        .submit(
            &format!("{base}/paper"),
            &format!("{base}/paper"),
            &[("entry", &entry), ("channel", "paper"), ("q.choice", "nope")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", excerpt(&refused));
    assert_inert("paper entry with errors", &refused, &app_script);

    // The definition export is JSON, never HTML, with the text exactly as typed.
    let export = officer.get(&format!("{base}/export")).await;
    assert_eq!(export.status, 200);
    assert_eq!(export.header("content-type"), Some("application/json"));
    assert_eq!(export.header("x-content-type-options"), Some("nosniff"));
    let definition: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(definition["title"], title.as_str());
    assert_eq!(definition["body"].as_str().map(str::trim), Some(body.trim()));
    let (status, api) = app.get_json(&format!("/api/v1/consultations/{slug}")).await;
    assert_eq!(status, 200);
    assert_eq!(api["title"], title.as_str());
}
