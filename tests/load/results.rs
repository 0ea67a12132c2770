//! What decision-makers read, measured: the officers' dashboard (signed in as the demo officer), the API's
//! cross-tab, and how long a committed response takes to reach the event stream that live dashboards follow.

use crate::journey::{csrf_of, Jar};
use crate::Res;
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// The demo officer's email and password, from the lines `serve --demo` prints at start:
/// `  officer@… password abcd-efgh-…  (Officer)`.
pub fn demo_officer(log: &str) -> Option<(String, String)> {
    log.lines().rev().find(|l| l.trim_end().ends_with("(Officer)")).and_then(|line| {
        let mut words = line.split_whitespace();
        let email = words.next()?.to_owned();
        (words.next()? == "password").then_some(())?;
        Some((email, words.next()?.to_owned()))
    })
}

/// Signs in through the sign-in form, as a browser would; returns the Cookie header of the session.
pub async fn sign_in(base: &str, email: &str, password: &str) -> Res<String> {
    // Its own client, which does not follow the redirect: the session cookie comes with the 303.
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut jar = Jar::default();
    let form = client.get(format!("{base}/officer/sign-in")).send().await?;
    jar.take(&form);
    let body = form.text().await?;
    let csrf = csrf_of(&body).ok_or("the sign-in page has no CSRF token")?;
    let signed = client
        .post(format!("{base}/officer/sign-in"))
        .header(COOKIE, jar.header())
        .form(&[("_csrf", csrf.as_str()), ("email", email), ("password", password), ("next", "/officer")])
        .send()
        .await?;
    jar.take(&signed);
    if signed.status() != StatusCode::SEE_OTHER {
        return Err(format!("signing in as the demo officer: {}", signed.status()).into());
    }
    Ok(jar.header())
}

/// Follows a server-sent event stream of results until `deadline`: when each event arrived and the number of
/// responses it reported.
pub async fn follow(client: reqwest::Client, url: String, deadline: Instant) -> Res<Vec<(Instant, u64)>> {
    let mut response = client.get(&url).timeout(deadline.saturating_duration_since(Instant::now())).send().await?;
    if response.status() != StatusCode::OK {
        return Err(format!("GET {url}: {}", response.status()).into());
    }
    let mut events = Vec::new();
    let mut pending = String::new();
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), response.chunk()).await
    {
        let arrived = Instant::now();
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            for data in event.lines().filter_map(|l| l.strip_prefix("data:")) {
                if let Some(n) =
                    serde_json::from_str::<serde_json::Value>(data.trim()).ok().and_then(|v| v["responses"].as_u64())
                {
                    events.push((arrived, n));
                }
            }
        }
    }
    Ok(events)
}

/// For each acknowledged response, how long until the stream showed it: the k-th acknowledgement (in time
/// order) is in the first event after it that counts at least `before + k` responses. Acknowledgements no event
/// caught up with before the stream ended are left out (and counted by the caller).
pub fn latencies(acks: &mut [Instant], events: &[(Instant, u64)], before: u64) -> Vec<u32> {
    acks.sort_unstable();
    let mut next = 0;
    let mut out = Vec::with_capacity(acks.len());
    for (k, acked) in acks.iter().enumerate() {
        let needed = before + k as u64 + 1;
        while next < events.len() && (events[next].0 < *acked || events[next].1 < needed) {
            next += 1;
        }
        let Some((arrived, _)) = events.get(next) else { break };
        out.push(u32::try_from(arrived.duration_since(*acked).as_micros()).unwrap_or(u32::MAX));
    }
    out
}

/// Above this the stream is not keeping up and the run says so.
pub const LIVE_TARGET: Duration = Duration::from_secs(1);

/// Submit-to-stream latency over the submission phase.
pub struct Live {
    acked: usize,
    events: usize,
    p50: f64,
    p95: f64,
    max: f64,
    /// Acknowledged responses no event showed before the stream was let go.
    pub unseen: usize,
}

impl Live {
    pub fn measure(acks: &mut [Instant], events: &[(Instant, u64)], before: u64) -> Live {
        let mut seen = latencies(acks, events, before);
        seen.sort_unstable();
        Live {
            acked: acks.len(),
            events: events.len(),
            p50: crate::percentile_ms(&seen, 50.0),
            p95: crate::percentile_ms(&seen, 95.0),
            max: crate::percentile_ms(&seen, 100.0),
            unseen: acks.len() - seen.len(),
        }
    }

    pub fn print(&self) {
        eprintln!(
            "load: submit to event stream: {} acknowledged, {} events; p50 {:.1} ms p95 {:.1} ms max {:.1} ms; {} not shown",
            self.acked, self.events, self.p50, self.p95, self.max, self.unseen
        );
    }

    pub fn markdown(&self, backend: &str) {
        println!("| Backend | Acknowledged | Events | Submit to event stream p50 / p95 / max (ms) | Not shown |");
        println!("|---|---:|---:|---:|---:|");
        println!(
            "| {backend} | {} | {} | {:.1} / {:.1} / {:.1} | {} |",
            self.acked, self.events, self.p50, self.p95, self.max, self.unseen
        );
    }
}

/// What a cabinet member's reads cost with so many responses stored: the results and a cross-tab from the API,
/// and the dashboard and its cross-tab as the demo officer's browser gets them.
pub struct Reads {
    responses: u64,
    /// (what, p50, p99) in ms.
    timings: Vec<(&'static str, f64, f64)>,
    pub failed: bool,
}

/// The demo's cross-tab of cabinet interest: every question by age band.
const BY: &str = "age_band";

impl Reads {
    pub async fn measure(client: &reqwest::Client, server: &crate::Server, cookie: &str, n: usize) -> Res<Reads> {
        let api = server.url(&format!("/api/v1/consultations/{}/results", crate::SLUG));
        let page = server.url(&format!("/officer/consultations/{}/results", crate::SLUG));
        let responses = crate::stored_responses(&crate::get_results(client, &api).await?)?;
        let mut reads = Reads { responses, timings: Vec::new(), failed: false };
        for (what, url, cookie) in [
            ("results", api.clone(), None),
            ("cross-tab", format!("{api}?by={BY}"), None),
            ("dashboard", page.clone(), Some(cookie)),
            ("dashboard cross-tab", format!("{page}?by={BY}"), Some(cookie)),
        ] {
            let mut stats = crate::Stats::default();
            for i in 0..n + 20 {
                let started = Instant::now();
                let request = client.get(&url);
                let request = if let Some(c) = cookie { request.header(COOKIE, c) } else { request };
                let response = request.send().await?;
                let status = response.status();
                let ok = response.bytes().await.is_ok() && status == StatusCode::OK;
                if !ok {
                    eprintln!("load: GET {url}: {status}");
                    reads.failed = true;
                    break;
                }
                // The first twenty warm the caches.
                if i >= 20 {
                    stats.record(started, status.as_u16().to_string(), ok);
                }
            }
            let s = stats.summary(Duration::from_secs(1));
            reads.timings.push((what, s.p50, s.p99));
        }
        Ok(reads)
    }

    pub fn print(&self) {
        let t: Vec<String> =
            self.timings.iter().map(|(w, p50, p99)| format!("{w} p50 {p50:.2} ms p99 {p99:.2} ms")).collect();
        eprintln!("load: reads at {} responses: {}", self.responses, t.join("; "));
    }

    pub fn markdown(backend: &str, all: &[Reads]) {
        let Some(first) = all.first() else { return };
        println!();
        let names: Vec<String> = first.timings.iter().map(|(w, _, _)| format!("{w} p50 / p99 (ms)")).collect();
        println!("| Backend | Responses | {} |", names.join(" | "));
        println!("|---|---:|{}", "---:|".repeat(names.len()));
        for r in all {
            let cells: Vec<String> = r.timings.iter().map(|(_, p50, p99)| format!("{p50:.2} / {p99:.2}")).collect();
            println!("| {backend} | {} | {} |", r.responses, cells.join(" | "));
        }
    }
}
