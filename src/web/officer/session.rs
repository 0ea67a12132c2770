//! Signing in and out. A new session id is made at every sign-in (an id set before it is never kept: session
//! fixation), and only its digest is stored. Unknown accounts, wrong passwords and disabled accounts get the
//! same answer in the same time: every attempt checks one password hash (a dummy when there is none to check)
//! and counts its failure the same way (see `auth::throttle` for what blocks, and for how long). Failures on
//! known accounts are audited in the same transaction that counts them; those on unknown accounts are not (no
//! account to relate them to, and a flood of them must not fill the log).

use super::{busy, field, page_for_visitor, see_other, Desk, Errors, Posted};
use crate::auth::{secret, throttle as rules};
use crate::models::audit::{self, Actor, Entry};
use crate::models::{now, session, throttle, user};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity;
use crate::web::routes::{Access, Router, STAFF};
use crate::web::{form, AppState};
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

pub fn routes(r: &mut Router) {
    r.get("/officer/sign-in", Access::Public, web::get().to(show))
        .post("/officer/sign-in", Access::Public, web::post().to(sign_in))
        .post("/officer/sign-out", Access::Pages(STAFF), web::post().to(sign_out));
}

/// Where to go after signing in: a path on this site only. Anything that a browser could read as another site
/// (`//host`, `/\host`, a scheme) or that holds control characters is refused.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    local.then_some(next)
}

const SIGNED_IN_HOME: &str = "/officer";

/// The cookie that marks a browser that has signed in to an account before (see `auth::throttle`).
fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hys_device"
    } else {
        "hys_device"
    }
}

#[derive(Deserialize)]
struct Shown {
    next: Option<String>,
    signed_out: Option<String>,
    password_set: Option<String>,
}

async fn show(request: HttpRequest, query: web::Query<Shown>, csrf: CsrfToken) -> HttpResponse {
    let next = query.next.as_deref().and_then(local_path).unwrap_or(SIGNED_IN_HOME).to_string();
    if identity::of(&request).is_some() {
        return see_other(&next);
    }
    let notice = if query.password_set.is_some() {
        Some("Your password has been set. Sign in with it.")
    } else {
        query.signed_out.is_some().then_some("You have signed out")
    };
    sign_in_page(StatusCode::OK, &csrf, "", &next, &Errors::default(), notice, None)
}

/// The sign-in page: blank, with errors (422), or blocked (429 with Retry-After).
fn sign_in_page(
    status: StatusCode,
    csrf: &CsrfToken,
    email: &str,
    next: &str,
    errors: &Errors,
    notice: Option<&str>,
    blocked: Option<chrono::Duration>,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("email", email);
    ctx.insert("next", next);
    ctx.insert("notice", &notice);
    errors.show(&mut ctx, &["email", "password"]);
    let mut response = match blocked {
        Some(wait) => {
            let seconds = ((wait.num_milliseconds() + 999) / 1000).max(1);
            ctx.insert("blocked", &wait_in_words(seconds));
            let mut r = page_for_visitor(csrf, StatusCode::TOO_MANY_REQUESTS, "officer/sign_in.html", ctx);
            r.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(seconds));
            r
        }
        None => page_for_visitor(csrf, status, "officer/sign_in.html", ctx),
    };
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    response
}

/// "30 seconds", "1 minute", "15 minutes": how long to wait, rounded up.
fn wait_in_words(seconds: i64) -> String {
    match seconds {
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s => match (s + 59) / 60 {
            1 => "1 minute".into(),
            m => format!("{m} minutes"),
        },
    }
}

const WRONG: &str = "Enter a correct email address and password";

async fn sign_in(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, payload).await?;
    let typed = field(&form, "email").trim().to_string();
    let password = field(&form, "password").to_string();
    let next = local_path(field(&form, "next")).unwrap_or(SIGNED_IN_HOME).to_string();
    let mut errors = Errors::default();
    if typed.is_empty() {
        errors.add("email", "Enter your email address");
    }
    if password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if !errors.is_empty() {
        return Ok(sign_in_page(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &typed, &next, &errors, None, None));
    }

    let email = typed.to_lowercase();
    let address = crate::web::client_address(&request, &state.settings);
    let secure = state.settings.site.secure_cookies;
    let trusted_device = request
        .cookie(device_cookie_name(secure))
        .is_some_and(|c| rules::is_device_of(&state.secret, &email, c.value()));
    let keys = rules::keys(&email, address, trusted_device);
    let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    let lookup = email.clone();
    let (blocked, account) = state
        .db(move |conn| Ok((throttle::blocked_for(conn, &names, now())?, user::find_by_email(conn, &lookup)?)))
        .await?;
    if let Some(wait) = blocked {
        return Ok(sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            &csrf,
            &typed,
            &next,
            &Errors::default(),
            None,
            Some(wait),
        ));
    }

    // The same one check whatever the account: a disabled account, or one with no password, is checked against
    // the dummy hash like an unknown one.
    let stored = account.as_ref().filter(|u| !u.disabled).and_then(|u| u.password_hash.clone());
    let Ok(matched) = state.hasher.verify(password, stored).await else { return Ok(busy()) };
    let actor = |user: &user::User| Actor {
        user_id: Some(user.id),
        name: user.email.clone(),
        address: Some(address.to_string()),
    };

    let account = match account {
        Some(account) if matched => account,
        unmatched => {
            let known = unmatched.map(|u| (actor(&u), u.id, u.organisation_id));
            let blocked = state
                .db(move |conn| {
                    crate::db::write(conn, |conn| -> Result<_, AppError> {
                        let at = now();
                        for (scope, key) in &keys {
                            throttle::fail(conn, *scope, key, at)?;
                        }
                        if let Some((actor, id, organisation_id)) = &known {
                            audit::record(conn, actor, entry("sign_in.failed", *id, *organisation_id))?;
                        }
                        let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
                        Ok(throttle::blocked_for(conn, &names, at)?)
                    })
                })
                .await?;
            let mut errors = Errors::default();
            errors.add("email", WRONG);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(sign_in_page(status, &csrf, &typed, &next, &errors, None, blocked));
        }
    };

    let id = secret::new_session_id();
    let id_hash = secret::digest(&id);
    let previous = identity::of(&request).and_then(|i| i.session().map(str::to_string));
    let pair = keys.iter().find(|(scope, _)| *scope == rules::Scope::Pair).map(|(_, k)| k.clone());
    let absolute = state.settings.auth.absolute();
    let who = actor(&account);
    let (user_id, organisation_id) = (account.id, account.organisation_id);
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<_, AppError> {
                let at = now();
                if let Some(previous) = &previous {
                    session::delete(conn, previous)?;
                }
                session::create(conn, &id_hash, user_id, at, at + absolute)?;
                user::signed_in(conn, user_id, at)?;
                if let Some(pair) = &pair {
                    throttle::clear(conn, pair)?;
                }
                audit::record(conn, &who, entry("sign_in", user_id, organisation_id))?;
                Ok(())
            })
        })
        .await?;
    let device = Cookie::build(device_cookie_name(secure), rules::device_token(&state.secret, &email))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(180))
        .finish();
    let mut response = see_other(&next);
    response.add_cookie(&identity::session_cookie(secure, &id)).map_err(|e| AppError::Internal(e.into()))?;
    response.add_cookie(&device).map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

fn entry(action: &str, user_id: i64, organisation_id: Option<i64>) -> Entry<'_> {
    Entry {
        action,
        object_type: "user",
        object_id: user_id.to_string(),
        organisation_id,
        consultation_id: None,
        detail: serde_json::json!({}),
    }
}

async fn sign_out(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, .. }, form: _ } = posted;
    let who = crate::web::identity::actor(&identity, &request);
    if let Some(id_hash) = identity.session().map(str::to_string) {
        let (user_id, organisation_id) = (identity.user_id, identity.organisation_id);
        state
            .db(move |conn| {
                crate::db::write(conn, |conn| -> Result<_, AppError> {
                    session::delete(conn, &id_hash)?;
                    audit::record(conn, &who, entry("sign_out", user_id, organisation_id))?;
                    Ok(())
                })
            })
            .await?;
    }
    let mut response = see_other("/officer/sign-in?signed_out=1");
    response
        .add_cookie(&identity::removal_cookie(state.settings.site.secure_cookies))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/officer/account"), Some("/officer/account"));
        assert_eq!(local_path("/officer?x=1#y"), Some("/officer?x=1#y"));
        for bad in
            ["", "officer", "//evil.example", "/\\evil.example", "\\\\evil", "https://evil.example", "/a\nb", "/ /evil"]
        {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn waits_in_words() {
        assert_eq!(wait_in_words(1), "1 second");
        assert_eq!(wait_in_words(30), "30 seconds");
        assert_eq!(wait_in_words(60), "1 minute");
        assert_eq!(wait_in_words(61), "2 minutes");
        assert_eq!(wait_in_words(900), "15 minutes");
    }
}
