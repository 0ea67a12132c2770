//! The HTML journey phase: residents who answer the demo consultation through its pages, as a browser without
//! JavaScript would — the consultation page, the start link, every question page loaded and then posted with
//! its CSRF token and the cookies the site set, check your answers, the submission and the confirmation page.
//! Each resident keeps its own cookies by hand, so that all of them share one connection pool as browsers
//! behind one network would share none; the stylesheet and scripts a browser caches are not fetched.
//!
//! The answers are those of a resident who agrees with the headline proposal (the route the integration tests
//! walk): a page the journey leads to that is not listed here, or a redirect anywhere unexpected, counts as a
//! failed journey, so a change to the demo cannot make the figure quietly measure something else.

use std::time::{Duration, Instant};

use crate::{Stats, MAX_REQUESTS_PER_CLIENT, SLUG};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

/// The fields each page of the demo journey is posted with (besides `_csrf`).
const PAGES: &[(&str, &[(&str, &str)])] = &[
    ("closer_working", &[("q.support_closer_working", "agree")]),
    (
        "closer_working_details",
        &[
            ("q.closer_working_benefits", "faster_help"),
            ("q.closer_working_benefits", "other"),
            ("q.closer_working_benefits.other", "Fewer false alarms"),
            ("q.collaboration_areas", "joint_training"),
        ],
    ),
    (
        "sharing_buildings",
        &[
            ("q.support_shared_buildings", "strongly_agree"),
            ("q.shared_buildings_comments", "Keep the car park open for visitors"),
        ],
    ),
    (
        "joint_control_room",
        &[
            ("q.support_joint_control", "disagree"),
            ("q.control_room_concerns", "local_knowledge"),
            ("q.control_room_concerns", "jobs"),
        ],
    ),
    ("joint_control_room-2", &[("q.control_room_concerns_detail", "Call handlers need to know the villages")]),
    (
        "prevention",
        &[
            ("q.prevention_priorities.home_fire_safety_visits", "2"),
            ("q.prevention_priorities.road_safety", "3"),
            ("q.prevention_priorities.water_safety", "1"),
            ("q.prevention_priorities.business_fire_safety", "4"),
            ("q.had_home_visit", "yes"),
        ],
    ),
    (
        "prevention-2",
        &[
            ("q.last_home_visit_date.day", "14"),
            ("q.last_home_visit_date.month", "3"),
            ("q.last_home_visit_date.year", "2024"),
            ("q.reach_vulnerable_people", "Through GP surgeries and pharmacies"),
        ],
    ),
    ("about_you", &[("q.respondent_type", "resident")]),
    ("about_you-2", &[("q.age_band", "age_35_to_44"), ("q.household_size", "3"), ("q.district", "kingsholt")]),
];

/// More pages than this in one journey means it is going round in circles.
const MAX_STEPS: usize = 40;

/// What the journey phase measured: complete journeys, and every request they made.
pub struct JourneyStats {
    pub journeys: Stats,
    pub requests: Stats,
}

/// One resident's browser: its cookies, by name.
#[derive(Default)]
pub struct Jar(Vec<(String, String)>);

impl Jar {
    pub fn header(&self) -> String {
        self.0.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn take(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let Some(pair) = set.to_str().ok().and_then(|s| s.split(';').next()) else { continue };
            let Some((name, value)) = pair.split_once('=') else { continue };
            self.0.retain(|(n, _)| n != name);
            self.0.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// A page as the resident's browser got it.
struct Got {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

struct Resident<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    jar: Jar,
    requests: &'a mut Stats,
}

impl Resident<'_> {
    async fn send(&mut self, request: reqwest::RequestBuilder, what: &str) -> Result<Got, String> {
        let started = Instant::now();
        let request = if self.jar.0.is_empty() { request } else { request.header(COOKIE, self.jar.header()) };
        let result = async {
            let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
            self.jar.take(&response);
            let status = response.status();
            let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
            let body = response.text().await.map_err(|e| format!("{what}: {e}"))?;
            Ok::<_, String>(Got { status, location, body })
        }
        .await;
        let (outcome, ok) = match &result {
            Ok(got) => (got.status.as_u16().to_string(), got.status.is_success() || got.status.is_redirection()),
            Err(_) => ("transport".to_owned(), false),
        };
        self.requests.record(started, outcome, ok);
        result
    }

    async fn get(&mut self, path: &str, expect: StatusCode) -> Result<Got, String> {
        let got = self.send(self.client.get(format!("{}{path}", self.base)), path).await?;
        expected(&got, path, expect)?;
        Ok(got)
    }

    /// Posts a form and returns where the 303 leads.
    async fn post(&mut self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Result<String, String> {
        let mut form = vec![("_csrf", csrf)];
        form.extend_from_slice(fields);
        let got = self.send(self.client.post(format!("{}{path}", self.base)).form(&form), path).await?;
        expected(&got, path, StatusCode::SEE_OTHER)?;
        got.location.ok_or_else(|| format!("POST {path}: a 303 without Location"))
    }

    /// The whole journey, from the consultation page to the confirmation.
    async fn respond(&mut self) -> Result<(), String> {
        let root = format!("/consultations/{SLUG}");
        let respond = format!("{root}/respond/");
        self.get(&root, StatusCode::OK).await?;
        let mut at = self
            .get(&format!("{root}/respond"), StatusCode::SEE_OTHER)
            .await?
            .location
            .ok_or("the start link has no Location")?;
        for _ in 0..MAX_STEPS {
            let page = self.get(&at, StatusCode::OK).await?;
            let csrf = csrf_of(&page.body).ok_or_else(|| format!("{at}: no CSRF token in the form"))?;
            let key = at.strip_prefix(&respond).ok_or_else(|| format!("led off the journey to {at}"))?;
            if key == "check" {
                let confirmation = self.post(&at, &csrf, &[]).await?;
                self.get(&confirmation, StatusCode::OK).await?;
                return if confirmation == format!("{respond}confirmation") {
                    Ok(())
                } else {
                    Err(format!("submitting led to {confirmation}"))
                };
            }
            let fields = PAGES.iter().find(|(k, _)| *k == key).ok_or_else(|| format!("no answers for page {key}"))?.1;
            at = self.post(&at, &csrf, fields).await?;
        }
        Err(format!("more than {MAX_STEPS} pages"))
    }
}

fn expected(got: &Got, path: &str, expect: StatusCode) -> Result<(), String> {
    if got.status == expect {
        Ok(())
    } else {
        let body: String = got.body.chars().take(300).collect();
        Err(format!("{path}: expected {expect}, got {} {body}", got.status))
    }
}

/// The value of the page's `_csrf` hidden field.
pub fn csrf_of(body: &str) -> Option<String> {
    let at = body.find("name=\"_csrf\"")?;
    let tag_start = body[..at].rfind('<')?;
    let tag_end = at + body[at..].find('>')?;
    let tag = &body[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// One client: journeys one after another until `deadline`.
pub async fn client_loop(
    client: reqwest::Client,
    base: String,
    deadline: Instant,
    printed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> JourneyStats {
    let mut journeys = Stats::default();
    let mut requests = Stats::default();
    for _ in 0..MAX_REQUESTS_PER_CLIENT {
        if Instant::now() >= deadline {
            break;
        }
        let started = Instant::now();
        let mut resident = Resident { client: &client, base: &base, jar: Jar::default(), requests: &mut requests };
        match resident.respond().await {
            Ok(()) => journeys.record(started, "complete".to_owned(), true),
            Err(e) => {
                journeys.record(started, "failed".to_owned(), false);
                if printed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < crate::MAX_PRINTED_ERRORS {
                    eprintln!("load: journey error: {}", e.chars().take(600).collect::<String>());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    JourneyStats { journeys, requests }
}
