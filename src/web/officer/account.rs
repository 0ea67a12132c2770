//! An officer's own account: their details, changing their password (which ends their other sessions), and
//! their personal API tokens — made with a label and shown once, listed by label and prefix, revoked after
//! confirming.

use super::{busy, field, page, see_other, Desk, Errors, Posted};
use crate::accounts;
use crate::auth::throttle as rules;
use crate::models::{api_token, now, organisation, session, throttle, user};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::actor;
use crate::web::identity::{self, Identity};
use crate::web::routes::{Access, Router, STAFF};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn routes(r: &mut Router) {
    r.get("/officer/account", Access::Pages(STAFF), web::get().to(show))
        .post("/officer/account/password", Access::Pages(STAFF), web::post().to(change_password))
        .post("/officer/account/tokens", Access::Pages(STAFF), web::post().to(create_token))
        .get("/officer/account/tokens/{id}/revoke", Access::Pages(STAFF), web::get().to(confirm_revoke))
        .post("/officer/account/tokens/{id}/revoke", Access::Pages(STAFF), web::post().to(revoke));
}

const FIELDS: &[&str] = &["current-password", "new-password", "confirm-password", "label"];

#[derive(Serialize)]
struct TokenRow {
    id: i64,
    label: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
}

#[derive(Deserialize)]
struct Notice {
    password_changed: Option<String>,
    revoked: Option<String>,
}

async fn show(desk: Desk, query: web::Query<Notice>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let notice = if query.password_changed.is_some() {
        Some("Your password has been changed. You have been signed out everywhere else.")
    } else if query.revoked.is_some() {
        Some("The token has been revoked. It no longer works.")
    } else {
        None
    };
    account_page(&state, &identity, &csrf, StatusCode::OK, &Errors::default(), "", notice).await
}

async fn account_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    errors: &Errors,
    label: &str,
    notice: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let id = identity.user_id;
    let (account, organisation, tokens) = state
        .db(move |conn| {
            let account = user::find(conn, id)?.ok_or(AppError::NotFound)?;
            let organisation = match account.organisation_id {
                Some(o) => organisation::find(conn, o)?.map(|o| o.name),
                None => None,
            };
            Ok((account, organisation, api_token::active_for_user(conn, id)?))
        })
        .await?;
    let tokens: Vec<TokenRow> = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            label: t.label,
            prefix: t.prefix,
            created: state.local_time(t.created_at),
            last_used: t.last_used_at.map(|at| state.local_time(at)),
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert(
        "account",
        &serde_json::json!({
            "name": account.name,
            "email": account.email,
            "role": account.role().label(),
            "organisation": organisation,
        }),
    );
    ctx.insert("tokens", &tokens);
    ctx.insert("label", label);
    ctx.insert("notice", &notice);
    ctx.insert("section", "account");
    errors.show(&mut ctx, FIELDS);
    Ok(page(identity, csrf, status, "officer/account.html", ctx))
}

async fn change_password(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let current = field(&form, "current-password").to_string();
    let new_password = field(&form, "new-password").to_string();
    let mut errors = Errors::default();
    if current.is_empty() {
        errors.add("current-password", "Enter your current password");
    }
    let mut problems = accounts::Problems::new();
    let confirm = Some(field(&form, "confirm-password"));
    accounts::check_password(&new_password, confirm, &identity.email, &identity.name, &mut problems);
    errors.extend(problems, &[("password", "new-password"), ("confirm", "confirm-password")]);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return account_page(&state, &identity, &csrf, invalid, &errors, "", None).await;
    }

    // A stolen session must not be a way to guess the password: wrong current passwords count against the
    // sign-in throttle like failed sign-ins.
    let address = crate::web::client_address(&request, &state.settings);
    let keys = rules::keys(&identity.email, address, false);
    let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    let id = identity.user_id;
    let (blocked, stored) = state
        .db(move |conn| {
            let stored = user::find(conn, id)?.and_then(|u| u.password_hash);
            Ok((throttle::blocked_for(conn, &names, now())?, stored))
        })
        .await?;
    if let Some(wait) = blocked {
        let seconds = ((wait.num_milliseconds() + 999) / 1000).max(1);
        errors.add("current-password", format!("Too many wrong passwords: wait {seconds} seconds and try again"));
        let mut response =
            account_page(&state, &identity, &csrf, StatusCode::TOO_MANY_REQUESTS, &errors, "", None).await?;
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        return Ok(response);
    }
    let Ok(matched) = state.hasher.verify(current, stored).await else { return Ok(busy()) };
    if !matched {
        state
            .db(move |conn| {
                crate::db::write(conn, |conn| -> Result<_, AppError> {
                    for (scope, key) in &keys {
                        throttle::fail(conn, *scope, key, now())?;
                    }
                    Ok(())
                })
            })
            .await?;
        errors.add("current-password", "Your current password is not correct");
        return account_page(&state, &identity, &csrf, invalid, &errors, "", None).await;
    }
    let Ok(hash) = state.hasher.hash(new_password).await else { return Ok(busy()) };

    // Every session of the account ends, this one too; this browser carries on in a new one.
    let who = actor(&identity, &request);
    let fresh = crate::auth::secret::new_session_id();
    let fresh_hash = crate::auth::secret::digest(&fresh);
    let absolute = state.settings.auth.absolute();
    state
        .db(move |conn| {
            accounts::set_password(conn, &who, id, &hash, true)?;
            crate::db::write(conn, |conn| {
                let at = now();
                session::create(conn, &fresh_hash, id, at, at + absolute)
            })?;
            Ok(())
        })
        .await?;
    let mut response = see_other("/officer/account?password_changed=1");
    response
        .add_cookie(&identity::session_cookie(state.settings.site.secure_cookies, &fresh))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

/// Makes a token and shows it, this once: only its digest is kept.
async fn create_token(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let typed = field(&form, "label").to_string();
    let label = match accounts::check_label(&typed) {
        Ok(label) => label,
        Err(message) => {
            let mut errors = Errors::default();
            errors.add("label", message);
            return account_page(&state, &identity, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &errors, &typed, None)
                .await;
        }
    };
    let who = actor(&identity, &request);
    let id = identity.user_id;
    let shown_label = label.clone();
    let token = state
        .db(move |conn| {
            let owner = user::find(conn, id)?.ok_or(AppError::NotFound)?;
            Ok(accounts::create_token(conn, &who, &owner, &label)?)
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("token", &token);
    ctx.insert("label", &shown_label);
    ctx.insert("section", "account");
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/token_created.html", ctx))
}

async fn confirm_revoke(desk: Desk, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let (owner, token_id) = (identity.user_id, id.into_inner());
    let token = state
        .db(move |conn| Ok(api_token::find_active_for_user(conn, owner, token_id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let mut ctx = tera::Context::new();
    ctx.insert("token", &serde_json::json!({"id": token.id, "label": token.label, "prefix": token.prefix}));
    ctx.insert("section", "account");
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/token_revoke.html", ctx))
}

async fn revoke(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, .. }, form: _ } = posted;
    let who = actor(&identity, &request);
    let (owner_id, token_id) = (identity.user_id, id.into_inner());
    let revoked = state
        .db(move |conn| {
            let owner = user::find(conn, owner_id)?.ok_or(AppError::NotFound)?;
            Ok(accounts::revoke_token(conn, &who, &owner, token_id)?)
        })
        .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/officer/account?revoked=1"))
}
