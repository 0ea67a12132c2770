//! Who is making a request: a signed-in officer (through the session cookie) or an API client (through a
//! bearer token), or nobody. The middleware finds out once per request — one database query at most — and
//! puts the `Identity` in the request's extensions, with the session's CSRF binding; access rules
//! (`web::routes`) and handlers read it from there.
//!
//! The two credentials never cross: under /api/ only a bearer token counts (a cookie there is ignored, so no
//! other site can act through an officer's browser), and a token that is malformed, unknown or revoked, or
//! whose account is disabled, is answered 401 at once rather than treated as anonymous; on pages only the
//! session cookie counts.

use crate::auth::{secret, session, Role};
use crate::models::{self, api_token, user::User};
use crate::web::api::Problem;
use crate::web::error::AppError;
use crate::web::{csrf, AppState};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use std::future::{ready, Ready};

/// A signed-in account, as of this request.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<i64>,
    pub via: Via,
}

/// How the account proved itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The session cookie; the stored session's id hash.
    Session { id_hash: String },
    /// A bearer token; its id.
    Token { token_id: i64 },
}

impl Identity {
    fn of_user(user: &User, via: Via) -> Identity {
        Identity {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role(),
            organisation_id: user.organisation_id,
            via,
        }
    }

    /// The session's id hash, when signed in through the browser.
    pub fn session(&self) -> Option<&str> {
        match &self.via {
            Via::Session { id_hash } => Some(id_hash),
            Via::Token { .. } => None,
        }
    }

    /// Whether the account may see and change the consultations of organisation `organisation_id`: admins
    /// everywhere, everyone else in their own organisation only.
    pub fn works_for(&self, organisation_id: i64) -> bool {
        self.role == Role::Admin || self.organisation_id == Some(organisation_id)
    }

    /// The organisation whose consultations the account lists: none (all of them) for admins.
    pub fn scope(&self) -> Option<i64> {
        match self.role {
            Role::Admin => None,
            _ => Some(self.organisation_id.unwrap_or(-1)),
        }
    }
}

impl FromRequest for Identity {
    type Error = AppError;
    type Future = Ready<Result<Identity, AppError>>;

    /// Routes that take an `Identity` have an access rule that demands one, so its absence is a bug.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request.extensions().get::<Identity>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a route that needs a signed-in account has no access rule"))
        }))
    }
}

/// The identity of a request, if any (for routes open to everyone that behave differently when signed in).
pub fn of(request: &HttpRequest) -> Option<Identity> {
    request.extensions().get::<Identity>().cloned()
}

/// The session cookie's name: `__Host-` prefixed over HTTPS, so that it is only ever sent over HTTPS, to
/// this host, for every path, and no subdomain can set it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hys_session"
    } else {
        "hys_session"
    }
}

/// The cookie that carries a new session's id. It has no expiry of its own, so it goes when the browser
/// closes; the server ends the session on its timeouts whatever the browser keeps.
pub fn session_cookie(secure: bool, id: &str) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), id.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// The cookie that removes the session cookie.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie(secure, "");
    cookie.make_removal();
    cookie
}

/// What a request's Authorization header says.
enum Bearer {
    Absent,
    Token(String),
    Malformed,
}

fn bearer(request: &ServiceRequest) -> Bearer {
    let mut values = request.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else { return Bearer::Absent };
    if values.next().is_some() {
        return Bearer::Malformed;
    }
    let token = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    match token {
        Some(t) if secret::looks_like_token(&t) => Bearer::Token(t),
        _ => Bearer::Malformed,
    }
}

/// The account behind an API token, if the token works; notes when it was last used, at most once a minute.
async fn token_identity(state: &AppState, token: String) -> Result<Option<Identity>, AppError> {
    state
        .db(move |conn| {
            let Some((token, user)) = api_token::find_active(conn, &secret::digest(&token))? else { return Ok(None) };
            let now = models::now();
            if token.last_used_at.is_none_or(|t| now - t >= session::REFRESH_AFTER) {
                api_token::touch(conn, token.id, now)?;
            }
            Ok(Some(Identity::of_user(&user, Via::Token { token_id: token.id })))
        })
        .await
}

/// The account behind a session cookie, if the session is live; ends it if it has timed out.
async fn session_identity(state: &AppState, id: String) -> Result<Option<Identity>, AppError> {
    if !secret::looks_like_session_id(&id) {
        return Ok(None);
    }
    let idle = state.settings.auth.idle();
    state
        .db(move |conn| {
            let id_hash = secret::digest(&id);
            let Some((found, user)) = models::session::find(conn, &id_hash)? else { return Ok(None) };
            let now = models::now();
            match session::standing(found.last_seen_at, found.expires_at, now, idle) {
                session::Standing::Ended => {
                    models::session::delete(conn, &id_hash)?;
                    Ok(None)
                }
                session::Standing::Live { refresh } => {
                    if refresh {
                        models::session::touch(conn, &id_hash, now)?;
                    }
                    Ok(Some(Identity::of_user(&user, Via::Session { id_hash })))
                }
            }
        })
        .await
}

/// Middleware: finds the request's identity (see the module's comment). Responses to officers' pages and to
/// signed-in requests are marked `Cache-Control: no-store`, so that no shared or browser cache keeps them; a
/// session cookie that no longer names a live session is removed.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let path = request.path();
    if path.starts_with("/static/") {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let api = path.starts_with("/api/");
    let officer_page = path == "/officer" || path.starts_with("/officer/");
    let secure = state.settings.site.secure_cookies;
    let mut stale_cookie = false;
    let found = if api {
        let token = match bearer(&request) {
            Bearer::Absent => None,
            Bearer::Malformed => return Ok(refuse(request)),
            Bearer::Token(token) => Some(token),
        };
        match token {
            None => None,
            Some(token) => match token_identity(&state, token).await {
                Ok(Some(identity)) => Some(identity),
                Ok(None) => return Ok(refuse(request)),
                Err(e) => return Ok(request.error_response(Problem::from(e)).map_into_right_body()),
            },
        }
    } else {
        match request.cookie(cookie_name(secure)).map(|c| c.value().to_string()) {
            None => None,
            Some(id) => {
                let identity = session_identity(&state, id).await?;
                stale_cookie = identity.is_none();
                identity
            }
        }
    };
    let private = found.is_some() || officer_page;
    if let Some(identity) = found {
        if let Some(id_hash) = identity.session() {
            request.extensions_mut().insert(csrf::SessionBinding(id_hash.to_string()));
        }
        request.extensions_mut().insert(identity);
    }
    let mut response = next.call(request).await?;
    if private {
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    let sets_session = response.response().cookies().any(|c| c.name() == cookie_name(secure));
    if stale_cookie && !sets_session {
        response.response_mut().add_cookie(&removal_cookie(secure))?;
    }
    Ok(response.map_into_left_body())
}

/// 401 for a bearer token that does not work.
fn refuse<B>(request: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    let response: HttpResponse = actix_web::ResponseError::error_response(&Problem::unauthorised());
    request.into_response(response).map_into_right_body()
}

/// Who acted, for the audit log: the signed-in account, from the client's address.
pub fn actor(identity: &Identity, request: &HttpRequest) -> crate::models::audit::Actor {
    crate::models::audit::Actor {
        user_id: Some(identity.user_id),
        name: identity.email.clone(),
        address: request
            .app_data::<web::Data<AppState>>()
            .map(|state| crate::web::client_address(request, &state.settings).to_string()),
    }
}
