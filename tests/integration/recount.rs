//! The same figures everywhere: a consultation with every kind of question and routing takes a randomised set
//! of responses on each of two published versions; then the results API, the officers' dashboard, the CSV,
//! Excel and JSON exports and the published snapshot must all give the figures of a recount made here, from
//! what was sent, by a tally of the test's own that reads the questionnaires as JSON (no code of the
//! application's counts anything it is checked against).

use crate::api::{every_kind, questionnaire, random_body};
use crate::exports::{download, parse_csv, parse_xlsx};
use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const SLUG: &str = "recounted";
const ORG: &str = "Test Council";

/// What a recount gives for one question, or one row of a grid: how many answered, were not shown it (routed
/// past, or answering a version without it) and skipped it, and by option key how many chose it (ranking:
/// ranked it first) and, for a ranking, the mean position given, as the API rounds it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Line {
    base: i64,
    not_shown: i64,
    skipped: i64,
    options: BTreeMap<String, i64>,
    mean_rank: BTreeMap<String, String>,
}

/// By question key, or `<question key>.<row key>` for a grid's rows.
type Figures = BTreeMap<String, Line>;

/// A response as the test knows it: the number of the version it answered, and its answers in the API's shape.
#[derive(Debug, Clone, PartialEq)]
struct Response {
    version: usize,
    answers: Map<String, Value>,
}

/// One version's questionnaire, as JSON.
struct Version(Value);

impl Version {
    fn questions(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0["sections"].as_array().unwrap().iter().flat_map(|s| {
            let section = s["key"].as_str().unwrap();
            s["questions"].as_array().unwrap().iter().map(move |q| (section, q))
        })
    }

    fn question(&self, key: &str) -> Option<(&str, &Value)> {
        self.questions().find(|(_, q)| q["key"] == key)
    }

    /// Whether routing shows question `key` (in `section`) to a response with `answers`: each rule that names
    /// it or its section either shows it only when its condition holds, or skips it when it does.
    fn shown(&self, section: &str, key: &str, answers: &Map<String, Value>) -> bool {
        self.0["routing"].as_array().into_iter().flatten().all(|rule| {
            let target = rule["key"].as_str().unwrap();
            let aims = match rule["target"].as_str().unwrap() {
                "question" => target == key,
                _ => target == section,
            };
            if !aims {
                return true;
            }
            let given = answers.get(rule["when"]["question"].as_str().unwrap());
            let chosen: Vec<&str> = match given {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(keys)) => keys.iter().map(|k| k.as_str().unwrap()).collect(),
                _ => Vec::new(),
            };
            let holds =
                rule["when"]["any_of"].as_array().unwrap().iter().any(|k| chosen.contains(&k.as_str().unwrap()));
            if rule["action"] == "show" {
                holds
            } else {
                !holds
            }
        })
    }
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array().into_iter().flatten().map(|c| c["key"].as_str().unwrap().to_string()).collect()
}

/// Every question key any version asked, with its kind, and the option and row keys any version offered.
fn universe(versions: &[Version]) -> BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> {
    let mut all: BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for v in versions {
        for (_, q) in v.questions() {
            let entry = all.entry(q["key"].as_str().unwrap().to_string()).or_default();
            entry.0 = q["kind"].as_str().unwrap().to_string();
            entry.1.extend(keys(&q["options"]));
            entry.2.extend(keys(&q["rows"]));
        }
    }
    all
}

/// The recount: every response against the version it answered.
fn recount(versions: &[Version], responses: &[Response]) -> Figures {
    let all = universe(versions);
    let mut figures = Figures::new();
    let mut rank_sums: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (key, (kind, options, rows)) in &all {
        let zeroes: BTreeMap<String, i64> = options.iter().map(|o| (o.clone(), 0)).collect();
        let line = Line { options: zeroes, ..Line::default() };
        if kind == "grid" {
            // A grid's options are counted in its rows only.
            for row in rows {
                figures.insert(format!("{key}.{row}"), line.clone());
            }
            figures.insert(key.clone(), Line::default());
        } else {
            figures.insert(key.clone(), line);
        }
    }
    for r in responses {
        let version = &versions[r.version - 1];
        for (key, (kind, _, rows)) in &all {
            let asked = version.question(key);
            let shown = asked.is_some_and(|(section, _)| version.shown(section, key, &r.answers));
            let given = r.answers.get(key).filter(|_| shown);
            let line = figures.get_mut(key).unwrap();
            match (shown, given) {
                (false, _) => line.not_shown += 1,
                (true, None) => line.skipped += 1,
                (true, Some(value)) => {
                    line.base += 1;
                    match value {
                        Value::String(k) if ["single_choice", "scale"].contains(&kind.as_str()) => {
                            *line.options.get_mut(k).unwrap() += 1
                        }
                        Value::Array(ks) => {
                            for (at, k) in ks.iter().enumerate() {
                                let k = k.as_str().unwrap().to_string();
                                if kind == "ranking" {
                                    *rank_sums.entry((key.clone(), k.clone())).or_default() += at as i64 + 1;
                                }
                                if kind != "ranking" || at == 0 {
                                    *line.options.get_mut(&k).unwrap() += 1;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            for row in rows {
                let line = figures.get_mut(&format!("{key}.{row}")).unwrap();
                let row_asked = asked.is_some_and(|(_, q)| keys(&q["rows"]).contains(row));
                match given.and_then(|g| g.get(row)) {
                    _ if !shown || !row_asked => line.not_shown += 1,
                    None => line.skipped += 1,
                    Some(option) => {
                        line.base += 1;
                        *line.options.get_mut(option.as_str().unwrap()).unwrap() += 1;
                    }
                }
            }
        }
    }
    for ((key, option), sum) in rank_sums {
        let line = figures.get_mut(&key).unwrap();
        let mean = (sum as f64 / line.base as f64 * 100.0).round() / 100.0;
        line.mean_rank.insert(option, format!("{mean:.2}"));
    }
    for (key, (kind, options, _)) in &all {
        if kind == "ranking" {
            let line = figures.get_mut(key).unwrap();
            for o in options {
                line.mean_rank.entry(o.clone()).or_insert_with(|| "none".into());
            }
        }
    }
    figures
}

/// The figures of a results-shaped JSON (the API's results or the published snapshot): `count` null is taken
/// as what the recount says when `check_hidden` allows it to be hidden, so a suppressed count is held to its
/// reason instead of to a number.
fn figures_of(results: &Value, check_hidden: impl Fn(&Value, i64) -> bool, expected: &Figures) -> Figures {
    let mut out = Figures::new();
    let mut line_of = |name: String, v: &Value, ranking: bool| {
        let want = expected.get(&name).cloned().unwrap_or_default();
        let mut line = Line {
            base: v["base"].as_i64().unwrap(),
            not_shown: v["not_shown"].as_i64().unwrap(),
            skipped: v["skipped"].as_i64().unwrap(),
            ..Line::default()
        };
        for o in v["options"].as_array().unwrap() {
            let key = o["key"].as_str().unwrap().to_string();
            let wanted = want.options.get(&key).copied().unwrap_or(-1);
            let count = match o["count"].as_i64() {
                Some(n) => n,
                None if check_hidden(o, wanted) => wanted,
                None => -1,
            };
            line.options.insert(key.clone(), count);
            if ranking {
                let mean = o["mean_rank"].as_f64().map_or("none".to_string(), |m| format!("{m:.2}"));
                line.mean_rank.insert(key, mean);
            }
        }
        out.insert(name, line);
    };
    for q in results["questions"].as_array().unwrap() {
        let key = q["key"].as_str().unwrap();
        line_of(key.to_string(), q, q["kind"] == "ranking");
        for row in q["rows"].as_array().into_iter().flatten() {
            line_of(format!("{key}.{}", row["key"].as_str().unwrap()), row, false);
        }
    }
    out
}

/// The consultation: `every_kind()` (every kind of question but a grid, "Other", an exclusive option, and
/// routing by question and by section) with a grid in the routed section.
fn first_version() -> Value {
    let mut q = every_kind();
    q["sections"][1]["questions"].as_array_mut().unwrap().push(json!(
        {"key": "rate", "kind": "grid", "prompt": "How good is each?", "required": false,
         "rows": [{"key": "fire", "label": "Fire"}, {"key": "police", "label": "Police"}],
         "options": [{"key": "good", "label": "Good"}, {"key": "fair", "label": "Fair"},
                     {"key": "poor", "label": "Poor"}]}
    ));
    q
}

/// The second version, from the first's definition: an option added to one question and removed from
/// another, a grid row added, a question removed and a new one asked.
fn second_version(definition: &mut Value) {
    let sections = definition["sections"].as_array_mut().unwrap();
    let questions = |s: &mut Value| s["questions"].as_array_mut().unwrap().clone();
    let mut views = questions(&mut sections[0]);
    let mut details = questions(&mut sections[1]);
    let find = |list: &mut Vec<Value>, key: &str| list.iter().position(|q| q["key"] == key).unwrap();
    let services = find(&mut views, "services");
    views[services]["options"].as_array_mut().unwrap().retain(|o| o["key"] != "coast");
    views.push(json!({"key": "added", "kind": "single_choice", "prompt": "Asked from version 2", "required": false,
                      "options": [{"key": "y", "label": "Yes"}, {"key": "n", "label": "No"}]}));
    let area = find(&mut details, "area");
    details[area]["options"].as_array_mut().unwrap().push(json!({"key": "east", "label": "East"}));
    let rate = find(&mut details, "rate");
    details[rate]["rows"].as_array_mut().unwrap().push(json!({"key": "coast", "label": "Coastguard"}));
    let visit = find(&mut details, "visit");
    details.remove(visit);
    sections[0]["questions"] = Value::Array(views);
    sections[1]["questions"] = Value::Array(details);
}

/// Sends `n` random valid responses to the live version, remembering each under its reference.
async fn send(app: &TestApp, version: usize, n: usize, seed: u64, sent: &mut BTreeMap<String, Response>) {
    let live = questionnaire(app, SLUG).await;
    for i in 0..n {
        let body = random_body(&live, seed.wrapping_add((version * 1000 + i) as u64));
        let r = app.post_response(SLUG, &format!("v{version}-{i}"), &body).await;
        assert_eq!(r.status(), 201);
        let reference = r.json::<Value>().await.unwrap()["reference"].as_str().unwrap().to_string();
        // Text is stored trimmed (a long answer cut at its limit may end in a space).
        let mut answers = body["answers"].as_object().unwrap().clone();
        for value in answers.values_mut() {
            if let Value::String(text) = value {
                *text = text.trim().to_string();
            }
        }
        sent.insert(reference, Response { version, answers });
    }
}

/// An export's rows read back into responses: the question columns parsed by kind (lists and grids from
/// their `;` and `=`), blank cells left out.
fn from_table(header: &[String], rows: &[Vec<String>], versions: &[Version]) -> BTreeMap<String, Response> {
    let all = universe(versions);
    let mut out = BTreeMap::new();
    for row in rows {
        let mut row = row.clone();
        row.resize(header.len(), String::new());
        let mut answers = Map::new();
        for (key, (kind, _, _)) in &all {
            let cell = &row[header.iter().position(|h| h == key).unwrap()];
            if cell.is_empty() {
                continue;
            }
            let value = match kind.as_str() {
                "multiple_choice" | "ranking" => json!(cell.split(';').collect::<Vec<_>>()),
                "grid" => Value::Object(
                    cell.split(';').map(|p| p.split_once('=').unwrap()).map(|(r, o)| (r.into(), json!(o))).collect(),
                ),
                "number" => json!(cell.parse::<i64>().unwrap()),
                _ => json!(cell),
            };
            answers.insert(key.clone(), value);
        }
        out.insert(row[0].clone(), Response { version: row[2].parse().unwrap(), answers });
    }
    out
}

/// The question answers only (no "Other" text), which the CSV and the workbook give in their own columns.
fn questions_only(responses: &BTreeMap<String, Response>) -> BTreeMap<String, Response> {
    let mut out = responses.clone();
    for r in out.values_mut() {
        r.answers.retain(|k, _| !k.contains('.'));
    }
    out
}

/// Asserts two maps equal, naming the first entry that differs (the whole maps are too long to read).
#[track_caller]
fn assert_same<V: PartialEq + std::fmt::Debug>(got: &BTreeMap<String, V>, expected: &BTreeMap<String, V>, what: &str) {
    for (key, want) in expected {
        assert_eq!(got.get(key), Some(want), "{what}: {key}");
    }
    assert_eq!(got.len(), expected.len(), "{what}: nothing more");
}

async fn bearer_get(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn every_view_and_export_gives_the_figures_of_an_independent_recount() {
    let seed: u64 = rand::random();
    eprintln!("recount: seed {seed}");
    let app = spawn_app().await;
    app.create_consultation(SLUG, "open", first_version()).await;
    app.add_user("officer@example.org", "officer", Some(ORG)).await;
    let officer = app.token_for("officer@example.org").await;
    let mut sent = BTreeMap::new();
    let mut versions = vec![Version(first_version())];
    let first = 40 + (seed % 40) as usize;
    send(&app, 1, first, seed, &mut sent).await;

    // A second version, made and published through the officers' API; responses then answer it. (The times
    // are set to whole seconds first, as a definition gives them, so that the PUT does not read as a change.)
    let day = chrono::Duration::days(1);
    let at = |t: chrono::NaiveDateTime| t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let now = haveyoursay::models::now();
    let times = json!({"opens_at": at(now - day), "closes_at": at(now + day * 30)});
    let consultation = app.url(&format!("/api/v1/consultations/{SLUG}"));
    let patched = app.client.patch(consultation).bearer_auth(&officer).json(&times).send().await.unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let path = format!("/api/v1/consultations/{SLUG}/definition");
    let mut definition = bearer_get(&app, &path, &officer).await;
    second_version(&mut definition);
    let put = app.client.put(app.url(&path)).bearer_auth(&officer).json(&definition).send().await.unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let publish = format!("/api/v1/consultations/{SLUG}/publish");
    let r = app.client.post(app.url(&publish)).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    versions.push(Version(serde_json::to_value(questionnaire(&app, SLUG).await).unwrap()));
    // The submission path reuses its read of the consultation for up to a second (`AppState::
    // recent_consultation`), so a response sent sooner would be checked against, and recorded as answering,
    // the first version.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = 40 + (seed / 40 % 40) as usize;
    send(&app, 2, second, seed, &mut sent).await;

    let responses: Vec<Response> = sent.values().cloned().collect();
    let expected = recount(&versions, &responses);
    let kinds: BTreeSet<String> = universe(&versions).into_values().map(|(kind, _, _)| kind).collect();
    assert_eq!(kinds.len(), haveyoursay::domain::questionnaire::Kind::ALL.len(), "every kind is asked: {kinds:?}");
    assert!(expected["why_not"].not_shown > 0 && expected["rank"].not_shown > 0, "routing hid questions");
    assert!(expected["added"].not_shown >= first as i64 && expected["visit"].not_shown >= second as i64);

    // The results API, in the officer's working view (nothing suppressed).
    let results = bearer_get(&app, &format!("/api/v1/consultations/{SLUG}/results"), &officer).await;
    assert_eq!(results["responses"], (first + second) as i64);
    assert_same(&figures_of(&results, |_, _| false, &expected), &expected, &format!("the results API (seed {seed})"));

    // The dashboard: each question's line of figures, and each option's count in its table.
    let desk = app.signed_in("desk@example.org", "officer", Some(ORG)).await;
    let page = desk.get(&format!("/officer/consultations/{SLUG}/results")).await;
    assert_eq!(page.status, 200);
    for q in results["questions"].as_array().unwrap() {
        let key = q["key"].as_str().unwrap();
        let prompt = q["prompt"].as_str().unwrap();
        let tables: Vec<(String, String, &Value)> = match q["rows"].as_array() {
            Some(rows) => rows
                .iter()
                .map(|r| {
                    (
                        format!("{key}.{}", r["key"].as_str().unwrap()),
                        format!("{prompt}: {}", r["label"].as_str().unwrap()),
                        r,
                    )
                })
                .collect(),
            None => vec![(key.to_string(), prompt.to_string(), q)],
        };
        for (name, caption, shape) in tables {
            let line = &expected[&name];
            let said = format!(
                "{} answered · {} shown it but left it blank · {} not shown it",
                line.base, line.skipped, line.not_shown
            );
            assert!(page.body.contains(&said), "the dashboard says {said:?} for {name} (seed {seed})");
            if shape["options"].as_array().unwrap().is_empty() {
                continue;
            }
            let table = page.table(&caption);
            for (o, row) in shape["options"].as_array().unwrap().iter().zip(&table) {
                let count = line.options[o["key"].as_str().unwrap()];
                let shown =
                    if line.base == 0 { count.to_string() } else { format!("({count} of {} who answered)", line.base) };
                assert!(
                    row[1].contains(&shown),
                    "{name}.{}: the dashboard shows {:?}, not {shown:?}",
                    o["key"],
                    row[1]
                );
            }
        }
    }

    // The exports, each read back into responses: the same responses as were sent, so the same figures.
    let sent_questions = questions_only(&sent);
    let csv = download(&app, SLUG, "csv", Some(&officer)).await.text().await.unwrap();
    let (header, rows) = parse_csv(&csv);
    let from_csv = from_table(&header, &rows, &versions);
    assert_same(&from_csv, &sent_questions, &format!("the CSV (seed {seed})"));
    assert_eq!(recount(&versions, &from_csv.into_values().collect::<Vec<_>>()), expected, "the CSV's figures");
    let xlsx = download(&app, SLUG, "xlsx", Some(&officer)).await.bytes().await.unwrap().to_vec();
    let sheet = &parse_xlsx(xlsx)["Responses"];
    let from_xlsx = from_table(&sheet[0], &sheet[1..], &versions);
    assert_same(&from_xlsx, &sent_questions, &format!("the workbook (seed {seed})"));
    assert_eq!(recount(&versions, &from_xlsx.into_values().collect::<Vec<_>>()), expected, "the workbook's figures");
    let exported: Vec<Value> = download(&app, SLUG, "json", Some(&officer)).await.json().await.unwrap();
    let from_json: BTreeMap<String, Response> = exported
        .iter()
        .map(|e| {
            let version = e["version"].as_u64().unwrap() as usize;
            (
                e["reference"].as_str().unwrap().to_string(),
                Response { version, answers: e["answers"].as_object().unwrap().clone() },
            )
        })
        .collect();
    assert_same(&from_json, &sent, &format!("the JSON, \"Other\" text included (seed {seed})"));
    assert_eq!(recount(&versions, &from_json.into_values().collect::<Vec<_>>()), expected, "the JSON's figures");

    // The published snapshot, taken once the consultation has closed: every count shown is the recount's, and
    // each hidden one is either under 10 or hidden as a second count.
    crate::published::set_closes_of(&app, SLUG, haveyoursay::models::now() - chrono::Duration::minutes(1)).await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{SLUG}/results/publish")))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (status, snapshot) = app.get_json(&format!("/api/v1/consultations/{SLUG}/results/published")).await;
    assert_eq!(status, 200);
    assert_eq!(snapshot["responses"], (first + second) as i64);
    let hidden_rightly = |o: &Value, wanted: i64| match o["suppression"].as_str() {
        Some("fewer_than_10") => (1..10).contains(&wanted),
        Some("secondary") => true,
        _ => false,
    };
    assert_same(
        &figures_of(&snapshot, hidden_rightly, &expected),
        &expected,
        &format!("the published snapshot (seed {seed})"),
    );
}
