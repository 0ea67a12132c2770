//! The officers' workspace: signing in and out (`session`), setting a password through a link sent by email
//! (`links`: invitations and resets), the home page of consultations, each officer's account page (password,
//! API tokens), the admin pages (users, organisations, the audit log, settings; the email outbox in `mail`),
//! and building and running consultations (`consultations`, `questions`, `routing`), previewing them as
//! residents will see them (`preview`) and keying in paper responses (`paper`). Every page here is for a
//! signed-in account (`Access::Pages`) but signing in and the pages reached from a link sent by email; each
//! form carries the session's (or the browser's) CSRF token and ends in a 303; validation errors re-show the
//! page with an error summary and 422. Every consultation is loaded through `AppState::consultation_for`, so
//! another organisation's is not found.

pub mod forms;
mod question_form;

mod account;
mod admin;
mod consultations;
mod exports;
mod links;
mod mail;
mod paper;
mod preview;
mod questions;
mod results;
mod routing;
mod session;

use crate::auth::Role;
use crate::domain::validation::Form;
use crate::models::{consultation, now};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::Identity;
use crate::web::render::page_with_status;
use crate::web::routes::{Access, Router, STAFF};
use crate::web::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use std::collections::BTreeMap;

pub fn routes(r: &mut Router) {
    r.get("/officer", Access::Pages(STAFF), web::get().to(home));
    session::routes(r);
    links::routes(r);
    account::routes(r);
    admin::routes(r);
    mail::routes(r);
    consultations::routes(r);
    questions::routes(r);
    routing::routes(r);
    preview::routes(r);
    paper::routes(r);
    exports::routes(r);
    results::routes(r);
}

/// What an officer page's handler works with: the request, the application, who is signed in, and the CSRF
/// token for the page's forms. For routes whose access rule demands a signed-in account.
pub struct Desk {
    pub request: HttpRequest,
    pub state: web::Data<AppState>,
    pub identity: Identity,
    pub csrf: CsrfToken,
}

impl FromRequest for Desk {
    type Error = AppError;
    type Future = std::future::Ready<Result<Desk, AppError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let desk = (|| {
            let state = request
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no application state")))?;
            let identity = Identity::from_request(request, payload).into_inner()?;
            let csrf = CsrfToken::from_request(request, payload).into_inner()?;
            Ok(Desk { request: request.clone(), state, identity, csrf })
        })();
        std::future::ready(desk)
    }
}

/// A form sent from an officer page, read whole with its CSRF token checked (`web::form`), with the desk it
/// was sent from.
pub struct Posted {
    pub desk: Desk,
    pub form: Form,
}

impl FromRequest for Posted {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Posted, AppError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let desk = Desk::from_request(request, payload).into_inner();
        let body = web::Payload::from_request(request, payload);
        Box::pin(async move {
            let desk = desk?;
            let body = body.await.map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
            let form = crate::web::form::read(&desk.request, &desk.state, body).await?;
            Ok(Posted { desk, form })
        })
    }
}

/// Renders an officer page: the layout's header shows who is signed in and a sign-out button carrying the
/// session's CSRF token, which the page's own forms carry too.
pub fn page(
    identity: &Identity,
    csrf: &CsrfToken,
    status: StatusCode,
    template: &str,
    mut ctx: tera::Context,
) -> HttpResponse {
    ctx.insert(
        "officer",
        &serde_json::json!({
            "name": identity.name,
            "email": identity.email,
            "role": identity.role.label(),
            "admin": identity.role == Role::Admin,
            "builds": crate::web::routes::BUILDERS.contains(&identity.role),
        }),
    );
    ctx.insert("csrf", &csrf.0);
    if !ctx.contains_key("section") {
        ctx.insert("section", "consultations");
    }
    page_with_status(status, template, ctx)
}

/// A page for someone not signed in (the sign-in page), with its form's CSRF token.
pub fn page_for_visitor(csrf: &CsrfToken, status: StatusCode, template: &str, mut ctx: tera::Context) -> HttpResponse {
    ctx.insert("csrf", &csrf.0);
    page_with_status(status, template, ctx)
}

/// Every password check is taken and the queue is full: 503, try again in a few seconds.
pub fn busy() -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("heading", "The service is busy");
    ctx.insert("detail", "Too many people are signing in at once. Wait a few seconds and try again.");
    let mut response = page_with_status(StatusCode::SERVICE_UNAVAILABLE, "public/error.html", ctx);
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}

/// After a POST, to the page that shows its result.
pub fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.into())).finish()
}

/// A form's validation errors in the GOV.UK pattern: the summary's list, in the order of the fields, each
/// linking to its field's id, and the message beside each field.
#[derive(Debug, Default)]
pub struct Errors(Vec<(String, String)>);

#[derive(Serialize)]
struct Link<'a> {
    target: &'a str,
    message: &'a str,
}

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.0.iter().any(|(f, _)| f == field) {
            self.0.push((field.to_string(), message.into()));
        }
    }

    /// Adds problems named by field, renaming fields whose ids on this page differ (`("password", "new-password")`).
    pub fn extend(&mut self, problems: crate::accounts::Problems, ids: &[(&str, &str)]) {
        for (field, message) in problems {
            let id = ids.iter().find(|(f, _)| *f == field).map_or(field, |(_, id)| id);
            self.add(id, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts `errors` (the summary's links) and `error` (each of `fields`' message, "" when it has none) in the
    /// page's context.
    pub fn show(&self, ctx: &mut tera::Context, fields: &[&str]) {
        let links: Vec<Link> = self.0.iter().map(|(target, message)| Link { target, message }).collect();
        ctx.insert("errors", &links);
        let mut by_field: BTreeMap<&str, &str> = fields.iter().map(|f| (*f, "")).collect();
        for (field, message) in &self.0 {
            by_field.insert(field, message);
        }
        ctx.insert("error", &by_field);
    }
}

/// One value of a submitted form (the first, trimmed of nothing), or "".
pub fn field<'a>(form: &'a crate::domain::validation::Form, name: &str) -> &'a str {
    form.get(name).and_then(|v| v.first()).map_or("", String::as_str)
}

#[derive(Serialize)]
struct Listed {
    slug: String,
    title: String,
    stage: &'static str,
    stage_label: &'static str,
}

/// The consultations the account may see: its organisation's, or every one for admins.
async fn home(state: web::Data<AppState>, identity: Identity, csrf: CsrfToken) -> Result<HttpResponse, AppError> {
    let scope = identity.scope();
    let rows = state.db(move |conn| Ok(consultation::list_for_officers(conn, scope)?)).await?;
    let at = now();
    let listed: Vec<Listed> = rows
        .into_iter()
        .map(|l| {
            let stage = l.consultation.stage(at);
            let title = if l.title.trim().is_empty() { l.consultation.slug.clone() } else { l.title };
            Listed { slug: l.consultation.slug, title, stage: stage.as_str(), stage_label: stage.label() }
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("consultations", &listed);
    // Analysts read responses and do not build: their link is to each consultation's downloads.
    ctx.insert("analyst", &(identity.role == Role::Analyst));
    ctx.insert("builder", &crate::web::routes::BUILDERS.contains(&identity.role));
    ctx.insert("section", "consultations");
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/home.html", ctx))
}
