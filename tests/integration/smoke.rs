//! The server starts, answers its health check and serves the demo.

use crate::helpers::{spawn_app, IRMP};

#[tokio::test]
async fn health_check_and_demo_are_served() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let (status, list) = app.get_json("/api/v1/consultations").await;
    assert_eq!(status, 200);
    let slugs: Vec<&str> =
        list["consultations"].as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert!(slugs.contains(&IRMP), "{slugs:?}");
    assert_eq!(app.stored_responses(IRMP).await, 420);
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// Reads a setting of the connection the app's pool hands out, as text.
async fn setting(app: &crate::helpers::TestApp, sql: &'static str) -> String {
    use diesel::RunQueryDsl;
    app.db(move |conn| diesel::sql_query(sql).get_result::<Setting>(conn).expect(sql).value).await
}

#[tokio::test]
async fn acknowledged_writes_are_durable_on_either_backend() {
    let app = spawn_app().await;
    if app.database_url.starts_with("sqlite://") {
        // WAL with a full fsync at every commit, foreign keys enforced, and a wait for the write lock.
        assert_eq!(setting(&app, "SELECT journal_mode AS value FROM pragma_journal_mode").await, "wal");
        assert_eq!(setting(&app, "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous").await, "2");
        assert_eq!(setting(&app, "SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys").await, "1");
        assert_eq!(setting(&app, "SELECT CAST(timeout AS TEXT) AS value FROM pragma_busy_timeout").await, "5000");
    } else {
        assert_eq!(setting(&app, "SELECT setting AS value FROM pg_settings WHERE name = 'fsync'").await, "on");
        assert_eq!(
            setting(&app, "SELECT setting AS value FROM pg_settings WHERE name = 'synchronous_commit'").await,
            "on"
        );
    }
}

#[test]
fn an_unknown_database_scheme_stops_the_program_with_a_clear_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
        .args(["migrate", "--database-url", "mysql://root@127.0.0.1/hys"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported database URL scheme 'mysql'"), "{stderr}");
}

#[test]
fn the_sqlite_file_and_its_folder_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new").join("folder").join("hys.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
        .args(["demo", "--database-url", &format!("sqlite://{}", file.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(file.exists());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("irmp-2027 (loaded)"), "{stdout}");
}

#[tokio::test]
async fn the_public_results_page_shows_the_api_figures_with_their_bases() {
    let app = spawn_app().await;
    let (_, results) = app.get_json(&format!("/api/v1/consultations/{IRMP}/results")).await;
    let page = app.get(&format!("/consultations/{IRMP}/results")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("{} responses<", results["responses"])), "the total");
    for question in results["questions"].as_array().unwrap() {
        let (base, skipped, not_shown) = (&question["base"], &question["skipped"], &question["not_shown"]);
        let counts = format!("{base} answered · {skipped} shown it but left it blank · {not_shown} not shown it");
        assert!(page.body.contains(&counts), "the base of {}: {counts}", question["key"]);
        for option in question["options"].as_array().unwrap() {
            if let Some(percent) = option["percent"].as_f64() {
                let low = option["ci95"][0].as_f64().unwrap();
                let high = option["ci95"][1].as_f64().unwrap();
                let count = &option["count"];
                let cells = format!(
                    "{percent:.1}% ({count} of {base} who answered)</td>\n      <td class=\"hys-table__cell\">{low:.1}% to {high:.1}%"
                );
                assert!(page.body.contains(&cells), "{} {}: {cells}", question["key"], option["key"]);
            }
        }
    }
}
