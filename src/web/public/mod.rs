//! The resident-facing pages: the hub, consultation pages, the journey through a questionnaire, public results,
//! and the accessibility statement and privacy notice.

mod form;
mod journey;

use crate::auth::Viewer;
use crate::models::{consultation, consultation::Consultation, now};
use crate::web::error::AppError;
use crate::web::render::{markdown, page, page_with_status};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(hub))
        .route("/accessibility", web::get().to(accessibility))
        .route("/privacy", web::get().to(privacy))
        .route("/consultations/{slug}", web::get().to(show))
        .route("/consultations/{slug}/results", web::get().to(results))
        .configure(journey::routes);
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

fn card(state: &AppState, c: &Consultation) -> Card {
    let phase = c.phase(now());
    let dates = match phase {
        crate::domain::phase::Phase::Forthcoming => c.opens_at.map(|t| format!("Opens {}", state.local_time(t))),
        crate::domain::phase::Phase::Open => c.closes_at.map(|t| format!("Closes {}", state.local_time(t))),
        _ => c.closes_at.map(|t| format!("Closed {}", state.local_time(t))),
    };
    Card {
        slug: c.slug.clone(),
        title: c.title.clone(),
        summary: c.summary.clone(),
        phase: phase.as_str(),
        dates: dates.unwrap_or_default(),
    }
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

async fn hub(state: web::Data<AppState>, search: web::Query<Search>) -> Result<HttpResponse, AppError> {
    let term = search.into_inner().q.map(|q| q.trim().chars().take(100).collect::<String>()).filter(|q| !q.is_empty());
    let t = term.clone();
    let rows = state.db(move |conn| Ok(consultation::list_public(conn, t.as_deref())?)).await?;
    let cards: Vec<Card> = rows.iter().map(|c| card(&state, c)).collect();
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

async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, q) = state.consultation(&slug).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &card(&state, &c));
    ctx.insert("body_html", &markdown(&c.body));
    ctx.insert("outcome_html", &c.outcome.as_deref().map(markdown));
    ctx.insert("results_public", &crate::auth::Visibility::parse(&c.results_visibility).allows(Viewer::Public));
    ctx.insert("sections", &q.sections.iter().map(|s| s.title.as_str()).collect::<Vec<_>>());
    Ok(page("public/consultation.html", ctx))
}

async fn results(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, report) = state.report(&slug, Viewer::Public).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &card(&state, &c));
    ctx.insert("report", &report);
    ctx.insert("small_base", &crate::results::stats::SMALL_BASE);
    Ok(page("public/results.html", ctx))
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
fn not_open(state: &AppState, c: &Consultation, status: StatusCode) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &card(state, c));
    page_with_status(status, "public/not_open.html", ctx)
}
