//! The resident-facing pages: the hub, consultation pages, the journey through a questionnaire, public results,
//! and the accessibility statement and privacy notice.

pub mod journey;
pub mod notify;
pub mod respondents;
pub mod save;

use crate::auth::Viewer;
use crate::models::{consultation, consultation::Consultation, now, version::Loaded};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::render::{markdown, page, page_with_status};
use crate::web::routes::{Access, Router};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn routes(r: &mut Router) {
    r.get("/", Access::Public, web::get().to(hub))
        .get("/accessibility", Access::Public, web::get().to(accessibility))
        .get("/privacy", Access::Public, web::get().to(privacy))
        .get("/consultations/{slug}", Access::Public, web::get().to(show))
        .get("/consultations/{slug}/results", Access::Public, web::get().to(crate::web::results::public_page));
    respondents::routes(r);
    journey::routes(r);
    save::routes(r);
    notify::routes(r);
}

/// A consultation as the hub and its page describe it.
#[derive(Serialize)]
struct Card {
    slug: String,
    title: String,
    summary: String,
    phase: &'static str,
    /// "Closes 11:59pm on 31 January 2027", "Opens …", "Closed …".
    dates: String,
}

fn card(state: &AppState, c: &Consultation, title: &str, summary: &str) -> Card {
    let phase = c.phase(now());
    let dates = match phase {
        crate::domain::phase::Phase::Forthcoming => c.opens_at.map(|t| format!("Opens {}", state.local_time(t))),
        crate::domain::phase::Phase::Open => c.closes_at.map(|t| format!("Closes {}", state.local_time(t))),
        _ => c.closes_at.map(|t| format!("Closed {}", state.local_time(t))),
    };
    Card {
        slug: c.slug.clone(),
        title: title.to_string(),
        summary: summary.to_string(),
        phase: phase.as_str(),
        dates: dates.unwrap_or_default(),
    }
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

async fn hub(state: web::Data<AppState>, search: web::Query<Search>) -> Result<HttpResponse, AppError> {
    // Control characters can match nothing (and PostgreSQL refuses NUL in text): they are left out.
    let term = search
        .into_inner()
        .q
        .map(|q| q.chars().filter(|c| !c.is_control()).take(100).collect::<String>().trim().to_string())
        .filter(|q| !q.is_empty());
    let t = term.clone();
    let rows = state.db(move |conn| Ok(consultation::list_public(conn, t.as_deref())?)).await?;
    let cards: Vec<Card> = rows.iter().map(|l| card(&state, &l.consultation, &l.title, &l.summary)).collect();
    let mut ctx = tera::Context::new();
    let groups: Vec<serde_json::Value> = [
        ("open", "Open consultations"),
        ("forthcoming", "Forthcoming consultations"),
        ("closed", "Closed consultations"),
    ]
    .into_iter()
    .map(|(phase, title)| {
        let items: Vec<&Card> = cards.iter().filter(|c| c.phase == phase).collect();
        serde_json::json!({ "phase": phase, "title": title, "items": items })
    })
    .collect();
    ctx.insert("groups", &groups);
    ctx.insert("search", &term);
    ctx.insert("count", &cards.len());
    Ok(page("public/hub.html", ctx))
}

/// The card of a consultation's live version.
fn live_card(state: &AppState, c: &Consultation, live: &Loaded) -> Card {
    card(state, c, live.content.title.as_str(), live.content.summary.as_str())
}

async fn show(state: web::Data<AppState>, slug: web::Path<String>, csrf: CsrfToken) -> Result<HttpResponse, AppError> {
    let (c, live) = state.consultation(&slug).await?;
    let content = &live.content;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(&state, &c, &live));
    ctx.insert("body_html", &markdown(content.body.as_str()));
    if let Some(published) = crate::web::published::latest(&state, &c).await? {
        let local = |at: &str| crate::domain::definition::utc::parse(at).map(|t| state.local_time(t));
        let earlier: Vec<serde_json::Value> = published
            .publications
            .iter()
            .skip(1)
            .map(|p| serde_json::json!({"at": local(&p.published_at), "outcome_html": p.outcome.as_deref().map(markdown)}))
            .collect();
        ctx.insert("published_at", &local(&published.published_at));
        ctx.insert("outcome_html", &published.outcome.as_deref().map(markdown));
        ctx.insert("earlier", &earlier);
        ctx.insert("dictionary", &crate::results::published::DICTIONARY);
        ctx.insert("published", &published);
    }
    ctx.insert("results_public", &c.results_visible_to(Viewer::Public));
    if notify::may_ask(&c) {
        ctx.insert("notify_csrf", &csrf.0);
    }
    ctx.insert("sections", &content.questionnaire.sections.iter().map(|s| s.title.as_str()).collect::<Vec<_>>());
    Ok(page("public/consultation.html", ctx))
}

async fn accessibility() -> HttpResponse {
    page("public/accessibility.html", tera::Context::new())
}

async fn privacy() -> HttpResponse {
    page("public/privacy.html", tera::Context::new())
}

/// The page for any address that matches no route.
pub async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&AppError::NotFound)
}

/// The page saying a consultation is not open, with the status given (200 to a GET, 409 to a POST).
fn not_open(state: &AppState, c: &Consultation, live: &Loaded, status: StatusCode) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(state, c, live));
    page_with_status(status, "public/not_open.html", ctx)
}
