//! "Get an email when the results are published" (see `email::notify`): the request form, the link that
//! confirms it (a page with a button, since mail scanners follow links), and unsubscribing, from a page or in
//! one click from a mail program (RFC 8058).

use crate::auth::secret::looks_like_link_token;
use crate::domain::phase::Phase;
use crate::email::{compose, notify};
use crate::models::{consultation::Consultation, now};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::render::{page, page_with_status};
use crate::web::routes::{Access, Router};
use crate::web::{form, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(r: &mut Router) {
    r.get("/consultations/{slug}/notify", Access::Public, web::get().to(ask))
        .post("/consultations/{slug}/notify", Access::Public, web::post().to(request))
        .get("/consultations/{slug}/notify/sent", Access::Public, web::get().to(sent))
        .get("/consultations/{slug}/notify/{token}", Access::Public, web::get().to(confirm_page))
        .post("/consultations/{slug}/notify/{token}", Access::Public, web::post().to(confirm))
        .get("/unsubscribe/{token}", Access::Public, web::get().to(unsubscribe_page))
        .post(crate::web::csrf::EXEMPT_POST, Access::Public, web::post().to(unsubscribe));
}

/// The form field the address is typed in, and the id the error summary links to.
const EMAIL: &str = "email";

/// Whether residents may ask to hear about a consultation's results: it has been open, and they are not out.
pub fn may_ask(c: &Consultation) -> bool {
    c.results_published_at.is_none() && matches!(c.phase(now()), Phase::Open | Phase::Closed)
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// The consultation a page is for, when residents may still ask about it; else where to send them instead
/// (its own page, which shows the results once they are out).
async fn askable(state: &AppState, slug: &str) -> Result<Result<(Consultation, String), HttpResponse>, AppError> {
    let (c, live) = state.consultation(slug).await?;
    if !may_ask(&c) {
        return Ok(Err(see_other(format!("/consultations/{slug}"))));
    }
    Ok(Ok((c, live.content.title.to_string())))
}

/// The request form on a page of its own (the consultation's page also has it), with any error.
fn form_page(
    c: &Consultation,
    title: &str,
    email: &str,
    error: Option<&str>,
    csrf: &str,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("slug", &c.slug);
    ctx.insert("title", title);
    ctx.insert("email", email);
    ctx.insert("error", &error);
    ctx.insert("errors", &error.map(|message| vec![serde_json::json!({"target": EMAIL, "message": message})]));
    ctx.insert("csrf", csrf);
    page_with_status(status, "public/notify.html", ctx)
}

async fn ask(state: web::Data<AppState>, slug: web::Path<String>, csrf: CsrfToken) -> Result<HttpResponse, AppError> {
    Ok(match askable(&state, &slug).await? {
        Ok((c, title)) => form_page(&c, &title, "", None, &csrf.0, StatusCode::OK),
        Err(elsewhere) => elsewhere,
    })
}

/// What is wrong with a typed address, in the words the page shows.
fn address_problem(email: &str) -> Option<&'static str> {
    if email.trim().is_empty() {
        Some("Enter your email address")
    } else if !compose::is_address(email) {
        Some("Enter an email address in the correct format, like name@example.com")
    } else {
        None
    }
}

async fn request(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, body).await?;
    let (c, title) = match askable(&state, &slug).await? {
        Ok(found) => found,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let field = |name: &str| form.get(name).and_then(|v| v.first()).cloned().unwrap_or_default();
    let email = field(EMAIL);
    if let Some(problem) = address_problem(&email) {
        let csrf = field(crate::web::csrf::FIELD);
        return Ok(form_page(&c, &title, &email, Some(problem), &csrf, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let mail = state.mail.clone();
    state.db(move |conn| Ok(notify::request(conn, &c, &email, &mail, now())?)).await?;
    state.mail.wake.wake();
    Ok(see_other(format!("/consultations/{slug}/notify/sent")))
}

/// "Check your email".
async fn sent(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, live) = state.consultation(&slug).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("slug", &c.slug);
    ctx.insert("title", live.content.title.as_str());
    Ok(page("public/notify_sent.html", ctx))
}

/// The consultation and the token of a confirmation link, or 404 when either is unknown.
async fn link(state: &AppState, path: (String, String)) -> Result<(Consultation, String, String), AppError> {
    let (slug, token) = path;
    if !looks_like_link_token(&token) {
        return Err(AppError::NotFound);
    }
    let (c, live) = state.consultation(&slug).await?;
    Ok((c, live.content.title.to_string(), token))
}

/// The page a confirmation link opens: a button to confirm, or that it is confirmed.
async fn confirm_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (c, title, token) = link(&state, path.into_inner()).await?;
    let (cc, t) = (c.clone(), token.clone());
    let found = state.db(move |conn| Ok(notify::find(conn, &cc, &t)?)).await?.ok_or(AppError::NotFound)?;
    let mut ctx = tera::Context::new();
    ctx.insert("slug", &c.slug);
    ctx.insert("title", &title);
    ctx.insert("token", &token);
    ctx.insert("csrf", &csrf.0);
    ctx.insert("confirmed", &found.confirmed_at.is_some());
    ctx.insert("unsubscribed", &found.unsubscribed_at.is_some());
    ctx.insert("published", &c.results_published_at.is_some());
    Ok(page("public/notify_confirm.html", ctx))
}

async fn confirm(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    form::read(&request, &state, body).await?;
    let (c, _, token) = link(&state, path.into_inner()).await?;
    let (slug, t) = (c.slug.clone(), token.clone());
    if !state.db(move |conn| Ok(notify::confirm(conn, &c, &t, now())?)).await? {
        return Err(AppError::NotFound);
    }
    Ok(see_other(notify::confirm_path(&slug, &token)))
}

/// The token of an unsubscribe link, or 404 when it cannot be one.
fn unsubscribe_token(token: web::Path<String>) -> Result<String, AppError> {
    let token = token.into_inner();
    looks_like_link_token(&token).then_some(token).ok_or(AppError::NotFound)
}

fn unsubscribe_view(token: &str, done: bool) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("token", token);
    ctx.insert("done", &done);
    page("public/unsubscribe.html", ctx)
}

/// The page an unsubscribe link opens: a button (mail scanners follow links, so a GET changes nothing), or
/// that it is done.
async fn unsubscribe_page(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = unsubscribe_token(token)?;
    let t = token.clone();
    let found = state.db(move |conn| Ok(notify::find_for_unsubscribe(conn, &t)?)).await?.ok_or(AppError::NotFound)?;
    Ok(unsubscribe_view(&token, found.unsubscribed_at.is_some()))
}

/// Unsubscribes at once, from the page's button or a mail program's one-click POST (RFC 8058), which carries
/// no cookie and no CSRF token: this route alone is exempt from the CSRF check (see `web::csrf`). The page
/// comes straight back (no redirect), since a mail program does not follow one; sending it twice is harmless.
async fn unsubscribe(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = unsubscribe_token(token)?;
    let t = token.clone();
    state.db(move |conn| Ok(notify::unsubscribe(conn, &t, now())?)).await?.ok_or(AppError::NotFound)?;
    Ok(unsubscribe_view(&token, true))
}
