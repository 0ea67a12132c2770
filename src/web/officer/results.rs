//! Publishing a closed consultation's results: what the council decided and why (markdown, previewed as the
//! public will see it), then a snapshot of the figures as they stand (see `workspace::publish_results`).
//! Earlier publications are listed; publishing again adds one.

use super::consultations::{heading, refused, working, Working};
use super::forms::Fields;
use super::{page, see_other, Desk, Posted};
use crate::domain::phase::Phase;
use crate::models::{now, snapshot};
use crate::web::error::AppError;
use crate::web::identity::actor;
use crate::web::render::markdown;
use crate::web::routes::{Access, Router, BUILDERS};
use crate::workspace;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/{slug}/results/publish", b, web::get().to(form)).post(
        "/officer/consultations/{slug}/results/publish",
        b,
        web::post().to(publish),
    );
}

async fn form(desk: Desk, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let w = working(&desk.state, &desk.identity, &slug).await?;
    let mut fields = Fields::default();
    let id = w.consultation.id;
    let latest = desk.state.db(move |conn| Ok(snapshot::latest(conn, id)?)).await?;
    fields.set("outcome", latest.map(|s| s.outcome).unwrap_or_default());
    render(&desk, &w, &fields, None, StatusCode::OK).await
}

async fn render(
    desk: &Desk,
    w: &Working,
    fields: &Fields,
    preview: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let id = w.consultation.id;
    let earlier = desk.state.db(move |conn| Ok(snapshot::list(conn, id)?)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("closed", &(w.consultation.phase(now()) == Phase::Closed));
    ctx.insert("form", &fields.view(&["outcome"]));
    ctx.insert("errors", &fields.summary());
    ctx.insert("preview_html", &preview);
    ctx.insert(
        "earlier",
        &earlier
            .iter()
            .map(|p| serde_json::json!({"number": p.number, "at": desk.state.local_time(p.published_at)}))
            .collect::<Vec<_>>(),
    );
    Ok(page(&desk.identity, &desk.csrf, status, "officer/consultation/publish_results.html", ctx))
}

async fn publish(posted: Posted, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let Posted { desk, form } = posted;
    let mut fields = Fields::from(form);
    let w = working(&desk.state, &desk.identity, &slug).await?;
    let outcome = fields.value("outcome");
    if let Err(problem) = workspace::check_outcome(&outcome) {
        fields.error("outcome", problem);
    }
    if fields.value("action") == "preview" || fields.has_errors() {
        let status = if fields.has_errors() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        return render(&desk, &w, &fields, Some(markdown(&outcome)), status).await;
    }
    let actor = actor(&desk.identity, &desk.request);
    let c = w.consultation.clone();
    let mail = desk.state.mail.clone();
    match desk.state.db(move |conn| Ok(workspace::publish_results(conn, &actor, &c, Some(&outcome), &mail))).await? {
        Ok(_) => Ok(see_other(format!("/consultations/{slug}"))),
        Err(e) => {
            refused(&mut fields, "outcome", e)?;
            render(&desk, &w, &fields, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
