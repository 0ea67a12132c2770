//! Accessibility and keyboard-only use in a real browser: Debian's Chromium driven by playwright-core, with
//! axe-core checking every resident page and state, and every page and state of the officers' workspace,
//! against the WCAG 2.2 A and AA rules (tests/browser/).

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
