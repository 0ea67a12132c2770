//! Floods and slow clients: one address sending too many journey pages or API responses is turned away with
//! 429 and Retry-After while another address is served as before, and nothing refused is stored; a client that
//! trickles its body in is cut off with 408, storing nothing. Requests come "from" other addresses through
//! X-Forwarded-For, with loopback trusted as the proxy (loopback itself is exempt in the test settings).

use crate::helpers::{spawn_app_with, IRMP};
use std::io::{Read, Write};
use std::time::Duration;

#[tokio::test]
async fn a_flood_of_journey_pages_from_one_address_is_refused_without_slowing_another() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.limits.journey_per_minute = 20;
    })
    .await;
    let flooder = app.browser_from(Some("198.51.100.7"));
    let mut refused = None;
    for n in 0..60 {
        let page = flooder.get(&format!("/consultations/{IRMP}/respond/closer_working")).await;
        if page.status == 429 {
            refused = Some((n, page));
            break;
        }
        assert_eq!(page.status, 200);
    }
    let (n, page) = refused.expect("the flood is refused");
    assert!(n >= 20, "the burst is allowed: refused after {n}");
    let wait: u64 = page.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(page.body.contains("Too many requests"), "a page saying so");
    // Someone else is served at once.
    let neighbour = app.browser_from(Some("198.51.100.8"));
    assert_eq!(neighbour.get(&format!("/consultations/{IRMP}/respond/closer_working")).await.status, 200);
    // The hub is not counted.
    assert_eq!(flooder.get("/").await.status, 200);
}

#[tokio::test]
async fn a_flood_of_api_responses_from_one_address_is_refused_and_stores_nothing_refused() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.limits.submissions_per_minute = 10;
    })
    .await;
    let q = crate::api::questionnaire(&app, IRMP).await;
    let before = app.stored_responses(IRMP).await;
    let client = reqwest::Client::new();
    let (mut created, mut refused) = (0, 0);
    for i in 0..30u64 {
        let r = client
            .post(app.url(&format!("/api/v1/consultations/{IRMP}/responses")))
            .header("x-forwarded-for", "203.0.113.9")
            .header("Idempotency-Key", format!("flood-{i}"))
            .json(&crate::api::random_body(&q, i))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            201 => created += 1,
            429 => {
                refused += 1;
                assert!(r.headers().contains_key("retry-after"));
                assert_eq!(r.headers()["content-type"], "application/problem+json");
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!((created, refused), (10, 20));
    assert_eq!(app.stored_responses(IRMP).await, before + 10, "nothing refused is stored");
}

#[tokio::test]
async fn a_body_trickled_in_is_cut_off_and_stores_nothing() {
    let app = spawn_app_with(|s| s.limits.request_seconds = 1).await;
    let before = app.stored_responses(IRMP).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = r#"{"answers": {"support_closer_working": "agree"}}"#;
        let head = format!(
            "POST /api/v1/consultations/{IRMP}/responses HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Idempotency-Key: slow-1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        // One byte every half second: the whole would take far longer than the second allowed.
        for b in body.as_bytes().iter().take(6) {
            if stream.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.stored_responses(IRMP).await, before);
}

#[tokio::test]
async fn headers_trickled_in_are_cut_off() {
    let app = spawn_app_with(|s| s.limits.request_seconds = 1).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).to_string()
    })
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(8), "cut off, not left waiting: {:?}", started.elapsed());
    assert!(closed.is_empty() || closed.starts_with("HTTP/1.1 408"), "{closed}");
}
