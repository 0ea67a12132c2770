//! One response per person, where the officers turn it on: before answering, a resident confirms an email
//! address through a link sent to it. Only the keyed hash of the address is kept (`models::respondent`), and
//! the journey that the confirmed link begins carries it to the response, whose unique index refuses a second
//! one from the same address. The link's GET only shows a button: mail scanners that fetch links use nothing.

use super::{live_card, not_open};
use crate::auth::secret::{address_hash, digest, looks_like_link_token, new_link_token};
use crate::domain::journey::Progress;
use crate::domain::phase::Phase;
use crate::domain::reference::new_token;
use crate::email::compose::is_address;
use crate::email::Kind;
use crate::models::{consultation::Consultation, journey, now, outbox, respondent, response, version::Loaded};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::render::{page, page_with_status};
use crate::web::routes::{Access, Router};
use crate::web::{form, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// What a resident is told when the address they typed cannot be one (every form that takes one says this).
pub const NOT_AN_ADDRESS: &str = "Enter an email address in the correct format, like name@example.com";

pub fn routes(r: &mut Router) {
    r.post("/consultations/{slug}/respond", Access::Public, web::post().to(send_link))
        .get("/consultations/{slug}/confirm", Access::Public, web::get().to(check_email))
        .get("/consultations/{slug}/confirm/{token}", Access::Public, web::get().to(show_link))
        .post("/consultations/{slug}/confirm/{token}", Access::Public, web::post().to(use_link));
}

/// The "Confirm your email address" page that starts the journey where each person responds once.
pub fn ask_address(
    state: &AppState,
    c: &Consultation,
    live: &Loaded,
    csrf: &str,
    email: &str,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(state, c, live));
    ctx.insert("csrf", csrf);
    address_field(&mut ctx, email, status);
    page_with_status(status, "public/confirm_email.html", ctx)
}

/// An email field's value and, when the page is shown again because it is not an address (422), its error and
/// the error summary: `email`, `email_error` and `errors` for the template. The field's id is `email`.
pub fn address_field(ctx: &mut tera::Context, email: &str, status: StatusCode) {
    let error = (status == StatusCode::UNPROCESSABLE_ENTITY).then_some(NOT_AN_ADDRESS);
    ctx.insert("email", email);
    ctx.insert("email_error", &error);
    ctx.insert("errors", &error.map(|message| vec![serde_json::json!({ "target": "email", "message": message })]));
}

/// The page saying a second response from one address is refused.
pub fn already_responded(c: &Consultation, live: &Loaded) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &serde_json::json!({ "slug": c.slug, "title": live.content.title.as_str() }));
    page_with_status(StatusCode::CONFLICT, "public/already_responded.html", ctx)
}

/// The consultation, if it takes one response per person and is open; else the page to show instead.
async fn open_once(
    state: &AppState,
    slug: &str,
    post: bool,
) -> Result<Result<(Consultation, Arc<Loaded>), HttpResponse>, AppError> {
    let (c, live) = state.consultation(slug).await?;
    if !c.one_response_per_person {
        return Err(AppError::NotFound);
    }
    if c.phase(now()) != Phase::Open {
        let status = if post { StatusCode::CONFLICT } else { StatusCode::OK };
        return Ok(Err(not_open(state, &c, &live, status)));
    }
    Ok(Ok((c, live)))
}

/// Sends the confirmation link: a row holding the token's digest and the address's keyed hash, and the message
/// in the outbox, in one transaction. The page that follows is the same whether or not the address has
/// responded, so that it tells nobody who has.
async fn send_link(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, body).await?;
    let (c, live) = match open_once(&state, &slug, true).await? {
        Ok(found) => found,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let email = form::value(&form, "email");
    if !is_address(&email) {
        let csrf = form::value(&form, crate::web::csrf::FIELD);
        return Ok(ask_address(&state, &c, &live, &csrf, &email, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let at = now();
    let expires_at = c.closes_at.unwrap_or(at + chrono::Duration::days(state.settings.site.journey_days));
    let token = new_link_token();
    let token_hash = digest(&token);
    let link = state.mail.link(&format!("/consultations/{}/confirm/{token}", c.slug));
    let expires = state.local_time(expires_at);
    let email_hash = address_hash(&state.secret, &email);
    let id = c.id;
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| {
                let new = respondent::NewRespondent {
                    token_hash: &token_hash,
                    consultation_id: id,
                    email_hash: &email_hash,
                    created_at: at,
                    expires_at,
                };
                respondent::insert(conn, &new)?;
                let message = outbox::NewMessage {
                    consultation_id: Some(id),
                    kind: Kind::ConfirmAddress.name(),
                    dedup_key: &format!("confirm-address:{id}:{token_hash}"),
                    recipient: &email,
                    payload: serde_json::json!({ "link": link, "expires": expires }),
                };
                outbox::enqueue(conn, &message, at).map(drop)
            })
            .map_err(AppError::from)
        })
        .await?;
    state.mail.wake.wake();
    Ok(super::journey::see_other(format!("/consultations/{}/confirm", c.slug)))
}

async fn check_email(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (c, live) = match open_once(&state, &slug, false).await? {
        Ok(found) => found,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(&state, &c, &live));
    Ok(page("public/check_email.html", ctx))
}

/// Why a link cannot be used: the status, the page's heading and what to do.
type LinkProblem = (StatusCode, &'static str, &'static str);

const UNKNOWN: LinkProblem = (
    StatusCode::NOT_FOUND,
    "This link is not valid",
    "The link may have been copied wrongly. Check that you used the whole link from the email, or ask for a new one.",
);
const USED: LinkProblem = (
    StatusCode::GONE,
    "This link has already been used",
    "Each link works once. If you have not finished your response, ask for a new link.",
);
const EXPIRED: LinkProblem = (
    StatusCode::GONE,
    "This link has expired",
    "Links work until the consultation closes. Ask for a new link if the consultation is still open.",
);

/// The unused, unexpired link a token stands for, or why it cannot be used.
async fn find_link(
    state: &AppState,
    c: &Consultation,
    token: &str,
) -> Result<Result<respondent::Respondent, LinkProblem>, AppError> {
    if !looks_like_link_token(token) {
        return Ok(Err(UNKNOWN));
    }
    let (id, hash) = (c.id, digest(token));
    let Some(found) = state.db(move |conn| Ok(respondent::find(conn, id, &hash)?)).await? else {
        return Ok(Err(UNKNOWN));
    };
    Ok(if found.confirmed_at.is_some() {
        Err(USED)
    } else if found.expires_at <= now() {
        Err(EXPIRED)
    } else {
        Ok(found)
    })
}

fn link_problem(state: &AppState, c: &Consultation, live: &Loaded, problem: LinkProblem) -> HttpResponse {
    let (status, heading, explanation) = problem;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(state, c, live));
    ctx.insert("heading", heading);
    ctx.insert("explanation", explanation);
    page_with_status(status, "public/confirm_link_problem.html", ctx)
}

/// The link's page: only a button, so that fetching the link changes nothing.
async fn show_link(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, token) = path.into_inner();
    let (c, live) = match open_once(&state, &slug, false).await? {
        Ok(found) => found,
        Err(elsewhere) => return Ok(elsewhere),
    };
    if let Err(problem) = find_link(&state, &c, &token).await? {
        return Ok(link_problem(&state, &c, &live, problem));
    }
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &live_card(&state, &c, &live));
    ctx.insert("action", &format!("/consultations/{}/confirm/{token}", c.slug));
    ctx.insert("csrf", &csrf.0);
    Ok(page("public/confirm_continue.html", ctx))
}

/// Uses the link: marks it confirmed and begins a journey answering for the address's hash, in one
/// transaction, then goes to the first question. An address that has responded already is told so here, before
/// answering anything; the response's unique index still has the last word at submission.
async fn use_link(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, token) = path.into_inner();
    form::read(&request, &state, body).await?;
    let (c, live) = match open_once(&state, &slug, true).await? {
        Ok(found) => found,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let found = match find_link(&state, &c, &token).await? {
        Ok(found) => found,
        Err(problem) => return Ok(link_problem(&state, &c, &live, problem)),
    };
    let at = now();
    let journey_token = new_token();
    let expires_at = at + chrono::Duration::days(state.settings.site.journey_days);
    let (id, version_id, saved) = (c.id, live.id, journey_token.clone());
    let begun = state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<Begun, diesel::result::Error> {
                if response::has_respondent(conn, id, &found.email_hash)? {
                    return Ok(Begun::AlreadyResponded);
                }
                if !respondent::confirm(conn, &found.token_hash, at)? {
                    return Ok(Begun::Used);
                }
                journey::insert(
                    conn,
                    &journey::NewJourney {
                        consultation_id: id,
                        token: &saved,
                        version_id,
                        answers: &journey::progress_json(&Progress::default()),
                        created_at: at,
                        updated_at: at,
                        expires_at,
                        respondent: Some(&found.email_hash),
                    },
                )?;
                Ok(Begun::Journey)
            })
            .map_err(AppError::from)
        })
        .await?;
    match begun {
        Begun::AlreadyResponded => Ok(already_responded(&c, &live)),
        // Another request used the link between the look-up and now.
        Begun::Used => Ok(link_problem(&state, &c, &live, USED)),
        Begun::Journey => {
            let first = Progress::default().next(&live.content.questionnaire);
            let mut response = super::journey::see_other(super::journey::page_url(&c.slug, &first));
            let days = actix_web::cookie::time::Duration::days(state.settings.site.journey_days);
            super::journey::set_cookie(&state, &mut response, &c.slug, journey_token, days)?;
            Ok(response)
        }
    }
}

enum Begun {
    Journey,
    Used,
    AlreadyResponded,
}
