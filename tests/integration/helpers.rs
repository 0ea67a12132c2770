//! `spawn_app`: the real application on a random port over a fresh database — a SQLite file in a temporary
//! folder, or, when TEST_DATABASE_URL is set, a new PostgreSQL database of its own — with typed helpers for
//! requests and for looking into the database.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use haveyoursay::accounts::{self, Belongs};
use haveyoursay::config::{Overrides, Settings};
use haveyoursay::db::{DbConnection, Pool};
use haveyoursay::domain::questionnaire::Content;
use haveyoursay::domain::questionnaire::Questionnaire;
use haveyoursay::models::audit::Actor;
use haveyoursay::models::{self, consultation, organisation, version};
use haveyoursay::startup::Application;
use std::path::Path;

pub const IRMP: &str = "irmp-2027";
pub const CLOSED: &str = "library-opening-hours-2026";

pub struct TestApp {
    pub address: String,
    pub pool: Pool,
    pub database_url: String,
    /// Follows no redirects and keeps cookies, like a browser whose every step the test checks.
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    /// The PostgreSQL server's admin URL and this test's database on it, dropped with the app.
    postgres: Option<(String, String)>,
    /// Stops the app's outbox worker when the test ends, before its database goes.
    email_worker: haveyoursay::email::Wake,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.email_worker.stop();
        if let Some((admin_url, name)) = self.postgres.take() {
            // FORCE closes the connections the app's pool still holds.
            if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Where this test process writes every log line of every app it starts, at debug level, so that the logs of
/// the whole suite can be searched for what must never be in them (`email::the_logs_of_the_suite_…` and
/// .ci/run): `target/test-logs/integration-<pid>.log`.
pub fn suite_log() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-logs")
        .join(format!("integration-{}.log", std::process::id()))
}

/// Installs the test process's subscriber once: the configured level on standard error, as the binary logs,
/// and everything the app logs at debug level into `suite_log()`.
fn init_logs(settings: &haveyoursay::config::LogSettings) {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, EnvFilter};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let path = suite_log();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(&path).expect("the suite's log file");
        let everything = EnvFilter::new("haveyoursay=debug,actix_web=debug,actix_server=info,lettre=debug");
        let _ = tracing_subscriber::registry()
            .with(fmt::layer().with_writer(std::io::stderr).with_filter(EnvFilter::new(&settings.level)))
            .with(fmt::layer().with_ansi(false).with_writer(std::sync::Mutex::new(file)).with_filter(everything))
            .try_init();
    });
}

/// A client like a browser each of whose steps the test checks: it follows no redirects, and lets an idle
/// connection go before the server would (actix closes one after 5 s), so that on a loaded machine a request
/// is never sent on a connection the server is closing.
pub fn client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(2))
}

/// Starts the app over a fresh database with the demo consultations loaded.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// As `spawn_app`, with settings changed first (trusted proxies, timeouts).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (database_url, postgres) = match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let (url, name) = fresh_postgres_database(&admin_url);
            (url, Some((admin_url, name)))
        }
        Err(_) => (format!("sqlite://{}", dir.path().join("test.db").display()), None),
    };
    let overrides = Overrides {
        environment: Some("test".into()),
        bind: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.clone()),
    };
    let mut settings = Settings::load(Path::new("config"), &overrides).expect("test settings load");
    settings.email.folder = dir.path().join("mail").display().to_string();
    configure(&mut settings);
    init_logs(&settings.log);
    let zone = settings.timezone().unwrap();
    let app = tokio::task::spawn_blocking(move || {
        let app = Application::build(settings).expect("the application builds");
        haveyoursay::demo::load(&app.pool(), zone).expect("the demo loads");
        app
    })
    .await
    .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let email_worker = app.email_worker();
    tokio::spawn(app.run_until_stopped());
    let client = client().cookie_store(true).build().unwrap();
    TestApp { address, pool, database_url, client, _dir: dir, postgres, email_worker }
}

/// Several app instances on one fresh PostgreSQL database, started at the same moment (each runs the migrations
/// and loads the demo, as `serve --demo` does), as a deployment behind a load balancer runs them. None when the
/// suite runs on SQLite, which is one instance by design.
pub async fn spawn_instances(count: usize) -> Option<Vec<TestApp>> {
    spawn_instances_with(count, |_| {}).await
}

/// As `spawn_instances`, with the settings (the same for every instance) changed first.
pub async fn spawn_instances_with(count: usize, configure: impl FnOnce(&mut Settings)) -> Option<Vec<TestApp>> {
    let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
    let (database_url, name) = fresh_postgres_database(&admin_url);
    let overrides = Overrides {
        environment: Some("test".into()),
        bind: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.clone()),
    };
    let mut settings = Settings::load(Path::new("config"), &overrides).expect("test settings load");
    let mut mail = Some(tempfile::tempdir().unwrap());
    settings.email.folder = mail.as_ref().unwrap().path().join("mail").display().to_string();
    configure(&mut settings);
    init_logs(&settings.log);
    let zone = settings.timezone().unwrap();
    let start = std::sync::Arc::new(std::sync::Barrier::new(count));
    let builds: Vec<_> = (0..count)
        .map(|_| {
            let (settings, start) = (settings.clone(), start.clone());
            tokio::task::spawn_blocking(move || {
                start.wait();
                let app = Application::build(settings).expect("every instance starts");
                haveyoursay::demo::load(&app.pool(), zone).expect("the demo loads");
                app
            })
        })
        .collect();
    let mut apps = Vec::new();
    for (n, build) in builds.into_iter().enumerate() {
        let app = build.await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool();
        let email_worker = app.email_worker();
        tokio::spawn(app.run_until_stopped());
        let client = client().cookie_store(true).build().unwrap();
        // The first instance drops the database when the test ends.
        let postgres = (n == 0).then(|| (admin_url.clone(), name.clone()));
        apps.push(TestApp {
            address,
            pool,
            database_url: database_url.clone(),
            client,
            _dir: mail.take().unwrap_or_else(|| tempfile::tempdir().unwrap()),
            postgres,
            email_worker,
        });
    }
    Some(apps)
}

/// A database of its own for a test that runs the binary itself: a SQLite file, or a fresh PostgreSQL
/// database when TEST_DATABASE_URL is set, dropped with it.
pub struct ScratchDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl ScratchDatabase {
    pub fn new() -> ScratchDatabase {
        let dir = tempfile::tempdir().expect("a temporary folder");
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) => {
                let (url, name) = fresh_postgres_database(&admin_url);
                ScratchDatabase { url, _dir: dir, postgres: Some((admin_url, name)) }
            }
            Err(_) => {
                let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
                ScratchDatabase { url, _dir: dir, postgres: None }
            }
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Creates `hys_test_<random>` on the server named by `admin_url` and returns its URL and name.
fn fresh_postgres_database(admin_url: &str) -> (String, String) {
    let name = format!("hys_test_{}", haveyoursay::domain::reference::new_token());
    let mut admin = diesel::PgConnection::establish(admin_url).expect("TEST_DATABASE_URL answers");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("a test database is created");
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    (format!("{base}/{name}"), name)
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// A header's value, if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the hidden CSRF field of the page's form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a form with a CSRF token") + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }

    /// The body rows of the first table captioned `caption`, each as its cells' text (the row's header first),
    /// as a reader sees them.
    pub fn table(&self, caption: &str) -> Vec<Vec<String>> {
        let html = scraper::Html::parse_document(&self.body);
        let select = |s: &str| scraper::Selector::parse(s).unwrap();
        let (tables, captions, rows, cells) =
            (select("table"), select("caption"), select("tbody tr"), select("th, td"));
        let text =
            |e: scraper::ElementRef| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
        let table = html
            .select(&tables)
            .find(|t| t.select(&captions).next().is_some_and(|c| text(c) == caption))
            .unwrap_or_else(|| panic!("no table captioned {caption:?}"));
        table.select(&rows).map(|r| r.select(&cells).map(text).collect()).collect()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        page(self.client.get(self.url(path)).send().await.expect("GET answers")).await
    }

    /// POSTs a form given as name/value pairs (names may repeat).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_raw_form(path, form_body(fields)).await
    }

    pub async fn post_raw_form(&self, path: &str, body: Vec<u8>) -> Page {
        post_raw(&self.client, &self.url(path), body).await
    }

    /// POSTs a response to the API with an Idempotency-Key.
    pub async fn post_response(&self, slug: &str, key: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/consultations/{slug}/responses")))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("POST answers")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.client.get(self.url(path)).send().await.expect("GET answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Runs a closure on a pooled connection, off the async workers.
    pub async fn db<T: Send + 'static>(&self, f: impl FnOnce(&mut DbConnection) -> T + Send + 'static) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("a connection"))).await.unwrap()
    }

    pub async fn consultation_id(&self, slug: &str) -> i64 {
        let slug = slug.to_string();
        self.db(move |conn| consultation::find_by_slug(conn, &slug).unwrap().expect("the consultation exists").id).await
    }

    /// Responses stored for a consultation, counted from the responses table itself.
    pub async fn stored_responses(&self, slug: &str) -> i64 {
        let id = self.consultation_id(slug).await;
        self.db(move |conn| models::response::count(conn, id).unwrap()).await
    }

    /// Answers stored for a consultation, counted from the answers table itself.
    pub async fn stored_answers(&self, slug: &str) -> i64 {
        use diesel::prelude::*;
        use haveyoursay::db::schema::answers::dsl;
        let id = self.consultation_id(slug).await;
        self.db(move |conn| dsl::answers.filter(dsl::consultation_id.eq(id)).count().get_result::<i64>(conn).unwrap())
            .await
    }

    /// Makes a consultation of the test organisation with `q` (JSON in the API's questionnaire shape), with
    /// public results, at `stage`: "draft" (never published), "scheduled" (opens in three days), "open" (since
    /// yesterday, for a month) or "closed" (yesterday, after a month).
    pub async fn create_consultation(&self, slug: &str, stage: &str, q: serde_json::Value) -> i64 {
        let q: Questionnaire = serde_json::from_value(q).expect("a questionnaire");
        q.check().expect("a valid questionnaire");
        let slug = slug.to_string();
        let stage = stage.to_string();
        self.db(move |conn| {
            haveyoursay::db::write(conn, |conn| -> diesel::QueryResult<i64> {
                let now = models::now();
                let day = chrono::Duration::days(1);
                let (opens, closes) = match stage.as_str() {
                    "scheduled" => (now + day * 3, now + day * 33),
                    "closed" => (now - day * 31, now - day),
                    "open" | "draft" => (now - day, now + day * 30),
                    other => panic!("no such stage {other}"),
                };
                let organisation = organisation::find_or_create(conn, "Test Council")?;
                let id = consultation::insert(
                    conn,
                    &consultation::NewConsultation {
                        organisation_id: organisation.id,
                        slug: &slug,
                        opens_at: Some(opens),
                        closes_at: Some(closes),
                        results_visibility: "public",
                        outcome: None,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                let content = Content {
                    title: format!("Test consultation {slug}").into(),
                    summary: "A consultation made by a test.".into(),
                    body: "Some **background**.".into(),
                    questionnaire: q,
                };
                if stage == "draft" {
                    version::create_draft(conn, id, &content)?;
                } else {
                    version::publish_content(conn, id, &content)?;
                }
                Ok(id)
            })
            .unwrap()
        })
        .await
    }
}

/// The demo's organisation, whose officers may see the IRMP consultation.
pub const NORTHSHIRE_FIRE: &str = "Northshire Fire and Rescue Service";

/// A browser of its own: its own cookies, following no redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    base: String,
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        page(self.client.get(self.url(path)).send().await.expect("GET answers")).await
    }

    /// POSTs a form given as name/value pairs.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        post_raw(&self.client, &self.url(path), form_body(fields)).await
    }

    /// GETs `form_page`, then POSTs `fields` to `action` with the page's CSRF token.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// The value of a cookie the browser holds, by name.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookie_at(name, "/")
    }

    /// The value of a cookie the browser would send to `path`, by name (the journey's is scoped to its
    /// consultation).
    pub fn cookie_at(&self, name: &str, path: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.cookies(&format!("{}{path}", self.base.trim_end_matches('/')).parse().unwrap())?;
        header.to_str().ok()?.split("; ").find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &self.base.parse().unwrap());
    }
}

impl TestApp {
    /// A browser with no cookies yet.
    pub fn browser(&self) -> Browser {
        self.browser_from(None)
    }

    /// A browser whose every request says it was forwarded for `address` (the app must trust 127.0.0.1 as a
    /// proxy for that to count).
    pub fn browser_from(&self, address: Option<&str>) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(address) = address {
            headers.insert("x-forwarded-for", address.parse().unwrap());
        }
        let client = client().cookie_provider(jar.clone()).default_headers(headers).build().unwrap();
        Browser { client, jar, base: self.address.clone() }
    }

    /// Makes an account (with `organisation` made if absent) and returns its password.
    pub async fn add_user(&self, email: &str, role: &str, organisation: Option<&str>) -> String {
        let password = format!("pw-{}", haveyoursay::domain::reference::new_token());
        let belongs = organisation.map_or(Belongs::Nowhere, |o| Belongs::Named(o.to_string()));
        let name = format!("Test {role} {email}");
        let new = accounts::check_new(email, &name, role, belongs, &password, None).expect("valid account details");
        let hash = haveyoursay::auth::password::hash_now(&password);
        self.db(move |conn| accounts::create(conn, &Actor::command_line(), &new, &hash).unwrap().expect("made")).await;
        password
    }

    /// The id of the account with this email.
    pub async fn user_id(&self, email: &str) -> i64 {
        let email = email.to_string();
        self.db(move |conn| models::user::find_by_email(conn, &email).unwrap().expect("the account exists").id).await
    }

    /// A browser signed in with these credentials.
    pub async fn sign_in(&self, email: &str, password: &str) -> Browser {
        let browser = self.browser();
        let done =
            browser.submit("/officer/sign-in", "/officer/sign-in", &[("email", email), ("password", password)]).await;
        assert_eq!(done.status, 303, "signing in as {email}: {}", done.body);
        browser
    }

    /// Makes an account and signs it in.
    pub async fn signed_in(&self, email: &str, role: &str, organisation: Option<&str>) -> Browser {
        let password = self.add_user(email, role, organisation).await;
        self.sign_in(email, &password).await
    }

    /// A new API token for the account with this email.
    pub async fn token_for(&self, email: &str) -> String {
        let email = email.to_string();
        self.db(move |conn| {
            let owner = models::user::find_by_email(conn, &email).unwrap().expect("the account exists");
            accounts::create_token(conn, &Actor::command_line(), &owner, "test").unwrap()
        })
        .await
    }
}

fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&").into_bytes()
}

async fn post_raw(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Page {
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("POST answers");
    page(response).await
}

/// Reads a response whole.
pub async fn page(r: reqwest::Response) -> Page {
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let headers = r.headers().clone();
    Page { status, location, headers, body: r.text().await.unwrap_or_default() }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
