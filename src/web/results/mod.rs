//! The results pages: the cabinet members' and officers' live dashboard of a consultation (with its cross-tab,
//! its headline questions and a reader of written answers), the printed report, the public results page's
//! figures, and the live updates of each over server-sent events (`stream`). Every figure comes from the
//! running totals; who sees what follows the consultation's results policy (`Consultation::viewer`,
//! `results_visible_to`), and small counts are suppressed outside officers' own working view.

pub mod stream;

use crate::auth::{Role, Viewer};
use crate::models::consultation::Consultation;
use crate::models::version::Loaded;
use crate::models::{now, organisation, response, totals};
use crate::results::crosstab::{self, BY_CHANNEL};
use crate::results::dashboard;
use crate::web::error::AppError;
use crate::web::identity::{actor, Identity};
use crate::web::officer::{page, see_other, Desk, Posted};
use crate::web::render::fragment;
use crate::web::routes::{Access, Router, BUILDERS, READERS, STAFF};
use crate::web::AppState;
use crate::workspace::headlines;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub fn routes(r: &mut Router) {
    let staff = Access::Pages(STAFF);
    r.get("/officer/consultations/{slug}/results", staff, web::get().to(dashboard_page))
        .get("/officer/consultations/{slug}/results/stream", staff, web::get().to(dashboard_live))
        .get("/officer/consultations/{slug}/results/report", staff, web::get().to(report_page))
        .post(
            "/officer/consultations/{slug}/results/headlines",
            Access::Pages(BUILDERS),
            web::post().to(choose_headlines),
        )
        .get("/officer/consultations/{slug}/results/answers/{question}", Access::Pages(READERS), web::get().to(answers))
        .get("/consultations/{slug}/results/stream", Access::Public, web::get().to(public_live));
}

/// The template of the figures region every results page shows, and which its live updates replace.
const FIGURES: &str = "results/figures.html";

#[derive(Deserialize)]
pub struct Breakdown {
    by: Option<String>,
}

/// A published consultation of the signed-in account's organisation (admins: any), its live version, and who
/// the account is to its results policy: 404 for another organisation's or a draft.
async fn for_staff(
    state: &AppState,
    who: &Identity,
    slug: &str,
) -> Result<(Consultation, Arc<Loaded>, Viewer), AppError> {
    let c = state.consultation_for(who, slug).await?;
    let version_id = c.live_version_id.ok_or(AppError::NotFound)?;
    let live = state.version(version_id).await?;
    let viewer = c.viewer(Some((who.role, who.organisation_id)));
    Ok((c, live, viewer))
}

/// What a results page shows about its consultation.
#[derive(Serialize)]
struct About {
    slug: String,
    title: String,
    phase: &'static str,
    organisation: String,
    opens: Option<String>,
    closes: Option<String>,
}

/// The context of the figures region: the dashboard's figures, with a cross-tab by `by` when asked for one,
/// as `viewer` may see them. `readers`: links to the written answers' reader.
async fn figures(
    state: &AppState,
    c: &Consultation,
    viewer: Viewer,
    by: Option<&str>,
    readers: bool,
) -> Result<tera::Context, AppError> {
    let by = by.filter(|b| !b.is_empty());
    let parts = totals::Parts { values: true, days: true, cross: by.and_then(crosstab::cross_part) };
    let (report, tallies) = state.results_of(c, viewer, parts).await?;
    let dash = dashboard::build(&report, &tallies, c.headlines().as_deref());
    let crosstab = by.and_then(|b| crosstab::build(&report, &tallies, b, !viewer.working_view()));
    let mut by_choices = vec![(BY_CHANNEL.to_string(), "Channel (how the response came in)".to_string())];
    by_choices.extend(
        report
            .questions
            .iter()
            .filter(|q| crosstab::can_break_down_by(&report, &q.key) && q.key != BY_CHANNEL && !q.removed)
            .map(|q| (q.key.clone(), q.prompt.clone())),
    );
    let mut ctx = tera::Context::new();
    ctx.insert("slug", &c.slug);
    ctx.insert("dashboard", &dash);
    ctx.insert("crosstab", &crosstab);
    ctx.insert("by", &by.unwrap_or(""));
    let by_label = by_choices.iter().find(|(k, _)| Some(k.as_str()) == by).map_or("", |(_, l)| l.as_str());
    ctx.insert("by_label", by_label);
    let mut by_options =
        vec![serde_json::json!({"value": "", "label": "Nothing (no cross-tab)", "selected": by.is_none()})];
    by_options.extend(
        by_choices.iter().map(|(k, l)| serde_json::json!({"value": k, "label": l, "selected": Some(k.as_str()) == by})),
    );
    ctx.insert("by_options", &by_options);
    let unknown = by.is_some() && crosstab.is_none();
    ctx.insert("by_unknown", &unknown);
    let by_error = if unknown { "Select a question or the channel to break the results down by" } else { "" };
    ctx.insert("by_error", by_error);
    let errors: Vec<crate::web::questions::ErrorLink> =
        if unknown { vec![crate::web::questions::ErrorLink { target: "by", message: by_error }] } else { Vec::new() };
    ctx.insert("errors", &errors);
    ctx.insert("suppressed", &!viewer.working_view());
    ctx.insert("readers", &readers);
    ctx.insert("updated", &state.local_time(now()));
    Ok(ctx)
}

async fn about(state: &AppState, c: &Consultation, live: &Loaded) -> Result<About, AppError> {
    let org = c.organisation_id;
    let organisation = state.db(move |conn| Ok(organisation::find(conn, org)?)).await?.map(|o| o.name);
    Ok(About {
        slug: c.slug.clone(),
        title: live.content.title.to_string(),
        phase: c.phase(now()).as_str(),
        organisation: organisation.unwrap_or_default(),
        opens: c.opens_at.map(|t| state.local_time(t)),
        closes: c.closes_at.map(|t| state.local_time(t)),
    })
}

fn reads_answers(role: Role) -> bool {
    READERS.contains(&role)
}

async fn dashboard_page(
    desk: Desk,
    slug: web::Path<String>,
    query: web::Query<Breakdown>,
) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let (c, live, viewer) = for_staff(state, &desk.identity, &slug).await?;
    let mut ctx = figures(state, &c, viewer, query.by.as_deref(), reads_answers(desk.identity.role)).await?;
    ctx.insert("consultation", &about(state, &c, &live).await?);
    ctx.insert("builder", &BUILDERS.contains(&desk.identity.role));
    let chosen = c.headlines();
    let choices: Vec<serde_json::Value> = headlines::choices(&live.content.questionnaire)
        .into_iter()
        .map(|(key, prompt)| {
            let checked = chosen.as_ref().is_none_or(|keys| keys.contains(&key));
            serde_json::json!({"key": key, "prompt": prompt, "checked": checked})
        })
        .collect();
    ctx.insert("headline_choices", &choices);
    let live_url = match query.by.as_deref().filter(|b| !b.is_empty()) {
        Some(by) => format!("/officer/consultations/{}/results/stream?by={}", c.slug, encode(by)),
        None => format!("/officer/consultations/{}/results/stream", c.slug),
    };
    ctx.insert("live_url", &live_url);
    let status = if ctx.get("by_unknown") == Some(&serde_json::Value::Bool(true)) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page(&desk.identity, &desk.csrf, status, "results/dashboard.html", ctx))
}

/// The dashboard's figures region, live.
async fn dashboard_live(
    desk: Desk,
    slug: web::Path<String>,
    query: web::Query<Breakdown>,
) -> Result<HttpResponse, AppError> {
    let (c, _, viewer) = for_staff(&desk.state, &desk.identity, &slug).await?;
    let readers = reads_answers(desk.identity.role);
    live(&desk.state, &desk.request, c, viewer, query.into_inner().by, readers).await
}

/// The public results page's figures region, live.
async fn public_live(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (c, _) = state.consultation(&slug).await?;
    live(&state, &request, c, Viewer::Public, None, false).await
}

async fn live(
    state: &web::Data<AppState>,
    request: &HttpRequest,
    c: Consultation,
    viewer: Viewer,
    by: Option<String>,
    readers: bool,
) -> Result<HttpResponse, AppError> {
    // Refused at once (403) when the policy does not allow the viewer.
    figures(state, &c, viewer, None, readers).await?;
    let id = c.id;
    let reader = state.clone();
    let render = move || {
        let (state, c, by) = (reader.clone(), c.clone(), by.clone());
        async move {
            let ctx = figures(&state, &c, viewer, by.as_deref(), readers).await.ok()?;
            Some(stream::event("figures", &fragment(FIGURES, &ctx)?))
        }
    };
    stream::open(state, request, id, render).or_else(|wait| {
        let mut response = actix_web::ResponseError::error_response(&AppError::TooManyRequests);
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        Ok(response)
    })
}

/// The public results page: the figures region as the public may see it, updated live.
pub async fn public_page(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, live) = state.consultation(&slug).await?;
    let mut ctx = figures(&state, &c, Viewer::Public, None, false).await?;
    ctx.insert("consultation", &about(&state, &c, &live).await?);
    ctx.insert("live_url", &format!("/consultations/{}/results/stream", c.slug));
    Ok(crate::web::render::page("public/results.html", ctx))
}

async fn report_page(desk: Desk, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let (c, live, viewer) = for_staff(state, &desk.identity, &slug).await?;
    let mut ctx = figures(state, &c, viewer, None, false).await?;
    ctx.insert("consultation", &about(state, &c, &live).await?);
    ctx.insert("printed", &true);
    Ok(page(&desk.identity, &desk.csrf, StatusCode::OK, "results/report.html", ctx))
}

async fn choose_headlines(posted: Posted, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let Posted { desk, form } = posted;
    let (c, live, _) = for_staff(&desk.state, &desk.identity, &slug).await?;
    let chosen: Vec<String> = form.get("headline").cloned().unwrap_or_default();
    let actor = actor(&desk.identity, &desk.request);
    let copy = c.clone();
    desk.state
        .db(move |conn| Ok(headlines::set(conn, &actor, &copy, &live.content.questionnaire, &chosen)))
        .await?
        .map_err(AppError::Workspace)?;
    Ok(see_other(format!("/officer/consultations/{}/results#headlines", c.slug)))
}

#[derive(Deserialize)]
pub struct PageNumber {
    page: Option<i64>,
}

/// Written answers per page of the reader.
const PER_PAGE: i64 = 25;

/// A written question's answers, a page at a time, oldest first.
async fn answers(
    desk: Desk,
    path: web::Path<(String, String)>,
    query: web::Query<PageNumber>,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let state = &desk.state;
    let (c, live, viewer) = for_staff(state, &desk.identity, &slug).await?;
    let (report, _) = state.results_of(&c, viewer, totals::Parts::default()).await?;
    let question = report
        .questions
        .iter()
        .find(|q| {
            q.key == key
                && matches!(
                    q.kind,
                    crate::domain::questionnaire::Kind::ShortText | crate::domain::questionnaire::Kind::LongText
                )
        })
        .ok_or(AppError::NotFound)?
        .clone();
    let pages = (question.base + PER_PAGE - 1) / PER_PAGE;
    let number = query.page.unwrap_or(1).clamp(1, pages.max(1));
    let id = c.id;
    let k = key.clone();
    let texts =
        state.db(move |conn| Ok(response::text_answers(conn, id, &k, (number - 1) * PER_PAGE, PER_PAGE)?)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &about(state, &c, &live).await?);
    ctx.insert("question", &question);
    ctx.insert("answers", &texts);
    ctx.insert("page", &number);
    ctx.insert("pages", &pages);
    ctx.insert("first", &((number - 1) * PER_PAGE + 1));
    Ok(page(&desk.identity, &desk.csrf, StatusCode::OK, "results/answers.html", ctx))
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
