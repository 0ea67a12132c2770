//! The responses page: how many responses a consultation has, what each download holds, and the downloads
//! themselves (the same files as the API's, see `web::exports`), for admins, officers and analysts.

use super::consultations::{heading, working};
use super::{page, Desk};
use crate::exports::Format;
use crate::web::api::exports::format_of;
use crate::web::error::AppError;
use crate::web::identity::actor;
use crate::web::routes::{Access, Router, READERS};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub fn routes(r: &mut Router) {
    let readers = Access::Pages(READERS);
    r.get("/officer/consultations/{slug}/responses", readers, web::get().to(show)).get(
        "/officer/consultations/{slug}/responses/download",
        readers,
        web::get().to(download),
    );
}

async fn show(desk: Desk, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let w = working(&state, &identity, &slug).await?;
    let summary = crate::web::exports::summary(&state, &w.consultation).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(&w));
    ctx.insert("responses", &summary.responses);
    ctx.insert("columns", &summary.columns);
    ctx.insert("builder", &super::super::routes::BUILDERS.contains(&identity.role));
    ctx.insert("formats", &Format::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>());
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/consultation/responses.html", ctx))
}

async fn download(desk: Desk, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, request, .. } = desk;
    let c = state.consultation_for(&identity, &slug).await?;
    let format =
        format_of(&request).ok_or_else(|| AppError::BadRequest("Choose a download: CSV, Excel or JSON.".into()))?;
    crate::web::exports::download(&state, actor(&identity, &request), c, format).await
}
