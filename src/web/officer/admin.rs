//! The admin pages: users (add, invite by email, edit role, organisation and name, disable and enable, set a password),
//! organisations (list, add), the audit log (filtered, newest first, read only: nothing here or anywhere
//! changes a record), and site settings (the shortest consultation that raises no warning, pre-election
//! periods). Every change is audited; what a change ends (sessions, tokens) is `accounts`' to decide.

use super::{busy, field, page, see_other, Desk, Errors, Posted};
use crate::accounts::{self, Belongs};
use crate::auth::{account, Role};
use crate::domain::validation::Form;
use crate::models::audit::{self, Entry};
use crate::models::{election_period, organisation, setting, user};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::actor;
use crate::web::identity::Identity;
use crate::web::routes::{Access, Router, ADMINS};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub fn routes(r: &mut Router) {
    let admins = Access::Pages(ADMINS);
    r.get("/officer/admin", admins, web::get().to(|| async { see_other("/officer/admin/users") }))
        .get("/officer/admin/users", admins, web::get().to(users))
        .post("/officer/admin/users", admins, web::post().to(add_user))
        .get("/officer/admin/users/new", admins, web::get().to(new_user))
        // Before `{id}`, which would take "invite" for an id.
        .get("/officer/admin/users/invite", admins, web::get().to(invitation_form))
        .post("/officer/admin/users/invite", admins, web::post().to(invite))
        .get("/officer/admin/users/{id}", admins, web::get().to(edit_user))
        .post("/officer/admin/users/{id}", admins, web::post().to(update_user))
        .post("/officer/admin/users/{id}/password", admins, web::post().to(set_password))
        .post("/officer/admin/users/{id}/invite", admins, web::post().to(invite_again))
        .post("/officer/admin/users/{id}/disable", admins, web::post().to(switch))
        .post("/officer/admin/users/{id}/enable", admins, web::post().to(switch))
        .get("/officer/admin/organisations", admins, web::get().to(organisations))
        .post("/officer/admin/organisations", admins, web::post().to(add_organisation))
        .get("/officer/admin/audit", admins, web::get().to(audit_log))
        .get("/officer/admin/settings", admins, web::get().to(settings))
        .post("/officer/admin/settings", admins, web::post().to(save_settings))
        .post("/officer/admin/settings/election-periods", admins, web::post().to(add_period))
        .post("/officer/admin/settings/election-periods/{id}/delete", admins, web::post().to(delete_period));
}

/// The radios every user form offers, in order.
fn roles(checked: &str) -> serde_json::Value {
    let hint = |r: Role| match r {
        Role::Admin => "Users, organisations, settings and every organisation's consultations",
        Role::Officer => "Builds and runs their organisation's consultations",
        Role::Analyst => "Reads their organisation's responses and codes free text",
        Role::Cabinet => "Reads results only",
    };
    Role::ALL
        .iter()
        .map(|r| json!({"value": r.as_str(), "label": r.label(), "hint": hint(*r), "checked": r.as_str() == checked}))
        .collect()
}

/// The organisation select's options: `first` (value, label), then every organisation.
fn organisation_options(
    all: &[organisation::Organisation],
    selected: &str,
    first: &[(&str, &str)],
) -> serde_json::Value {
    let mut options: Vec<serde_json::Value> = first
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label, "selected": *value == selected}))
        .collect();
    options.extend(
        all.iter()
            .map(|o| json!({"value": o.id.to_string(), "label": o.name, "selected": o.id.to_string() == selected})),
    );
    options.into()
}

const NO_ORGANISATION: &[(&str, &str)] = &[("", "None (admins only)")];

/// The organisation chosen in a form: none, or one that exists.
fn chosen_organisation(all: &[organisation::Organisation], value: &str, errors: &mut Errors) -> Option<i64> {
    if value.trim().is_empty() {
        return None;
    }
    let found = value.trim().parse::<i64>().ok().filter(|id| all.iter().any(|o| o.id == *id));
    if found.is_none() {
        errors.add("organisation", "Select an organisation from the list");
    }
    found
}

// ------------------------------------------------------------------------------------------------------------
// Users
// ------------------------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct UserRow {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    organisation: Option<String>,
    disabled: bool,
    /// Invited, and no password chosen yet.
    invited: bool,
    last_signed_in: Option<String>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// What a `?done=` after a change says.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => "The user has been added",
        "invited" => "The invitation has been sent. Its link works once, to set a password.",
        "updated" => "The user's details have been saved",
        "password" => "The user's password has been set. They have been signed out everywhere.",
        "disabled" => "The user has been disabled: they are signed out and their API tokens no longer work",
        "enabled" => "The user has been enabled. They can sign in again.",
        "organisation" => "The organisation has been added",
        "settings" => "The settings have been saved",
        "period-added" => "The pre-election period has been added",
        "period-deleted" => "The pre-election period has been deleted",
        _ => return None,
    })
}

async fn users(desk: Desk, query: web::Query<Done>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let rows = state.db(|conn| Ok(user::list(conn)?)).await?;
    let rows: Vec<UserRow> = rows
        .into_iter()
        .map(|(u, organisation)| UserRow {
            id: u.id,
            role: u.role().label(),
            last_signed_in: u.last_signed_in_at.map(|at| state.local_time(at)),
            invited: u.password_hash.is_none(),
            name: u.name,
            email: u.email,
            organisation,
            disabled: u.disabled,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("users", &rows);
    ctx.insert("notice", &notice(query.done.as_deref()));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "users");
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/admin/users.html", ctx))
}

const NEW_USER_FIELDS: &[&str] = &["name", "email", "role", "organisation", "password"];

async fn new_user(desk: Desk) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let blank = Form::new();
    new_user_page(&state, &identity, &csrf, StatusCode::OK, &blank, &Errors::default()).await
}

async fn new_user_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    form: &Form,
    errors: &Errors,
) -> Result<HttpResponse, AppError> {
    let mut ctx = account_form(state, form).await?;
    errors.show(&mut ctx, NEW_USER_FIELDS);
    Ok(page(identity, csrf, status, "officer/admin/user_new.html", ctx))
}

async fn add_user(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let all = state.db(|conn| Ok(organisation::all(conn)?)).await?;
    let mut errors = Errors::default();
    let organisation = chosen_organisation(&all, field(&form, "organisation"), &mut errors);
    let belongs = organisation.map_or(Belongs::Nowhere, Belongs::Organisation);
    let password = field(&form, "password").to_string();
    let checked = accounts::check_new(
        field(&form, "email"),
        field(&form, "name"),
        field(&form, "role"),
        belongs,
        &password,
        None,
    );
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let new = match checked {
        Ok(new) if errors.is_empty() => new,
        result => {
            if let Err(problems) = result {
                errors.extend(problems, &[]);
            }
            return new_user_page(&state, &identity, &csrf, invalid, &form, &ordered(errors, NEW_USER_FIELDS)).await;
        }
    };
    let Ok(hash) = state.hasher.hash(password).await else { return Ok(busy()) };
    let who = actor(&identity, &request);
    let made = state.db(move |conn| Ok(accounts::create(conn, &who, &new, &hash)?)).await?;
    match made {
        Ok(_) => Ok(see_other("/officer/admin/users?done=added")),
        Err(not_made) => {
            let mut errors = Errors::default();
            match not_made {
                accounts::NotMade::EmailTaken(_) => {
                    errors.add("email", "An account with this email address already exists")
                }
                accounts::NotMade::NoOrganisation => errors.add("organisation", "Select an organisation from the list"),
            }
            new_user_page(&state, &identity, &csrf, invalid, &form, &errors).await
        }
    }
}

/// What the new-account and the invitation forms share: name, email, role and organisation as typed.
async fn account_form(state: &AppState, form: &Form) -> Result<tera::Context, AppError> {
    let all = state.db(|conn| Ok(organisation::all(conn)?)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("name", field(form, "name"));
    ctx.insert("email", field(form, "email"));
    ctx.insert("roles", &roles(field(form, "role")));
    ctx.insert("organisations", &organisation_options(&all, field(form, "organisation"), NO_ORGANISATION));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "users");
    Ok(ctx)
}

const INVITE_FIELDS: &[&str] = &["name", "email", "role", "organisation"];

async fn invitation_form(desk: Desk) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    invitation_page(&state, &identity, &csrf, StatusCode::OK, &Form::new(), &Errors::default()).await
}

async fn invitation_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    form: &Form,
    errors: &Errors,
) -> Result<HttpResponse, AppError> {
    let mut ctx = account_form(state, form).await?;
    ctx.insert("days", &state.settings.auth.invitation_days);
    errors.show(&mut ctx, INVITE_FIELDS);
    Ok(page(identity, csrf, status, "officer/admin/user_invite.html", ctx))
}

/// Invites an officer by email: the account (with no password yet), its link and the message in one
/// transaction (see `accounts::invite`), then the worker is woken to send it at once.
async fn invite(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let all = state.db(|conn| Ok(organisation::all(conn)?)).await?;
    let mut errors = Errors::default();
    let organisation = chosen_organisation(&all, field(&form, "organisation"), &mut errors);
    let belongs = organisation.map_or(Belongs::Nowhere, Belongs::Organisation);
    let checked = accounts::check_invited(field(&form, "email"), field(&form, "name"), field(&form, "role"), belongs);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let new = match checked {
        Ok(new) if errors.is_empty() => new,
        result => {
            if let Err(problems) = result {
                errors.extend(problems, &[]);
            }
            let errors = ordered(errors, INVITE_FIELDS);
            return invitation_page(&state, &identity, &csrf, invalid, &form, &errors).await;
        }
    };
    let link = invitation_link(&state);
    let who = actor(&identity, &request);
    let made = state.db(move |conn| Ok(accounts::invite(conn, &who, &new, &link)?)).await?;
    let mut errors = Errors::default();
    match made {
        Ok(_) => {
            state.mail.wake.wake();
            return Ok(see_other("/officer/admin/users?done=invited"));
        }
        Err(accounts::NotMade::EmailTaken(_)) => {
            errors.add("email", "An account with this email address already exists and has set its password")
        }
        Err(accounts::NotMade::NoOrganisation) => errors.add("organisation", "Select an organisation from the list"),
    }
    invitation_page(&state, &identity, &csrf, invalid, &form, &errors).await
}

fn invitation_link(state: &AppState) -> accounts::Link {
    super::links::new_link(state, super::links::INVITATION, state.settings.auth.invitation())
}

/// Sends a fresh invitation to an account that has not chosen its password (the older link stops working).
async fn invite_again(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form: _ } = posted;
    let id = id.into_inner();
    let (link, who) = (invitation_link(&state), actor(&identity, &request));
    if state.db(move |conn| Ok(accounts::invite_again(conn, &who, id, &link)?)).await? {
        state.mail.wake.wake();
        return Ok(see_other(&format!("/officer/admin/users/{id}?done=invited")));
    }
    let mut errors = Errors::default();
    errors.add("invite", "This user has chosen a password already, or is disabled: there is no invitation to send");
    edit_page(&state, &identity, &csrf, id, None, &errors, None).await
}

const EDIT_FIELDS: &[&str] = &["name", "role", "organisation", "new-password"];

/// What the edit page shows in its forms: the stored values, or what was sent with errors.
struct Shown<'a> {
    name: &'a str,
    role: &'a str,
    organisation: &'a str,
}

/// The page of one user: 422 when there are errors to show.
async fn edit_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    id: i64,
    sent: Option<Shown<'_>>,
    errors: &Errors,
    done: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let (found, all) =
        state.db(move |conn| Ok((user::find(conn, id)?.ok_or(AppError::NotFound)?, organisation::all(conn)?))).await?;
    let stored_organisation = found.organisation_id.map(|o| o.to_string()).unwrap_or_default();
    let shown = sent.unwrap_or(Shown { name: &found.name, role: &found.role, organisation: &stored_organisation });
    let mut ctx = tera::Context::new();
    ctx.insert(
        "user",
        &json!({
            "id": found.id,
            "name": found.name,
            "email": found.email,
            "disabled": found.disabled,
            "is_self": found.id == identity.user_id,
            "invited": found.password_hash.is_none() && !found.disabled,
            "last_signed_in": found.last_signed_in_at.map(|at| state.local_time(at)),
        }),
    );
    ctx.insert("name", shown.name);
    ctx.insert("roles", &roles(shown.role));
    ctx.insert("organisations", &organisation_options(&all, shown.organisation, NO_ORGANISATION));
    ctx.insert("notice", &notice(done));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "users");
    errors.show(&mut ctx, EDIT_FIELDS);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(page(identity, csrf, status, "officer/admin/user_edit.html", ctx))
}

async fn edit_user(desk: Desk, id: web::Path<i64>, query: web::Query<Done>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let done = query.done.as_deref();
    edit_page(&state, &identity, &csrf, *id, None, &Errors::default(), done).await
}

async fn update_user(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let id = id.into_inner();
    let all = state.db(|conn| Ok(organisation::all(conn)?)).await?;
    let mut errors = Errors::default();
    let organisation = chosen_organisation(&all, field(&form, "organisation"), &mut errors);
    let checked = accounts::check_details(field(&form, "name"), field(&form, "role"), organisation);
    let mut details = None;
    match checked {
        Ok(d) if id == identity.user_id && d.role != identity.role => {
            errors.add("role", "You cannot change your own role: ask another admin to");
        }
        Ok(d) => details = Some(d),
        Err(problems) => errors.extend(problems, &[]),
    }
    let Some(details) = details.filter(|_| errors.is_empty()) else {
        let sent = Shown {
            name: field(&form, "name"),
            role: field(&form, "role"),
            organisation: field(&form, "organisation"),
        };
        return edit_page(&state, &identity, &csrf, id, Some(sent), &ordered(errors, EDIT_FIELDS), None).await;
    };
    let who = actor(&identity, &request);
    let updated = state.db(move |conn| Ok(accounts::update(conn, &who, id, &details)?)).await?;
    if !updated {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&format!("/officer/admin/users/{id}?done=updated")))
}

/// Errors in the order of the form's fields, so the summary reads as the page does.
fn ordered(errors: Errors, fields: &[&str]) -> Errors {
    let mut sorted = Errors::default();
    for f in fields {
        if let Some((_, m)) = errors.0.iter().find(|(ef, _)| ef == f) {
            sorted.add(f, m.clone());
        }
    }
    for (f, m) in errors.0 {
        sorted.add(&f, m);
    }
    sorted
}

async fn set_password(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let id = id.into_inner();
    let found = state.db(move |conn| Ok(user::find(conn, id)?)).await?.ok_or(AppError::NotFound)?;
    let new_password = field(&form, "new-password").to_string();
    let mut problems = accounts::Problems::new();
    accounts::check_password(&new_password, None, &found.email, &found.name, &mut problems);
    if !problems.is_empty() {
        let mut errors = Errors::default();
        errors.extend(problems, &[("password", "new-password")]);
        return edit_page(&state, &identity, &csrf, id, None, &errors, None).await;
    }
    let Ok(hash) = state.hasher.hash(new_password).await else { return Ok(busy()) };
    let who = actor(&identity, &request);
    let own = id == identity.user_id;
    state.db(move |conn| Ok(accounts::set_password(conn, &who, id, &hash, own)?)).await?;
    if own {
        // The admin's own sessions ended with the change: sign in again with the new password.
        return Ok(see_other("/officer/sign-in"));
    }
    Ok(see_other(&format!("/officer/admin/users/{id}?done=password")))
}

/// Disables or enables an account, as the path's last part says.
async fn switch(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form: _ } = posted;
    let (id, disabled) = (id.into_inner(), request.path().ends_with("/disable"));
    if disabled && id == identity.user_id {
        let mut errors = Errors::default();
        errors.add("disable", "You cannot disable your own account: ask another admin to");
        return edit_page(&state, &identity, &csrf, id, None, &errors, None).await;
    }
    let who = actor(&identity, &request);
    let changed = state.db(move |conn| Ok(accounts::set_disabled(conn, &who, id, disabled)?)).await?;
    if !changed {
        return Err(AppError::NotFound);
    }
    let done = if disabled { "disabled" } else { "enabled" };
    Ok(see_other(&format!("/officer/admin/users/{id}?done={done}")))
}

// ------------------------------------------------------------------------------------------------------------
// Organisations
// ------------------------------------------------------------------------------------------------------------

async fn organisations(desk: Desk, query: web::Query<Done>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    organisations_page(&state, &identity, &csrf, StatusCode::OK, "", &Errors::default(), query.done.as_deref()).await
}

async fn organisations_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    name: &str,
    errors: &Errors,
    done: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let all = state.db(|conn| Ok(organisation::all(conn)?)).await?;
    let rows: Vec<serde_json::Value> =
        all.iter().map(|o| json!({"name": o.name, "created": state.local_time(o.created_at)})).collect();
    let mut ctx = tera::Context::new();
    ctx.insert("organisations", &rows);
    ctx.insert("name", name);
    ctx.insert("notice", &notice(done));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "organisations");
    errors.show(&mut ctx, &["organisation-name"]);
    Ok(page(identity, csrf, status, "officer/admin/organisations.html", ctx))
}

async fn add_organisation(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let typed = field(&form, "organisation-name").to_string();
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let name = match account::organisation_name(&typed) {
        Ok(name) => name,
        Err(message) => {
            let mut errors = Errors::default();
            errors.add("organisation-name", message);
            return organisations_page(&state, &identity, &csrf, invalid, &typed, &errors, None).await;
        }
    };
    let who = actor(&identity, &request);
    let made = state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<bool, AppError> {
                if organisation::find_by_name(conn, &name)?.is_some() {
                    return Ok(false);
                }
                let made = organisation::find_or_create(conn, &name)?;
                audit::record(
                    conn,
                    &who,
                    Entry {
                        action: "organisation.create",
                        object_type: "organisation",
                        object_id: made.id.to_string(),
                        organisation_id: Some(made.id),
                        consultation_id: None,
                        detail: json!({"name": made.name}),
                    },
                )?;
                Ok(true)
            })
        })
        .await?;
    if !made {
        let mut errors = Errors::default();
        errors.add("organisation-name", "An organisation with this name already exists");
        return organisations_page(&state, &identity, &csrf, invalid, &typed, &errors, None).await;
    }
    Ok(see_other("/officer/admin/organisations?done=organisation"))
}

// ------------------------------------------------------------------------------------------------------------
// The audit log
// ------------------------------------------------------------------------------------------------------------

/// Records per page of the audit log.
const PAGE: i64 = 50;

#[derive(Deserialize, Default, Serialize, Clone)]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    organisation: String,
    #[serde(default, rename = "from-day")]
    from_day: String,
    #[serde(default, rename = "from-month")]
    from_month: String,
    #[serde(default, rename = "from-year")]
    from_year: String,
    #[serde(default, rename = "to-day")]
    to_day: String,
    #[serde(default, rename = "to-month")]
    to_month: String,
    #[serde(default, rename = "to-year")]
    to_year: String,
    before: Option<i64>,
}

async fn audit_log(desk: Desk, query: web::Query<AuditQuery>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let q = query.into_inner();
    let mut errors = Errors::default();
    let mut filter = audit::Filter::default();
    if !q.actor.trim().is_empty() {
        filter.actor = Some(q.actor.trim().to_lowercase());
    }
    if !q.action.trim().is_empty() {
        filter.action = Some(q.action.trim().to_string());
    }
    if !q.organisation.trim().is_empty() {
        match q.organisation.trim().parse::<i64>() {
            Ok(id) => filter.organisation_id = Some(id),
            Err(_) => errors.add("organisation", "Select an organisation from the list"),
        }
    }
    let from = date_field("from", "From", (&q.from_day, &q.from_month, &q.from_year), &mut errors);
    let to = date_field("to", "To", (&q.to_day, &q.to_month, &q.to_year), &mut errors);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.add("to-day", "The ‘to’ date must be the same as or after the ‘from’ date");
        }
    }
    filter.from = from.map(|d| start_of_day(&state, d));
    filter.until = to.map(|d| start_of_day(&state, d + chrono::Duration::days(1)));
    let valid = errors.is_empty();
    let before = q.before;
    let (records, all, actions) = state
        .db(move |conn| {
            let records = if valid { audit::search(conn, &filter, before, PAGE + 1)? } else { Vec::new() };
            Ok((records, organisation::all(conn)?, audit::actions(conn)?))
        })
        .await?;
    let more = records.len() as i64 > PAGE;
    let names: std::collections::HashMap<i64, &str> = all.iter().map(|o| (o.id, o.name.as_str())).collect();
    let rows: Vec<serde_json::Value> = records
        .iter()
        .take(PAGE as usize)
        .map(|r| {
            json!({
                "at": state.local_time(r.at),
                "actor": r.actor,
                "action": r.action,
                "object": format!("{} {}", r.object_type, r.object_id),
                "organisation": names.get(&r.organisation_id).copied(),
                "address": r.address,
                "detail": if r.detail == "{}" { String::new() } else { r.detail.clone() },
            })
        })
        .collect();
    let older = more.then(|| {
        let mut next = q.clone();
        next.before = records.get(PAGE as usize - 1).map(|r| r.id);
        serde_urlencoded(&next)
    });
    let mut ctx = tera::Context::new();
    ctx.insert("records", &rows);
    ctx.insert("query", &q);
    ctx.insert("older", &older);
    ctx.insert("paged", &q.before.is_some());
    let mut newest = q.clone();
    newest.before = None;
    ctx.insert("newest", &serde_urlencoded(&newest));
    ctx.insert("actions", &actions);
    let any = [("", "Any organisation"), ("0", "None (site-wide records)")];
    ctx.insert("organisations", &organisation_options(&all, q.organisation.trim(), &any));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "audit");
    errors.show(&mut ctx, &["actor", "action", "organisation", "from-day", "to-day"]);
    let status = if valid { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(page(&identity, &csrf, status, "officer/admin/audit.html", ctx))
}

/// A query string for the audit log's filter (empty fields left out).
fn serde_urlencoded(q: &AuditQuery) -> String {
    let value = serde_json::to_value(q).unwrap_or_default();
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) if !s.is_empty() => Some(format!("{}={}", encode(k), encode(s))),
                    serde_json::Value::Number(n) => Some(format!("{}={n}", encode(k))),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default()
}

/// A date from three fields named `{id}-day`, `-month`, `-year`; none when all are blank.
fn date_field(id: &str, label: &str, (d, m, y): (&str, &str, &str), errors: &mut Errors) -> Option<NaiveDate> {
    let (d, m, y) = (d.trim(), m.trim(), y.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return None;
    }
    let date = match (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) {
        (Ok(d), Ok(m), Ok(y)) if (1000..=9999).contains(&y) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    if date.is_none() {
        errors.add(&format!("{id}-day"), format!("{label} must be a real date, for example 27 3 2027"));
    }
    date
}

/// Midnight at the start of `day` in the council's time zone, as stored (UTC).
fn start_of_day(state: &AppState, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    state.timezone.from_local_datetime(&midnight).earliest().map_or(midnight, |t| t.naive_utc())
}

// ------------------------------------------------------------------------------------------------------------
// Settings
// ------------------------------------------------------------------------------------------------------------

const SETTINGS_FIELDS: &[&str] = &["minimum-weeks", "period-name", "starts-day", "ends-day"];

async fn settings(desk: Desk, query: web::Query<Done>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let blank = Form::new();
    settings_page(&state, &identity, &csrf, StatusCode::OK, &blank, &Errors::default(), query.done.as_deref()).await
}

async fn settings_page(
    state: &AppState,
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    form: &Form,
    errors: &Errors,
    done: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let (weeks, periods) = state.db(|conn| Ok((setting::minimum_weeks(conn)?, election_period::all(conn)?))).await?;
    let shown_day =
        |t: NaiveDateTime| state.timezone.from_utc_datetime(&t).date_naive().format("%-d %B %Y").to_string();
    let rows: Vec<serde_json::Value> = periods
        .iter()
        .map(|p| {
            // Stored as the start of the day after the last; shown as the last day.
            let last = p.ends_at - chrono::Duration::days(1);
            json!({"id": p.id, "name": p.name, "starts": shown_day(p.starts_at), "ends": shown_day(last)})
        })
        .collect();
    let mut ctx = tera::Context::new();
    let typed_weeks = field(form, "minimum-weeks");
    ctx.insert(
        "minimum_weeks",
        &if form.contains_key("minimum-weeks") { typed_weeks.to_string() } else { weeks.to_string() },
    );
    ctx.insert("periods", &rows);
    for name in ["period-name", "starts-day", "starts-month", "starts-year", "ends-day", "ends-month", "ends-year"] {
        ctx.insert(name.replace('-', "_"), field(form, name));
    }
    ctx.insert("notice", &notice(done));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "settings");
    errors.show(&mut ctx, SETTINGS_FIELDS);
    Ok(page(identity, csrf, status, "officer/admin/settings.html", ctx))
}

async fn save_settings(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let weeks = field(&form, "minimum-weeks").trim().parse::<i64>().ok().filter(|w| (1..=52).contains(w));
    let Some(weeks) = weeks else {
        let mut errors = Errors::default();
        errors.add("minimum-weeks", "Enter a whole number of weeks between 1 and 52");
        return settings_page(&state, &identity, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    let who = actor(&identity, &request);
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<_, AppError> {
                let before = setting::minimum_weeks(conn)?;
                setting::set(conn, setting::MINIMUM_WEEKS, &weeks)?;
                audit::record(
                    conn,
                    &who,
                    Entry {
                        action: "setting.update",
                        object_type: "setting",
                        object_id: setting::MINIMUM_WEEKS.into(),
                        organisation_id: None,
                        consultation_id: None,
                        detail: json!({"before": before, "after": weeks}),
                    },
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(see_other("/officer/admin/settings?done=settings"))
}

async fn add_period(posted: Posted) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, csrf }, form } = posted;
    let mut errors = Errors::default();
    let name = field(&form, "period-name").trim().to_string();
    if name.is_empty() {
        errors.add("period-name", "Enter a name for the pre-election period");
    } else if name.chars().count() > 200 {
        errors.add("period-name", "Name must be 200 characters or fewer");
    }
    let part = |p: &str| field(&form, p);
    let mut date = |id: &str, label: &str| {
        let parts = (part(&format!("{id}-day")), part(&format!("{id}-month")), part(&format!("{id}-year")));
        let found = date_field(id, label, parts, &mut errors);
        if found.is_none() && parts.0.trim().is_empty() && parts.1.trim().is_empty() && parts.2.trim().is_empty() {
            errors.add(&format!("{id}-day"), format!("Enter the {} date", label.to_lowercase()));
        }
        found
    };
    let starts = date("starts", "Start");
    let ends = date("ends", "End");
    if let (Some(s), Some(e)) = (starts, ends) {
        if e < s {
            errors.add("ends-day", "The end date must be the same as or after the start date");
        }
    }
    let (Some(starts), Some(ends)) = (starts, ends) else {
        return settings_page(&state, &identity, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    if !errors.is_empty() {
        return settings_page(&state, &identity, &csrf, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    }
    // The period covers whole days in the council's zone: from the start of the first to the start of the day
    // after the last.
    let (from, until) = (start_of_day(&state, starts), start_of_day(&state, ends + chrono::Duration::days(1)));
    let who = actor(&identity, &request);
    state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<_, AppError> {
                let made = election_period::insert(conn, &name, from, until)?;
                audit::record(conn, &who, period_entry("election_period.create", &made))?;
                Ok(())
            })
        })
        .await?;
    Ok(see_other("/officer/admin/settings?done=period-added"))
}

fn period_entry<'a>(action: &'a str, p: &election_period::ElectionPeriod) -> Entry<'a> {
    Entry {
        action,
        object_type: "election_period",
        object_id: p.id.to_string(),
        organisation_id: None,
        consultation_id: None,
        detail: json!({"name": p.name, "starts_at": p.starts_at, "ends_at": p.ends_at}),
    }
}

async fn delete_period(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, .. }, form: _ } = posted;
    let who = actor(&identity, &request);
    let id = id.into_inner();
    let deleted = state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<_, AppError> {
                let Some(gone) = election_period::delete(conn, id)? else { return Ok(false) };
                audit::record(conn, &who, period_entry("election_period.delete", &gone))?;
                Ok(true)
            })
        })
        .await?;
    if !deleted {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/officer/admin/settings?done=period-deleted"))
}
