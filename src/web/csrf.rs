//! CSRF protection for every state-changing page route, residents' and officers' alike (see `auth::csrf`). A
//! form's token is bound to the signed-in officer's session when there is one, else to a random value in the
//! browser's own `csrf` cookie, set the first time a form is shown. Every form body is read by `web::form`,
//! which checks the token before anything else happens; requests another site makes are refused outright by
//! their `Origin` and `Sec-Fetch-Site` headers too. The JSON API takes no cookies as credentials, so it is not
//! exposed to CSRF.

use crate::auth;
use crate::web::error::AppError;
use crate::web::AppState;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};

/// The form field that carries the token.
pub const FIELD: &str = "_csrf";

/// The name of the anonymous binding cookie: `__Host-` prefixed over HTTPS, so that no other site or subdomain
/// can set it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hys_csrf"
    } else {
        "hys_csrf"
    }
}

/// What a request's forms are bound to, put in the request's extensions by whoever knows: the sign-in
/// middleware for an officer's session.
#[derive(Debug, Clone)]
pub struct SessionBinding(pub String);

/// A new anonymous binding value that the response must set as a cookie.
#[derive(Debug, Clone)]
struct NewCookie(String);

fn binding(request: &HttpRequest, secure: bool) -> Option<String> {
    if let Some(SessionBinding(session)) = request.extensions().get::<SessionBinding>() {
        return Some(format!("session:{session}"));
    }
    if let Some(NewCookie(value)) = request.extensions().get::<NewCookie>() {
        return Some(format!("anonymous:{value}"));
    }
    request.cookie(cookie_name(secure)).map(|c| format!("anonymous:{}", c.value()))
}

/// The CSRF token for the forms of the page being rendered. Extracting it makes sure the browser has a binding
/// cookie when it needs one.
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = Ready<Result<CsrfToken, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = request.app_data::<web::Data<AppState>>() else {
            return ready(Err(AppError::Internal(anyhow::anyhow!("no application state"))));
        };
        let secure = state.settings.site.secure_cookies;
        let binding = match binding(request, secure) {
            Some(b) => b,
            None => {
                let value = crate::domain::reference::new_token();
                request.extensions_mut().insert(NewCookie(value.clone()));
                format!("anonymous:{value}")
            }
        };
        ready(Ok(CsrfToken(auth::csrf::token(&state.secret, &binding))))
    }
}

/// Checks the token a form sent. Refused: a form from another site, or one shown before the browser's cookie
/// or the officer's session changed.
pub fn verify(request: &HttpRequest, state: &AppState, sent: Option<&str>) -> Result<(), AppError> {
    let ok = match (binding(request, state.settings.site.secure_cookies), sent) {
        (Some(binding), Some(sent)) => auth::csrf::verify(&state.secret, &binding, sent),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden("This form has expired. Go back to the page, refresh it and try again.".into()))
    }
}

/// Middleware: refuses state-changing requests that another site made (outside the JSON API, which takes no
/// cookies as credentials), and sets the binding cookie a rendered form asked for.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe
        && !request.path().starts_with("/api/")
        && !one_click_unsubscribe(&request)
        && cross_site(request.request())
    {
        return Err(AppError::Forbidden("This form was sent from another site and has been refused.".into()).into());
    }
    let secure = request.app_data::<web::Data<AppState>>().map(|s| s.settings.site.secure_cookies).unwrap_or(true);
    let mut response = next.call(request).await?;
    let new = response.request().extensions().get::<NewCookie>().cloned();
    if let Some(NewCookie(value)) = new {
        let cookie = Cookie::build(cookie_name(secure), value)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// Whether the request is an unsubscribe link's POST, the one state-changing page route without CSRF
/// protection: a mail program sends it in one click (RFC 8058) from wherever it runs, with no cookie and no
/// form token, so neither the token nor the origin can be checked. That is safe because the unguessable token
/// in the address is the whole authority (nobody can forge a request for someone else's subscription without
/// it), and the action is harmless (it only stops an email). The handler reads no form (see
/// `web::public::notify`).
fn one_click_unsubscribe(request: &ServiceRequest) -> bool {
    request.method() == Method::POST && request.match_pattern().as_deref() == Some(EXEMPT_POST)
}

/// The one route whose POST is exempt (see `one_click_unsubscribe`).
pub const EXEMPT_POST: &str = "/unsubscribe/{token}";

/// Whether the browser says the request came from another site: `Sec-Fetch-Site: cross-site`, or an `Origin`
/// whose host is not the one addressed.
fn cross_site(request: &HttpRequest) -> bool {
    let headers = request.headers();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = request.connection_info().host().to_string();
    origin_host != host
}
