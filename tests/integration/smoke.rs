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
