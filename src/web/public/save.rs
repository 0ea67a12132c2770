//! "Save and come back later": from any question page a resident asks for a link by email; the link restores
//! their answers, and the page they were on, in any browser until the consultation closes; from the link (or
//! the restored journey) they can delete what they saved. The link's token is not the journey cookie's: it
//! exists only in the email, and the database keeps its digest (`models::return_link`).

use super::journey::{load, page_url, see_other, set_cookie, Context, COOKIE};
use super::not_open;
use crate::auth::secret;
use crate::domain::phase::Phase;
use crate::email::{compose, Kind};
use crate::models::{journey, now, outbox, return_link};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::render::{page, page_with_status};
use crate::web::routes::{Access, Router};
use crate::web::{form, AppState};
use actix_web::cookie::{time, Cookie};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

pub fn routes(r: &mut Router) {
    r.get("/consultations/{slug}/save", Access::Public, web::get().to(ask))
        .post("/consultations/{slug}/save", Access::Public, web::post().to(send))
        .get("/consultations/{slug}/save/sent", Access::Public, web::get().to(sent))
        .get("/consultations/{slug}/return/{token}", Access::Public, web::get().to(restore))
        .get("/consultations/{slug}/return/{token}/delete", Access::Public, web::get().to(confirm_delete_by_link))
        .post("/consultations/{slug}/return/{token}/delete", Access::Public, web::post().to(delete_by_link))
        .get("/consultations/{slug}/saved/delete", Access::Public, web::get().to(confirm_delete))
        .post("/consultations/{slug}/saved/delete", Access::Public, web::post().to(delete))
        .get("/consultations/{slug}/saved/deleted", Access::Public, web::get().to(deleted));
}

/// The name of the question pages' "Save and come back later" button: present in the form when it was the
/// button pressed.
const BUTTON: &str = "save";

/// Whether a question page's form was sent with "Save and come back later".
pub(super) fn pressed(form: &crate::domain::validation::Form) -> bool {
    form.contains_key(BUTTON)
}

/// The page asking for the address to send the link to.
pub(super) fn ask_url(slug: &str) -> String {
    format!("/consultations/{slug}/save")
}

/// The page deleting what the resident's own journey saved.
pub(super) fn delete_url(slug: &str) -> String {
    format!("/consultations/{slug}/saved/delete")
}

fn return_path(slug: &str, token: &str) -> String {
    format!("/consultations/{slug}/return/{token}")
}

/// Whether the resident's journey has been saved with a link, so that its pages offer to delete it.
pub(super) async fn has_link(state: &AppState, ctx: &Context) -> Result<bool, AppError> {
    let Some(j) = &ctx.journey else { return Ok(false) };
    let (id, token) = (j.consultation_id, j.token.clone());
    state.db(move |conn| Ok(return_link::exists_for(conn, id, &token)?)).await
}

/// Until when a link works: until the consultation closes, or, for one with no closing time, as long as the
/// journey itself is kept.
fn link_expiry(ctx: &Context, j: &journey::Journey) -> NaiveDateTime {
    ctx.consultation.closes_at.unwrap_or(j.expires_at)
}

/// The journey a resident may save: one with answers, in an open consultation, not yet submitted. Otherwise
/// where to send them instead.
fn savable<'a>(state: &AppState, ctx: &'a Context, post: bool) -> Result<&'a journey::Journey, HttpResponse> {
    let c = &ctx.consultation;
    if c.phase(now()) != Phase::Open {
        return Err(not_open(state, c, &ctx.version, if post { StatusCode::CONFLICT } else { StatusCode::OK }));
    }
    match &ctx.journey {
        Some(j) if j.reference.is_none() => Ok(j),
        // Nothing saved yet, or already sent: the start link knows where they stand.
        _ => Err(see_other(format!("/consultations/{}/respond", c.slug))),
    }
}

/// The address form, with the address typed and the problem with it, if any.
fn render_ask(
    state: &AppState,
    ctx: &Context,
    j: &journey::Journey,
    email: &str,
    error: Option<&str>,
    csrf: &str,
) -> HttpResponse {
    let slug = &ctx.consultation.slug;
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", slug);
    tctx.insert("back", &page_url(slug, &j.progress().next(ctx.questionnaire())));
    tctx.insert("expires", &state.local_time(link_expiry(ctx, j)));
    tctx.insert("closes", &ctx.consultation.closes_at.is_some());
    tctx.insert("email", email);
    tctx.insert("error", &error);
    tctx.insert("errors", &error.map(|message| vec![serde_json::json!({"target": "email", "message": message})]));
    tctx.insert("csrf", csrf);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page_with_status(status, "public/save.html", tctx)
}

async fn ask(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    Ok(match savable(&state, &ctx, false) {
        Ok(j) => render_ask(&state, &ctx, j, "", None, &csrf.0),
        Err(elsewhere) => elsewhere,
    })
}

/// What is wrong with an address typed into the form, in the words the page shows.
fn address_problem(email: &str) -> Option<&'static str> {
    if email.is_empty() {
        Some("Enter your email address")
    } else if !compose::is_address(email) {
        Some("Enter an email address in the correct format, like name@example.com")
    } else {
        None
    }
}

/// Makes the link and its message in one transaction, so that a link exists exactly when its email does.
async fn send(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, body).await?;
    let ctx = load(&state, &slug, &request).await?;
    let j = match savable(&state, &ctx, true) {
        Ok(j) => j,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let field = |name: &str| form.get(name).and_then(|v| v.first()).map_or("", |s| s.trim()).to_string();
    let email = field("email");
    if let Some(problem) = address_problem(&email) {
        return Ok(render_ask(&state, &ctx, j, &email, Some(problem), &field(crate::web::csrf::FIELD)));
    }
    let token = secret::new_link_token();
    let link = return_link::ReturnLink {
        token_hash: secret::digest(&token),
        consultation_id: ctx.consultation.id,
        journey_token: j.token.clone(),
        created_at: now(),
        expires_at: link_expiry(&ctx, j),
    };
    let kept = link.expires_at.max(j.expires_at);
    let path = return_path(&slug, &token);
    let payload = serde_json::json!({
        "link": state.mail.link(&path),
        "delete_link": state.mail.link(&format!("{path}/delete")),
        "expires": state.local_time(link.expires_at),
        "closes": ctx.consultation.closes_at.is_some(),
    });
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<(), AppError> {
                return_link::insert(conn, &link)?;
                let message = outbox::NewMessage {
                    consultation_id: Some(link.consultation_id),
                    kind: Kind::ReturnLink.name(),
                    dedup_key: &return_link::dedup_key(&link.token_hash),
                    recipient: &email,
                    payload,
                };
                outbox::enqueue(conn, &message, link.created_at)?;
                Ok(())
            })
        })
        .await?;
    state.mail.wake.wake();
    let mut response = see_other(format!("/consultations/{slug}/save/sent"));
    // This browser keeps the journey as long as the link does, too.
    cookie_until(&state, &mut response, &slug, j, kept)?;
    Ok(response)
}

/// "Check your email".
async fn sent(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let j = match savable(&state, &ctx, false) {
        Ok(j) => j,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", &ctx.consultation.slug);
    tctx.insert("expires", &state.local_time(link_expiry(&ctx, j)));
    tctx.insert("closes", &ctx.consultation.closes_at.is_some());
    tctx.insert("continue_url", &page_url(&slug, &j.progress().next(ctx.questionnaire())));
    tctx.insert("delete_url", &delete_url(&slug));
    Ok(page("public/save_sent.html", tctx))
}

/// What a link's token finds: nothing (404), a link past its time (410), or the link and its live journey.
enum Found {
    Unknown,
    Expired(return_link::ReturnLink),
    Live(return_link::ReturnLink, journey::Journey),
}

impl Found {
    /// The link found, expired or not.
    fn link(self) -> Option<return_link::ReturnLink> {
        match self {
            Found::Unknown => None,
            Found::Expired(link) | Found::Live(link, _) => Some(link),
        }
    }
}

/// The link (and its journey) for a token in the consultation `slug`; `Expired` once the consultation has
/// closed or the link's time has passed, or when the journey it kept is gone.
async fn find_link(state: &AppState, slug: &str, token: &str) -> Result<(Found, Context), AppError> {
    let (consultation, version) = state.consultation(slug).await?;
    let ctx = Context { consultation, journey: None, version };
    if !secret::looks_like_link_token(token) {
        return Ok((Found::Unknown, ctx));
    }
    let (id, hash) = (ctx.consultation.id, secret::digest(token));
    let at = now();
    let (link, journey) = state
        .db(move |conn| {
            let Some(link) = return_link::find(conn, id, &hash)? else { return Ok((None, None)) };
            let journey = journey::find(conn, &link.journey_token, id, at)?;
            Ok((Some(link), journey))
        })
        .await?;
    let found = match (link, journey) {
        (None, _) => Found::Unknown,
        // A response already sent says so, even after the close: more use than "expired".
        (Some(link), Some(j)) if j.reference.is_some() => Found::Live(link, j),
        (Some(link), Some(j)) if link.expires_at > at && ctx.consultation.phase(at) == Phase::Open => {
            Found::Live(link, j)
        }
        (Some(link), _) => Found::Expired(link),
    };
    Ok((found, ctx))
}

/// The page for a link that no longer works (410): what it means and where to go.
fn expired(ctx: &Context) -> HttpResponse {
    let c = &ctx.consultation;
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", &c.slug);
    tctx.insert("closed", &(c.phase(now()) != Phase::Open));
    page_with_status(StatusCode::GONE, "public/return_expired.html", tctx)
}

/// The page for a link to a journey whose response has been sent.
fn already_sent(ctx: &Context, reference: &str) -> HttpResponse {
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", &ctx.consultation.slug);
    tctx.insert("reference", reference);
    tctx.insert("results_public", &ctx.consultation.results_visible_to(crate::auth::Viewer::Public));
    page("public/return_submitted.html", tctx)
}

/// The link from the email: this browser takes the journey on, and goes to the page the resident had reached.
async fn restore(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (slug, token) = path.into_inner();
    let (found, ctx) = find_link(&state, &slug, &token).await?;
    let j = match found {
        Found::Unknown => return Err(AppError::NotFound),
        Found::Expired(_) => return Ok(expired(&ctx)),
        Found::Live(_, j) => j,
    };
    if let Some(reference) = &j.reference {
        return Ok(already_sent(&ctx, reference));
    }
    let version = state.version(j.version_id).await?;
    let next = j.progress().next(&version.content.questionnaire);
    let mut response = see_other(page_url(&slug, &next));
    cookie_until(&state, &mut response, &slug, &j, j.expires_at)?;
    Ok(response)
}

/// The journey's cookie, until `until` (when the journey's link expires).
fn cookie_until(
    state: &AppState,
    response: &mut HttpResponse,
    slug: &str,
    j: &journey::Journey,
    until: NaiveDateTime,
) -> Result<(), AppError> {
    let left = (until - now()).num_seconds().max(0);
    set_cookie(state, response, slug, j.token.clone(), time::Duration::seconds(left))
}

/// The confirmation page before deleting, posting to `action`.
fn render_confirm_delete(ctx: &Context, action: &str, back: &str, csrf: &str) -> HttpResponse {
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("action", action);
    tctx.insert("back", back);
    tctx.insert("csrf", csrf);
    page("public/delete_saved.html", tctx)
}

/// Deletes a journey with everything saved for it, forgets it in this browser, and shows that it is done.
async fn delete_journey(
    state: &AppState,
    slug: &str,
    consultation_id: i64,
    token: String,
) -> Result<HttpResponse, AppError> {
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<bool, AppError> {
                Ok(return_link::delete_journey(conn, consultation_id, &token)?)
            })
        })
        .await?;
    let mut response = see_other(format!("/consultations/{slug}/saved/deleted"));
    let gone = Cookie::build(COOKIE, "").path(format!("/consultations/{slug}")).finish();
    response.add_removal_cookie(&gone).map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

/// From the email: works as long as the link exists, expired or not, so that a resident can always delete
/// what they saved.
async fn confirm_delete_by_link(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, token) = path.into_inner();
    let (found, ctx) = find_link(&state, &slug, &token).await?;
    if matches!(found, Found::Unknown) {
        return Err(AppError::NotFound);
    }
    let link = return_path(&slug, &token);
    Ok(render_confirm_delete(&ctx, &format!("{link}/delete"), &link, &csrf.0))
}

async fn delete_by_link(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    form::read(&request, &state, body).await?;
    let (slug, token) = path.into_inner();
    let (found, _) = find_link(&state, &slug, &token).await?;
    // Expired or not: an expired link still deletes what it saved.
    let link = found.link().ok_or(AppError::NotFound)?;
    delete_journey(&state, &slug, link.consultation_id, link.journey_token).await
}

/// From the restored journey's pages: deletes the journey in this browser's cookie.
async fn confirm_delete(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let Some(j) = &ctx.journey else {
        return Ok(see_other(format!("/consultations/{slug}")));
    };
    let back = page_url(&slug, &j.progress().next(ctx.questionnaire()));
    Ok(render_confirm_delete(&ctx, &delete_url(&slug), &back, &csrf.0))
}

async fn delete(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    form::read(&request, &state, body).await?;
    let ctx = load(&state, &slug, &request).await?;
    match ctx.journey {
        Some(j) => delete_journey(&state, &slug, j.consultation_id, j.token).await,
        None => Ok(see_other(format!("/consultations/{slug}/saved/deleted"))),
    }
}

async fn deleted(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, live) = state.consultation(&slug).await?;
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", live.content.title.as_str());
    tctx.insert("slug", &c.slug);
    tctx.insert("open", &(c.phase(now()) == Phase::Open));
    Ok(page("public/saved_deleted.html", tctx))
}
