//! Fuzzing over real HTTP: at least 100,000 random and mutated requests — bodies, headers, form posts, paths —
//! to every public route and API operation of the route table, from many clients at once. None may answer
//! 5xx or make the server panic, and nothing may be stored but what was acknowledged with 201. The count is
//! printed.

use crate::helpers::{spawn_app, IRMP};
use haveyoursay::web::routes::{table, Access};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Requests sent in all.
const REQUESTS: usize = 100_000;
/// Clients sending at once.
const CLIENTS: usize = 32;

/// Mutations of a valid body: bytes flipped, dropped, doubled or replaced, values swapped for others.
fn mutate(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    let mut body = valid.to_vec();
    match rng.random_range(0..9) {
        0 => {
            for _ in 0..rng.random_range(1..8) {
                if !body.is_empty() {
                    let at = rng.random_range(0..body.len());
                    body[at] = rng.random();
                }
            }
        }
        1 => body.truncate(rng.random_range(0..=body.len())),
        2 => {
            let copy = body.clone();
            body.extend_from_slice(&copy);
        }
        3 => body = (0..rng.random_range(0..600)).map(|_| rng.random()).collect(),
        4 => {
            let text = String::from_utf8_lossy(&body).to_string();
            let swaps = ["\"agree\"", "null", "[]", "{}", "1e309", "-1", "\"\\u0000\"", "true", "\"x\"", "[[[]]]"];
            let from = swaps[rng.random_range(0..swaps.len())];
            let to = swaps[rng.random_range(0..swaps.len())];
            body = text.replacen(from, to, rng.random_range(1..4)).into_bytes();
        }
        5 => body = format!("{{\"answers\": {}}}", "[".repeat(rng.random_range(1..200))).into_bytes(),
        6 => body = b"q.support_closer_working=agree&_csrf=x&%FF=%FE&q.".to_vec(),
        7 => {
            let mut v: Value = serde_json::from_slice(valid).unwrap_or(Value::Null);
            if let Some(answers) = v.get_mut("answers").and_then(Value::as_object_mut) {
                let keys: Vec<String> = answers.keys().cloned().collect();
                if let Some(k) = keys.get(rng.random_range(0..keys.len().max(1))) {
                    answers.insert(k.clone(), Value::from("x".repeat(rng.random_range(0..7000))));
                }
                answers.insert(format!("unknown_{}", rng.random::<u16>()), Value::from(1));
            }
            body = serde_json::to_vec(&v).unwrap();
        }
        _ => {}
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_requests_never_answer_5xx_and_store_only_what_was_acknowledged() {
    let app = spawn_app().await;
    let q = crate::api::questionnaire(&app, IRMP).await;
    let before = app.stored_responses(IRMP).await;
    let valid: Vec<Vec<u8>> = (0..64).map(|i| serde_json::to_vec(&crate::api::random_body(&q, i)).unwrap()).collect();
    // Every public route and API operation, with the demo's names in its parameters (and some that are not).
    let routes: Vec<(reqwest::Method, String)> = table()
        .iter()
        .filter(|r| r.access == Access::Public || r.path.starts_with("/api/"))
        .filter(|r| !r.path.ends_with("/stream"))
        .map(|r| (reqwest::Method::from_bytes(r.method.as_str().as_bytes()).unwrap(), crate::routes::concrete(r)))
        .collect();
    assert!(routes.len() > 15, "{routes:?}");
    let shared = Arc::new((routes, valid, app.address.clone()));
    let sent = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (shared, sent, created) = (shared.clone(), sent.clone(), created.clone());
            tokio::spawn(async move {
                let (routes, valid, base) = &*shared;
                let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let mut rng = StdRng::seed_from_u64(7919 * n as u64 + 1);
                let mut failures = Vec::new();
                while sent.fetch_add(1, Ordering::Relaxed) < REQUESTS {
                    let (method, path) = &routes[rng.random_range(0..routes.len())];
                    let path = match rng.random_range(0..12) {
                        0 => path.replace(IRMP, "no-such-consultation"),
                        1 => format!("{path}/%FF%00..%2F"),
                        2 => format!("{path}?q=%00{}%FF&by=%00&format=\u{202e}", "x".repeat(rng.random_range(0..3000))),
                        _ => path.clone(),
                    };
                    let pick = rng.random_range(0..valid.len());
                    let body = mutate(&mut rng, &valid[pick]);
                    let mut request = client.request(method.clone(), format!("{base}{path}")).body(body);
                    let content_type = [
                        "application/json",
                        "application/x-www-form-urlencoded",
                        "text/plain",
                        "multipart/form-data; boundary=x",
                        "application/json; charset=utf-16",
                        "",
                    ];
                    let ct = content_type[rng.random_range(0..content_type.len())];
                    if !ct.is_empty() {
                        request = request.header("content-type", ct);
                    }
                    if rng.random_bool(0.7) {
                        let key: String =
                            (0..rng.random_range(0..260)).map(|_| rng.random_range(33u8..127) as char).collect();
                        request = request.header("Idempotency-Key", key);
                    }
                    if rng.random_bool(0.1) {
                        request = request.header(
                            "Authorization",
                            [
                                "Bearer hys_",
                                "Bearer ",
                                "Basic abc",
                                "Bearer hys_0000000000000000000000000000000000000000000000000000000000000000",
                            ][rng.random_range(0..4)],
                        );
                    }
                    if rng.random_bool(0.1) {
                        request = request.header("Cookie", "hys_session=zzz; hys_journey=%FF; hys_csrf=\"x\"");
                    }
                    if rng.random_bool(0.05) {
                        request = request.header("Origin", "https://evil.example");
                    }
                    match request.send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            if status >= 500 {
                                failures.push(format!("{method} {path}: {status}"));
                            }
                            if status == 201 {
                                created.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => failures.push(format!("{method} {path}: {e}")),
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for t in tasks {
        failures.extend(t.await.expect("no client panicked"));
    }
    let total = sent.load(Ordering::Relaxed).min(REQUESTS);
    println!("fuzz: {total} random and mutated requests to {} routes", shared.0.len());
    assert!(failures.is_empty(), "{} failures, the first: {:?}", failures.len(), &failures[..failures.len().min(10)]);
    // The server is still well, and stored only what it acknowledged.
    assert_eq!(app.get_json("/healthz").await.0, 200);
    let created = created.load(Ordering::Relaxed) as i64;
    assert_eq!(app.stored_responses(IRMP).await, before + created);
}
