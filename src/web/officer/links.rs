//! The pages an officer reaches without signing in, through a link sent by email: asking for a password reset
//! ("Forgot your password?"), and setting a password from an invitation or a reset link. The links themselves
//! are made and checked by `accounts`; here each is built from the configured public address (never the
//! request's Host), and a link that no longer works gets a page that says why: 404 when it is unknown, 410 when
//! it has been used or has expired.
//!
//! The answer to a reset request is the same page, status and work whether or not the account exists (see
//! `accounts::request_reset`), and requests are throttled per address and account like sign-ins.

use super::{busy, field, page_for_visitor, see_other, Errors};
use crate::accounts::{self, Link, LinkRefused};
use crate::auth::{account, secret, throttle as rules};
use crate::models::account_link::Purpose;
use crate::models::now;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::render::page_with_status;
use crate::web::routes::{Access, Router};
use crate::web::{form, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(r: &mut Router) {
    r.get("/officer/forgot-password", Access::Public, web::get().to(forgot))
        .post("/officer/forgot-password", Access::Public, web::post().to(request_reset))
        .get("/officer/invitation/{token}", Access::Public, web::get().to(show_invitation))
        .post("/officer/invitation/{token}", Access::Public, web::post().to(accept_invitation))
        .get("/officer/reset/{token}", Access::Public, web::get().to(show_reset))
        .post("/officer/reset/{token}", Access::Public, web::post().to(reset));
}

/// A new link to `{path}/{token}` that works for `lifetime`.
pub fn new_link(state: &AppState, path: &str, lifetime: chrono::Duration) -> Link {
    let token = secret::new_link_token();
    let expires_at = now() + lifetime;
    Link { url: state.mail.link(&format!("{path}/{token}")), token, expires_at, expires: state.local_time(expires_at) }
}

/// Where invitations' links point, followed by the token.
pub const INVITATION: &str = "/officer/invitation";

/// Where each purpose's links point.
fn link_path(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Invitation => INVITATION,
        Purpose::Reset => "/officer/reset",
    }
}

// ------------------------------------------------------------------------------------------------------------
// Asking for a reset
// ------------------------------------------------------------------------------------------------------------

async fn forgot(csrf: CsrfToken) -> HttpResponse {
    forgot_page(StatusCode::OK, &csrf, "", &Errors::default(), None)
}

/// The form (blank, or with an error: 422), or what happens next once sent (`sent`).
fn forgot_page(status: StatusCode, csrf: &CsrfToken, email: &str, errors: &Errors, sent: Option<&str>) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("email", email);
    ctx.insert("sent", &sent);
    errors.show(&mut ctx, &["email"]);
    page_for_visitor(csrf, status, "officer/forgot_password.html", ctx)
}

async fn request_reset(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, payload).await?;
    let typed = field(&form, "email").trim().to_string();
    let email = match account::email(&typed) {
        Ok(email) => email,
        Err(message) => {
            let mut errors = Errors::default();
            errors.add("email", message);
            return Ok(forgot_page(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &typed, &errors, None));
        }
    };
    let address = crate::web::client_address(&request, &state.settings);
    let keys = rules::reset_keys(&email, address);
    let link = new_link(&state, link_path(Purpose::Reset), state.settings.auth.reset());
    let asked =
        state.db(move |conn| Ok(accounts::request_reset(conn, &keys, &email, address.to_string(), &link)?)).await?;
    if let Err(wait) = asked {
        let mut response = page_with_status(StatusCode::TOO_MANY_REQUESTS, "public/error.html", {
            let mut ctx = tera::Context::new();
            ctx.insert("heading", "Too many requests");
            ctx.insert(
                "detail",
                "There have been too many requests to reset this password. Wait a few minutes, then try again.",
            );
            ctx
        });
        let seconds = wait.num_seconds().max(1).to_string();
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_str(&seconds).expect("digits"));
        return Ok(response);
    }
    // Woken whether or not anything was enqueued: the same work either way.
    state.mail.wake.wake();
    let expires = format!("{} minutes", state.settings.auth.reset_minutes);
    Ok(forgot_page(StatusCode::OK, &csrf, "", &Errors::default(), Some(&expires)))
}

// ------------------------------------------------------------------------------------------------------------
// Setting a password from a link
// ------------------------------------------------------------------------------------------------------------

const FIELDS: &[&str] = &["new-password", "confirm-password"];

/// The page a link that no longer works shows, with its status.
fn refused(purpose: Purpose, why: LinkRefused) -> HttpResponse {
    let again = match purpose {
        Purpose::Invitation => "Ask the admin who invited you to send a new invitation.",
        Purpose::Reset => "You can ask for a new link from the sign-in page: choose ‘Forgot your password?’.",
    };
    let (status, heading, detail) = match why {
        LinkRefused::Unknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            format!("Check that you copied the whole link from the email. {again}"),
        ),
        LinkRefused::Used => (
            StatusCode::GONE,
            "This link has already been used",
            format!("Each link works once: if you have set your password, sign in with it. {again}"),
        ),
        LinkRefused::Expired => {
            (StatusCode::GONE, "This link has expired", format!("The link no longer works. {again}"))
        }
    };
    let mut ctx = tera::Context::new();
    ctx.insert("heading", heading);
    ctx.insert("detail", &detail);
    page_with_status(status, "public/error.html", ctx)
}

/// The form to set a password through a link, blank or with errors (422).
fn password_page(purpose: Purpose, csrf: &CsrfToken, token: &str, errors: &Errors) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("action", &format!("{}/{token}", link_path(purpose)));
    ctx.insert("invitation", &(purpose == Purpose::Invitation));
    let heading = match purpose {
        Purpose::Invitation => "Set your password",
        Purpose::Reset => "Choose a new password",
    };
    ctx.insert("heading", heading);
    errors.show(&mut ctx, FIELDS);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page_for_visitor(csrf, status, "officer/set_password.html", ctx)
}

async fn show_link(
    state: &AppState,
    purpose: Purpose,
    token: String,
    csrf: &CsrfToken,
) -> Result<HttpResponse, AppError> {
    let checked = token.clone();
    let found = state.db(move |conn| Ok(accounts::link_account(conn, purpose, &checked, now())?)).await?;
    Ok(match found {
        Ok(_) => password_page(purpose, csrf, &token, &Errors::default()),
        Err(why) => refused(purpose, why),
    })
}

async fn show_invitation(
    state: web::Data<AppState>,
    token: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    show_link(&state, Purpose::Invitation, token.into_inner(), &csrf).await
}

async fn show_reset(
    state: web::Data<AppState>,
    token: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    show_link(&state, Purpose::Reset, token.into_inner(), &csrf).await
}

/// Sets the password through a link: checked against the policy (and the account's own email and name), hashed
/// before the transaction, which checks the link again (it may have been used meanwhile). Then to sign in.
async fn set_password(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    csrf: CsrfToken,
    purpose: Purpose,
    token: String,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, payload).await?;
    let checked = token.clone();
    let found = match state.db(move |conn| Ok(accounts::link_account(conn, purpose, &checked, now())?)).await? {
        Ok(found) => found,
        Err(why) => return Ok(refused(purpose, why)),
    };
    let new_password = field(&form, "new-password").to_string();
    let mut problems = accounts::Problems::new();
    let confirm = Some(field(&form, "confirm-password"));
    accounts::check_password(&new_password, confirm, &found.email, &found.name, &mut problems);
    if !problems.is_empty() {
        let mut errors = Errors::default();
        errors.extend(problems, &[("password", "new-password"), ("confirm", "confirm-password")]);
        return Ok(password_page(purpose, &csrf, &token, &errors));
    }
    let Ok(hash) = state.hasher.hash(new_password).await else { return Ok(busy()) };
    let address = Some(crate::web::client_address(&request, &state.settings).to_string());
    let set = state.db(move |conn| Ok(accounts::set_password_by_link(conn, purpose, &token, &hash, address)?)).await?;
    Ok(match set {
        Ok(_) => see_other("/officer/sign-in?password_set=1"),
        Err(why) => refused(purpose, why),
    })
}

async fn accept_invitation(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    csrf: CsrfToken,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_password(request, state, payload, csrf, Purpose::Invitation, token.into_inner()).await
}

async fn reset(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    csrf: CsrfToken,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_password(request, state, payload, csrf, Purpose::Reset, token.into_inner()).await
}
