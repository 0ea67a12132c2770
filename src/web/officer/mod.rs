//! The officers' workspace: building and running consultations (`consultations`, `questions`, `routing`),
//! previewing them as residents will see them (`preview`), and keying in paper responses (`paper`).
//! Every route has its access rule in `web::routes`; every consultation is loaded through
//! `AppState::consultation_for`, so another organisation's is not found.

pub mod forms;
mod question_form;

mod consultations;
mod paper;
mod preview;
mod questions;
mod routing;

use crate::web::csrf::CsrfToken;
use crate::web::identity::Identity;
use crate::web::render;
use crate::web::routes::Router;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

pub fn routes(r: &mut Router) {
    consultations::routes(r);
    questions::routes(r);
    routing::routes(r);
    preview::routes(r);
    paper::routes(r);
}

/// Renders an officer's page: the account for the header, the CSRF token for its forms, and never cached
/// (these pages show unpublished and personal things).
pub fn page(
    status: StatusCode,
    template: &str,
    mut ctx: tera::Context,
    who: &Identity,
    csrf: &CsrfToken,
) -> HttpResponse {
    ctx.insert("who_name", &who.name);
    ctx.insert("who_role", who.role.as_str());
    ctx.insert("csrf", &csrf.0);
    let mut response = render::page_with_status(status, template, ctx);
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// After a POST, to the page that shows its result.
pub fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.into())).finish()
}
