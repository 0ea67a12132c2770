//! Accessibility and keyboard-only use in a real browser: Debian's Chromium driven by playwright-core, with
//! axe-core checking every resident page and state, and every page and state of the officers' workspace,
//! against the WCAG 2.2 A and AA rules (tests/browser/); the resident journey and the builder, keyboard only.

use crate::helpers::{spawn_app, CLOSED, IRMP, NORTHSHIRE_FIRE};
use std::process::Stdio;

/// Installs Chromium and the npm packages when missing (tests/browser/install.sh), then runs one script.
async fn run_script(script: &str, args: &[&str]) -> (bool, String) {
    let install = tokio::process::Command::new("tests/browser/install.sh").status().await.expect("install.sh runs");
    assert!(install.success(), "tests/browser/install.sh failed");
    let output = tokio::process::Command::new("node")
        .arg(format!("tests/browser/{script}"))
        .args(args)
        // Generous: on 2 cores the rest of the suite runs beside the browser.
        .env("HYS_BROWSER_TIMEOUT_S", "400")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resident_page_and_state_passes_axe_wcag_22_aa() {
    let app = spawn_app().await;
    let (ok, report) = run_script("a11y.mjs", &[&app.address, IRMP, CLOSED]).await;
    assert!(ok, "axe found violations or a step failed:\n{report}");
    assert!(report.contains(", 0 violations"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_can_be_completed_with_the_keyboard_alone() {
    let app = spawn_app().await;
    let before = app.stored_responses(IRMP).await;
    let (ok, report) = run_script("keyboard.mjs", &[&app.address, IRMP]).await;
    assert!(ok, "the keyboard journey failed:\n{report}");
    assert!(report.contains("keyboard: journey completed, reference HYS-"), "{report}");
    assert_eq!(app.stored_responses(IRMP).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_officer_page_and_state_passes_axe_wcag_22_aa() {
    let app = spawn_app().await;
    let password = app.add_user("admin@example.org", "admin", None).await;
    app.add_user("jo@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let (ok, report) = run_script("officer-a11y.mjs", &[&app.address, "admin@example.org", &password]).await;
    assert!(ok, "axe found violations or a step failed:\n{report}");
    assert!(report.contains(", 0 violations"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_can_be_used_with_the_keyboard_alone() {
    let app = spawn_app().await;
    let password = app.add_user("kim@example.org", "officer", Some(NORTHSHIRE_FIRE)).await;
    let (ok, report) = run_script("builder-keyboard.mjs", &[&app.address, "kim@example.org", &password]).await;
    assert!(ok, "building with the keyboard failed:\n{report}");
    let slug = report
        .lines()
        .find_map(|l| l.strip_prefix("builder-keyboard: published "))
        .unwrap_or_else(|| panic!("no slug reported:\n{report}"))
        .trim();
    // Published, open, with the three questions and the route the keyboard made.
    let (status, published) = app.get_json(&format!("/api/v1/consultations/{slug}")).await;
    assert_eq!(status, 200, "{published}");
    let keys: Vec<&str> = published["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .map(|q| q["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["visit", "help", "nearest"], "{published}");
    let visit = &published["sections"][0]["questions"][0];
    assert_eq!(visit["kind"], "single_choice");
    let options: Vec<&str> =
        visit["options"].as_array().unwrap().iter().map(|o| o["label"].as_str().unwrap()).collect();
    assert_eq!(options, ["Yes", "No"]);
    let routing = published["routing"].as_array().unwrap();
    assert_eq!(routing.len(), 1, "{published}");
    assert_eq!(routing[0]["key"], "help");
    assert_eq!(routing[0]["action"], "show");
    assert_eq!(routing[0]["when"]["question"], "visit");
    assert_eq!(routing[0]["when"]["any_of"], serde_json::json!(["no"]));
    assert_eq!(published["status"], "open");
    assert_eq!(published["version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_email_page_and_state_passes_axe_wcag_22_aa() {
    let sink = crate::sink::SmtpSink::start();
    let url = sink.url();
    let app = crate::helpers::spawn_app_with(|s| s.email.smtp_url = url).await;
    let password = app.add_user("admin@example.org", "admin", None).await;
    let steps = crate::email_pages::plan(&app, &sink, "admin@example.org", &password).await;
    let plan = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(plan.path(), serde_json::to_string(&steps).unwrap()).unwrap();
    let (ok, report) = run_script("steps-a11y.mjs", &[&app.address, plan.path().to_str().unwrap()]).await;
    assert!(ok, "axe found violations or a step failed:\n{report}");
    let checked = steps.iter().filter(|s| s.get("label").is_some() && s.get("check").is_none()).count();
    assert!(report.contains(&format!("{checked} pages checked, 0 violations")), "{report}");
}
