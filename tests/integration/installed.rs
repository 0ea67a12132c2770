//! The program as an operator installs it: the built binary, started from an empty folder with nothing of the
//! checkout beside it, serves every public page and its static files; a theme folder replaces some of them and
//! leaves the rest; a broken theme stops the program with a message.
//!
//! These tests use SQLite even when TEST_DATABASE_URL is set: they are about the installed binary and the files
//! it carries, not the database backend, which the rest of the suite covers on both.

use crate::helpers::{CLOSED, IRMP};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COUNCIL: &str = "Northshire County Council";

/// The binary serving in the background. Dropping it kills the process, also when an assertion has failed.
struct Installed {
    child: Child,
    address: String,
    log: PathBuf,
    client: reqwest::Client,
    /// The empty working folder, and the folder holding the database and the log.
    _cwd: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary as `serve --demo` with its working folder an empty temporary one, a SQLite file of its own, and
/// `env` added to its environment.
fn command(cwd: &Path, data: &Path, port: u16, env: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haveyoursay"));
    cmd.current_dir(cwd)
        .args(["serve", "--demo"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", data.join("x.db").display()))
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        // Whatever the suite itself runs with must not reach the installed program.
        .env_remove("DATABASE_URL")
        .env_remove("APP_ENVIRONMENT")
        .env_remove("HYS__SITE__THEME_DIR");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// A port free at the moment of asking. Another process may take it before the binary binds it, so `start`
/// tries again when that happens.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("port 0 binds").local_addr().expect("a local address").port()
}

/// Starts the binary and waits for its health check.
async fn start(env: &[(&str, &Path)]) -> Installed {
    for _ in 0..5 {
        let cwd = tempfile::tempdir().expect("a temporary folder");
        let data = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let log = data.path().join("log");
        let log_file = std::fs::File::create(&log).expect("a log file");
        let child = command(cwd.path(), data.path(), port, env)
            .stdout(log_file.try_clone().expect("the log file"))
            .stderr(log_file)
            .spawn()
            .expect("the binary starts");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("a client");
        let mut app =
            Installed { child, address: format!("http://127.0.0.1:{port}"), log, client, _cwd: cwd, _data: data };
        if app.wait_until_healthy().await {
            return app;
        }
        if !app.log_text().contains("could not listen") {
            panic!("the binary did not become healthy:\n{}", app.log_text());
        }
    }
    panic!("no free port was kept long enough to bind it");
}

impl Installed {
    /// True once /healthz answers 200; false if the process exits first. Building the demo's 420 responses
    /// takes a moment, more so in a debug build.
    async fn wait_until_healthy(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if self.child.try_wait().expect("the child's status").is_some() {
                return false;
            }
            if let Ok(r) = self.client.get(format!("{}/healthz", self.address)).send().await {
                if r.status() == 200 {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no answer from /healthz within 90 s:\n{}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("GET answers")
    }

    /// A public page: its status, and that it is the HTML page of the service with the council named on it.
    async fn html(&self, path: &str, status: u16) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), status, "{path}");
        let content_type = header(&r, "content-type");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        let body = r.text().await.expect("a body");
        assert!(body.starts_with("<!DOCTYPE html>"), "{path}: {body}");
        assert!(body.contains(COUNCIL), "{path} names the council");
        body
    }

    /// A static file: 200 with its type, the cache headers and the security headers, and its body.
    async fn asset(&self, path: &str, content_type: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), content_type, "{path}");
        assert_eq!(header(&r, "cache-control"), "public, max-age=3600", "{path}");
        assert!(header(&r, "etag").starts_with('"'), "{path} has an ETag");
        assert!(header(&r, "content-security-policy").contains("default-src 'self'"), "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        r.text().await.expect("a body")
    }

    /// The status line of a request sent as written: HTTP clients tidy `..` out of a path before sending it.
    fn raw_status(&self, path: &str) -> String {
        let host = self.address.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).expect("the server accepts");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("a request");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_string()
    }
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_binary_serves_every_public_page_from_an_empty_folder() {
    let app = start(&[]).await;

    let hub = app.html("/", 200).await;
    assert!(hub.contains("/static/css/app.css"), "the pages link the stylesheet");
    app.html("/?q=fire", 200).await;
    app.html("/accessibility", 200).await;
    app.html("/privacy", 200).await;
    app.html(&format!("/consultations/{IRMP}"), 200).await;
    app.html(&format!("/consultations/{IRMP}/results"), 200).await;
    app.html(&format!("/consultations/{CLOSED}"), 200).await;

    let start = app.get(&format!("/consultations/{IRMP}/respond")).await;
    assert_eq!(start.status(), 303);
    let first = header(&start, "location");
    assert!(first.starts_with(&format!("/consultations/{IRMP}/respond/")), "{first}");
    let question = app.html(&first, 200).await;
    assert!(question.contains("<form"), "the first question page has its form");

    let missing = app.html("/no-such-page", 404).await;
    assert!(missing.contains("Page not found"), "{missing}");

    let css = app.asset("/static/css/app.css", "text/css; charset=utf-8").await;
    assert!(css.contains(".hys-"), "the built-in stylesheet");
    app.asset("/static/js/app.js", "text/javascript; charset=utf-8").await;

    // Unchanged since the browser's copy: 304 without a body.
    let etag = header(&app.get("/static/css/app.css").await, "etag");
    let again = app
        .client
        .get(format!("{}/static/css/app.css", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET answers");
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);

    // No listings, no unknown files, and no way out of the folder (the debug binary reads the checkout's
    // static/ from disk, so a way out would reach the checkout's files).
    for path in ["/static/", "/static/css", "/static/css/", "/static/css/nothing.css"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    for path in ["/static/../Cargo.toml", "/static/css/../../Cargo.toml", "/static/%2e%2e/Cargo.toml"] {
        assert!(app.raw_status(path).contains(" 404 "), "{path}: {}", app.raw_status(path));
    }
}

#[tokio::test]
async fn a_theme_replaces_one_template_and_one_static_file_and_leaves_the_rest() {
    let theme = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(theme.path().join("templates/public")).unwrap();
    std::fs::create_dir_all(theme.path().join("static/css")).unwrap();
    std::fs::create_dir_all(theme.path().join("static/images")).unwrap();
    std::fs::write(
        theme.path().join("templates/public/accessibility.html"),
        "{% extends \"layouts/base.html\" %}{% block title %}Accessibility{% endblock title %}\
         {% block content %}<h1>The theme's own accessibility statement</h1>{% endblock content %}",
    )
    .unwrap();
    std::fs::write(theme.path().join("static/css/app.css"), "/* the theme's stylesheet */").unwrap();
    std::fs::write(theme.path().join("static/images/crest.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
        .unwrap();
    let app = start(&[("HYS__SITE__THEME_DIR", theme.path())]).await;

    let statement = app.html("/accessibility", 200).await;
    assert!(statement.contains("The theme's own accessibility statement"), "{statement}");
    assert!(!statement.contains("Enforcement procedure"), "the built-in statement is replaced");
    let privacy = app.html("/privacy", 200).await;
    assert!(!privacy.contains("The theme's own"), "other pages keep the built-in templates");
    app.html("/", 200).await;
    app.html(&format!("/consultations/{IRMP}"), 200).await;
    app.html("/no-such-page", 404).await;

    assert_eq!(app.asset("/static/css/app.css", "text/css; charset=utf-8").await, "/* the theme's stylesheet */");
    assert!(app.asset("/static/images/crest.svg", "image/svg+xml").await.starts_with("<svg"));
    let js = app.asset("/static/js/app.js", "text/javascript; charset=utf-8").await;
    assert!(!js.is_empty(), "the built-in script is still served");
}

/// Runs the binary against a theme folder and returns whether it succeeded and its error message (or all it
/// wrote, when there is none). A program
/// that serves when it should have stopped is killed after a while and fails the test.
fn run_with_theme(theme: &Path) -> (bool, String) {
    let cwd = tempfile::tempdir().expect("a temporary folder");
    let data = tempfile::tempdir().expect("a temporary folder");
    // A file rather than a pipe: nobody reads a pipe while waiting, and a full one would stall the program.
    let log = data.path().join("log");
    let mut child = command(cwd.path(), data.path(), free_port(), &[("HYS__SITE__THEME_DIR", theme)])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary kept running with the theme folder {}", theme.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    // Log lines (the demo loads first) may come before it; the program's last word is its error.
    let message = log.lines().find(|l| l.starts_with("haveyoursay: ")).map_or(log.clone(), str::to_string);
    (status.success(), message)
}

#[test]
fn a_missing_theme_folder_stops_the_binary_with_a_message_naming_it() {
    let parent = tempfile::tempdir().expect("a temporary folder");
    let missing = parent.path().join("northshire-theme");
    let (ok, stderr) = run_with_theme(&missing);
    assert!(!ok, "the exit status says it failed");
    assert!(stderr.starts_with("haveyoursay: "), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "the message names the folder: {stderr}");
    assert!(stderr.contains("no such folder"), "{stderr}");
}

#[test]
fn a_theme_that_is_not_a_folder_is_empty_or_does_not_parse_stops_the_binary() {
    let parent = tempfile::tempdir().expect("a temporary folder");

    let file = parent.path().join("theme.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let (ok, stderr) = run_with_theme(&file);
    assert!(!ok && stderr.contains(&file.display().to_string()) && stderr.contains("not a folder"), "{stderr}");

    let empty = parent.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, stderr) = run_with_theme(&empty);
    assert!(!ok && stderr.contains("neither templates/ nor static/"), "{stderr}");

    let broken = parent.path().join("broken");
    std::fs::create_dir_all(broken.join("templates/public")).unwrap();
    let template = broken.join("templates/public/privacy.html");
    std::fs::write(&template, "{% extends \"layouts/base.html\" %}{% block content %}{{ unclosed {% endblock %}")
        .unwrap();
    let (ok, stderr) = run_with_theme(&broken);
    assert!(!ok, "{stderr}");
    assert!(stderr.starts_with("haveyoursay: "), "{stderr}");
    assert!(stderr.contains(&template.display().to_string()), "the message names the file: {stderr}");
}
