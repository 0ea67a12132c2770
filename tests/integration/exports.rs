//! Response exports over real HTTP: the CSV, the workbook and the JSON say what the stored answers say,
//! recounted here independently from the answers table; spreadsheet formulas are neutralised; only the
//! organisation's admins, officers and analysts download, each download in the audit log; and an export of
//! 100,000 responses streams from a server whose memory stays put.

use crate::api::every_kind;
use crate::helpers::{page, spawn_app, TestApp, IRMP, NORTHSHIRE_FIRE};
use diesel::prelude::*;
use haveyoursay::db::schema::{answers, audit_log, responses};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Every response of a consultation as stored: reference → (channel, question key → (value, other text)).
type Stored = BTreeMap<String, (String, BTreeMap<String, (String, Option<String>)>)>;

async fn stored(app: &TestApp, slug: &str) -> Stored {
    let id = app.consultation_id(slug).await;
    app.db(move |conn| {
        let rs: Vec<(i64, String, String)> = responses::table
            .filter(responses::consultation_id.eq(id))
            .select((responses::id, responses::reference, responses::channel))
            .load(conn)
            .unwrap();
        let stored: Vec<(i64, String, String, Option<String>)> = answers::table
            .filter(answers::consultation_id.eq(id))
            .select((answers::response_id, answers::question_key, answers::value, answers::other_text))
            .load(conn)
            .unwrap();
        let reference: HashMap<i64, String> = rs.iter().map(|(id, r, _)| (*id, r.clone())).collect();
        let mut out: Stored = rs.into_iter().map(|(_, r, c)| (r, (c, BTreeMap::new()))).collect();
        for (response, key, value, other) in stored {
            out.get_mut(&reference[&response]).unwrap().1.insert(key, (value, other));
        }
        out
    })
    .await
}

/// What the CSV must hold in a question's own column, worked out from the stored text alone: JSON lists (multiple
/// choice, ranking) joined by `;`, a grid's rows as `row=option`, anything else as stored.
fn expected_cell(stored: &str) -> String {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Array(keys)) => keys.iter().map(|k| k.as_str().unwrap().to_string()).collect::<Vec<_>>().join(";"),
        Ok(Value::Object(rows)) => {
            rows.iter().map(|(r, o)| format!("{r}={}", o.as_str().unwrap())).collect::<Vec<_>>().join(";")
        }
        _ => stored.to_string(),
    }
}

pub(crate) async fn download(app: &TestApp, slug: &str, format: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/api/v1/consultations/{slug}/responses?format={format}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("GET answers")
}

pub(crate) fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// The workbook's sheets, each as rows of cells in words (numbers as integers).
pub(crate) fn parse_xlsx(bytes: Vec<u8>) -> BTreeMap<String, Vec<Vec<String>>> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx workbook");
    let mut sheets = BTreeMap::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).unwrap();
        let rows = range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::Empty => String::new(),
                        Data::String(s) => s.clone(),
                        Data::Float(f) => format!("{}", *f as i64),
                        Data::Int(i) => i.to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        sheets.insert(name, rows);
    }
    sheets
}

#[tokio::test]
async fn csv_excel_and_json_exports_equal_a_recount_of_the_stored_answers() {
    let app = spawn_app().await;
    app.add_user("analyst@example.org", "analyst", Some(NORTHSHIRE_FIRE)).await;
    let token = app.token_for("analyst@example.org").await;
    let stored = stored(&app, IRMP).await;
    assert!(stored.len() >= 400, "the demo's responses");

    let r = download(&app, IRMP, "csv", Some(&token)).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(r.headers()["x-response-count"], stored.len().to_string().as_str());
    let (header, rows) = parse_csv(&r.text().await.unwrap());
    assert_eq!(&header[..4], ["reference", "channel", "version", "submitted_at"]);
    assert_eq!(rows.len(), stored.len(), "one row per response");
    let q = crate::api::questionnaire(&app, IRMP).await;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("a column {name}"));
    for row in &rows {
        let (channel, answers) = &stored[&row[0]];
        assert_eq!(&row[1], channel);
        assert_eq!(row[2], "1");
        for question in q.questions() {
            let given = answers.get(&question.key);
            let expected = given.map(|(v, _)| expected_cell(v)).unwrap_or_default();
            assert_eq!(row[col(&question.key)], expected, "{} of {}", question.key, row[0]);
            if question.kind == haveyoursay::domain::questionnaire::Kind::MultipleChoice {
                for o in question.options.iter().filter(|o| !(o.key == "other" && question.other_option().is_some())) {
                    let chosen =
                        given.is_some_and(|(v, _)| serde_json::from_str::<Vec<String>>(v).unwrap().contains(&o.key));
                    assert_eq!(row[col(&format!("{}.{}", question.key, o.key))], if chosen { "1" } else { "" });
                }
            }
            if question.other_option().is_some() {
                let other = given.and_then(|(_, o)| o.clone()).unwrap_or_default();
                assert_eq!(row[col(&format!("{}.other", question.key))], other);
            }
        }
    }
    // The headline figure counted from the file is the one the running totals give.
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    let headline =
        results["questions"].as_array().unwrap().iter().find(|q| q["key"] == "support_closer_working").unwrap();
    for option in headline["options"].as_array().unwrap() {
        let in_file =
            rows.iter().filter(|r| r[col("support_closer_working")] == option["key"].as_str().unwrap()).count();
        assert_eq!(in_file as i64, option["count"].as_i64().unwrap(), "{}", option["key"]);
    }

    // The workbook: the same cells, and a sheet explaining every column.
    let r = download(&app, IRMP, "xlsx", Some(&token)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], XLSX);
    let length: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let bytes = r.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len(), length);
    let sheets = parse_xlsx(bytes);
    let sheet = &sheets["Responses"];
    assert_eq!(sheet[0], header);
    assert_eq!(sheet.len(), rows.len() + 1);
    for (from_xlsx, from_csv) in sheet[1..].iter().zip(&rows) {
        let mut padded = from_xlsx.clone();
        padded.resize(header.len(), String::new());
        assert_eq!(&padded, from_csv);
    }
    let columns = &sheets["Columns"];
    assert_eq!(columns.len(), header.len() + 1, "a line per column");
    let support = columns.iter().find(|r| r[0] == "support_closer_working").unwrap();
    assert!(support[2].contains("more closely"), "the question's prompt: {support:?}");
    assert!(support[5].contains("strongly_agree = Strongly agree"), "its options: {support:?}");

    // JSON: an array of responses with the answers as the API takes them.
    let r = download(&app, IRMP, "json", Some(&token)).await;
    assert_eq!(r.status(), 200);
    let exported: Vec<Value> = r.json().await.unwrap();
    assert_eq!(exported.len(), stored.len());
    for e in &exported {
        let (channel, answers) = &stored[e["reference"].as_str().unwrap()];
        assert_eq!(e["channel"], channel.as_str());
        let mut expected = serde_json::Map::new();
        for (key, (value, other)) in answers {
            let kind = q.question(key).unwrap().kind;
            let value = haveyoursay::domain::answers::Value::from_stored(kind, value).unwrap();
            expected.insert(key.clone(), value.to_json());
            if let Some(other) = other {
                expected.insert(format!("{key}.other"), json!(other));
            }
        }
        assert_eq!(e["answers"], Value::Object(expected));
        assert!(e.get("email").is_none() && e.get("fingerprint").is_none() && e.get("idempotency_key").is_none());
    }
}

#[tokio::test]
async fn formulas_are_neutralised_in_csv_and_excel() {
    let app = spawn_app().await;
    let mut q = every_kind();
    q["sections"][0]["questions"][0]["prompt"] = json!("=cmd|' /C calc'!A0");
    app.create_consultation("formulas", "open", q.clone()).await;
    app.add_user("officer@example.org", "officer", Some("Test Council")).await;
    let token = app.token_for("officer@example.org").await;
    // (A leading tab or carriage return never reaches the file: answers are trimmed when submitted. The unit
    // test of `neutralise` covers them.)
    let attacks = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3", "@SUM(1)", "=1\tx", "@\rx"];
    for (i, attack) in attacks.iter().enumerate() {
        let body = json!({"answers": {"support": "agree", "services": ["other"], "services.other": attack,
                                      "rank": ["a", "b", "c"], "name": attack}});
        let r = app.post_response("formulas", &format!("attack-{i}"), &body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let r = download(&app, "formulas", "csv", Some(&token)).await;
    let (header, rows) = parse_csv(&r.text().await.unwrap());
    let mut expected: Vec<String> = attacks.iter().map(|a| format!("'{a}")).collect();
    expected.sort();
    let r = download(&app, "formulas", "xlsx", Some(&token)).await;
    let sheets = parse_xlsx(r.bytes().await.unwrap().to_vec());
    for column in ["name", "services.other"] {
        let at = header.iter().position(|h| h == column).unwrap();
        let mut cells: Vec<&str> = rows.iter().map(|r| r[at].as_str()).collect();
        cells.sort();
        assert_eq!(cells, expected, "{column} in the CSV");
        let mut cells: Vec<&str> = sheets["Responses"][1..].iter().map(|r| r[at].as_str()).collect();
        cells.sort();
        assert_eq!(cells, expected, "{column} in the workbook");
    }
    let prompt = sheets["Columns"].iter().find(|r| r[0] == "support").unwrap();
    assert_eq!(prompt[2], "'=cmd|' /C calc'!A0", "officer-authored text is neutralised too");
    for sheet in sheets.values() {
        for cell in sheet.iter().flatten() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "a formula cell: {cell:?}");
        }
    }
}

#[tokio::test]
async fn only_the_organisations_readers_download_and_each_download_is_audited() {
    let app = spawn_app().await;
    for (email, role, organisation) in [
        ("officer@example.org", "officer", Some(NORTHSHIRE_FIRE)),
        ("analyst@example.org", "analyst", Some(NORTHSHIRE_FIRE)),
        ("cabinet@example.org", "cabinet", Some(NORTHSHIRE_FIRE)),
        ("elsewhere@example.org", "officer", Some("Another Council")),
        ("admin@example.org", "admin", None),
    ] {
        app.add_user(email, role, organisation).await;
    }
    for (email, status) in [
        ("officer@example.org", 200),
        ("analyst@example.org", 200),
        ("admin@example.org", 200),
        ("cabinet@example.org", 403),
        ("elsewhere@example.org", 404),
    ] {
        let token = app.token_for(email).await;
        for format in ["csv", "xlsx", "json"] {
            let r = download(&app, IRMP, format, Some(&token)).await;
            assert_eq!(r.status(), status, "{email} {format}");
        }
        let r = download(&app, IRMP, "pdf", Some(&token)).await;
        assert_eq!(r.status(), if status == 200 { 400 } else { status }, "{email}: an unknown format");
    }
    assert_eq!(download(&app, IRMP, "csv", None).await.status(), 401);
    // Cookies never authenticate the API.
    let officer = app.signed_in("signed-in@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let r = officer.client.get(officer.url(&format!("/api/v1/consultations/{IRMP}/responses?format=csv"))).send().await;
    assert_eq!(r.unwrap().status(), 401);

    // The officers' page: the count, and a link for each format that downloads the same file.
    let analyst = app.signed_in("page-analyst@example.org", "analyst", Some(NORTHSHIRE_FIRE)).await;
    let home = analyst.get("/officer").await;
    assert!(home.body.contains(&format!("href=\"/officer/consultations/{IRMP}/responses\"")), "{}", home.body);
    let responses = app.stored_responses(IRMP).await;
    let shown = analyst.get(&format!("/officer/consultations/{IRMP}/responses")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains(&format!("{responses} responses")), "{}", shown.body);
    for format in ["csv", "xlsx", "json"] {
        let link = format!("/officer/consultations/{IRMP}/responses/download?format={format}");
        assert!(shown.body.contains(&link), "a link to {link}");
        let file = page(analyst.client.get(analyst.url(&link)).send().await.unwrap()).await;
        assert_eq!(file.status, 200, "{format}");
        assert_eq!(file.header("cache-control"), Some("no-store"));
        assert!(file.header("content-disposition").unwrap().starts_with("attachment; filename=\"irmp-2027-responses."));
    }
    let cabinet = app.signed_in("page-cabinet@example.org", "cabinet", Some(NORTHSHIRE_FIRE)).await;
    assert_eq!(cabinet.get(&format!("/officer/consultations/{IRMP}/responses")).await.status, 403);
    let link = format!("/officer/consultations/{IRMP}/responses/download?format=csv");
    assert_eq!(cabinet.get(&link).await.status, 403);
    let elsewhere = app.signed_in("page-elsewhere@example.org", "officer", Some("Another Council")).await;
    assert_eq!(elsewhere.get(&link).await.status, 404);
    let anonymous = app.browser().get(&link).await;
    assert_eq!(anonymous.status, 303);
    assert!(anonymous.location.unwrap().starts_with("/officer/sign-in"));

    // Every download that was let through is in the audit log: who, which format, which consultation, from where.
    let id = app.consultation_id(IRMP).await;
    let records: Vec<(String, Option<i64>, String, Option<String>)> = app
        .db(move |conn| {
            audit_log::table
                .filter(audit_log::action.eq("responses.export"))
                .select((audit_log::actor, audit_log::consultation_id, audit_log::detail, audit_log::address))
                .order(audit_log::id)
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(records.len(), 3 * 3 + 3, "{records:?}");
    for (_, consultation, detail, address) in &records {
        assert_eq!(*consultation, Some(id));
        let detail: Value = serde_json::from_str(detail).unwrap();
        assert!(["csv", "xlsx", "json"].contains(&detail["format"].as_str().unwrap()));
        assert_eq!(detail["responses"], responses);
        assert_eq!(address.as_deref(), Some("127.0.0.1"));
    }
    let actors: Vec<&str> = records.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actors.iter().filter(|a| **a == "analyst@example.org").count(), 3);
    assert_eq!(actors.iter().filter(|a| **a == "page-analyst@example.org").count(), 3);
}

/// The built binary serving the test's database, as a process of its own whose memory can be read alone.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Downloads `path` from `base` with `token`, reading the body chunk by chunk (never holding it), while the
/// server's memory is sampled: (bytes, lines, the most memory seen in kB).
async fn stream_and_watch(base: &str, path: &str, token: &str, pid: u32) -> (u64, u64, u64) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut most = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(crate::support::rss_kb(pid));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            most
        })
    };
    let mut r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = r.chunk().await.expect("the body arrives whole") {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    (bytes, lines, watching.join().unwrap())
}

/// 100,000 responses, each with a 600-character answer, so that each file is tens of megabytes: streamed, the
/// server's memory grows by far less than a file's size.
#[tokio::test]
async fn an_export_of_100000_responses_streams_without_the_servers_memory_growing() {
    const RESPONSES: usize = 100_000;
    const BOUND_KB: u64 = 40 * 1024;
    let app = spawn_app().await;
    let q = json!({"sections": [{"key": "s", "title": "Questions", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Pick one", "required": true, "options": [
            {"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
        {"key": "tell", "kind": "long_text", "prompt": "Tell us", "required": true, "max_length": 1000},
        {"key": "which", "kind": "multiple_choice", "prompt": "Which?", "required": true, "options": [
            {"key": "x", "label": "X"}, {"key": "y", "label": "Y"}]}
    ]}]});
    let id = app.create_consultation("large", "open", q).await;
    app.add_user("admin@example.org", "admin", None).await;
    let token = app.token_for("admin@example.org").await;
    app.db(move |conn| {
        use haveyoursay::domain::answers::{Answer, Answers, Value};
        use haveyoursay::models::response::{insert_many, NewResponse};
        let version_id = haveyoursay::models::version::published_ids(conn, id).unwrap()[0];
        let text: String = "All work and no play makes a long answer. ".repeat(15).chars().take(600).collect();
        for start in (0..RESPONSES).step_by(5000) {
            let keys: Vec<(String, String)> =
                (start..start + 5000).map(|i| (format!("HYS-LOAD-{i:06}"), format!("load-{i}"))).collect();
            let given: Vec<Answers> = (start..start + 5000)
                .map(|i| {
                    let mut a = Answers::new();
                    let pick = if i % 3 == 0 { "a" } else { "b" };
                    a.insert("pick".into(), Answer { value: Value::Choice(pick.into()), other: None });
                    a.insert("tell".into(), Answer { value: Value::Text(text.clone()), other: None });
                    a.insert(
                        "which".into(),
                        Answer { value: Value::Choices(vec!["x".into(), "y".into()]), other: None },
                    );
                    a
                })
                .collect();
            let now = haveyoursay::models::now();
            let new: Vec<NewResponse> = keys
                .iter()
                .map(|(reference, key)| NewResponse {
                    consultation_id: id,
                    version_id,
                    reference,
                    channel: "api",
                    entered_by: None,
                    idempotency_key: key,
                    fingerprint: "load",
                    submitted_at: now,
                    respondent: None,
                })
                .collect();
            let refs: Vec<&Answers> = given.iter().collect();
            haveyoursay::db::write(conn, |conn| insert_many(conn, &new, &refs)).unwrap();
        }
    })
    .await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(std::env::temp_dir().join(format!("hys-export-{port}.log"))).unwrap();
    let child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["serve", "--database-url", &app.database_url, "--bind", &format!("127.0.0.1:{port}")])
            .env("APP_ENVIRONMENT", "test")
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the binary starts"),
    );
    let pid = child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the server answers /healthz");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A first export of each kind warms the server up (its pools, its buffers); memory is counted from after.
    for format in ["csv", "json", "xlsx"] {
        stream_and_watch(&base, &format!("/api/v1/consultations/{IRMP}/responses?format={format}"), &token, pid).await;
    }
    let baseline = crate::support::rss_kb(pid);
    for format in ["csv", "json"] {
        let path = format!("/api/v1/consultations/large/responses?format={format}");
        let (bytes, lines, most) = stream_and_watch(&base, &path, &token, pid).await;
        assert!(bytes > 60_000_000, "{format}: the file is larger than the bound it is held to ({bytes} bytes)");
        assert_eq!(lines, RESPONSES as u64 + if format == "csv" { 1 } else { 2 }, "{format}: every response");
        let growth = most.saturating_sub(baseline);
        eprintln!("{format}: {bytes} bytes, resident memory {baseline} kB before, at most {most} kB during");
        assert!(growth <= BOUND_KB, "{format}: the server grew by {growth} kB while sending {bytes} bytes");
    }
}
