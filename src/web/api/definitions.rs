//! GET a consultation's latest definition, draft or published: the officers' export, through an API token.

use super::openapi::{NO_TOKEN, OTHER_ORGANISATION, PROBLEM, UNAVAILABLE};
use super::Problem;
use crate::domain::definition::Definition;
use crate::models::{consultation, version};
use crate::web::identity::Identity;
use crate::web::AppState;
use actix_web::{web, HttpResponse};

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/definition",
    operation_id = "getDefinition",
    tag = "officers",
    summary = "A consultation's latest definition, draft or published",
    description = "The definition an officer would export: the draft if there is one, else the published version. \
                   Needs the API token of an admin, officer or analyst; officers and analysts see their own \
                   organisation's consultations only.",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027")),
    responses(
        (status = 200, description = "The definition", body = Definition),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, body = Problem, content_type = PROBLEM,
         description = "The token's account is a cabinet member's, who may not read definitions"),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    identity: Identity,
) -> Result<HttpResponse, Problem> {
    let slug = slug.into_inner();
    let found = state
        .db(move |conn| {
            let Some(c) = consultation::find_by_slug(conn, &slug)? else { return Ok(None) };
            let latest = match version::draft(conn, c.id)? {
                Some(draft) => draft,
                None => match c.live_version_id {
                    Some(id) => version::find(conn, id)?,
                    None => return Ok(None),
                },
            };
            Ok(Some((c, latest)))
        })
        .await?;
    // Another organisation's consultation is not found, so that slugs say nothing across organisations.
    let (c, latest) = found.filter(|(c, _)| identity.works_for(c.organisation_id)).ok_or_else(Problem::not_found)?;
    let definition = Definition {
        slug: c.slug,
        opens_at: c.opens_at,
        closes_at: c.closes_at,
        results_visibility: c.results_visibility,
        content: latest.content().map_err(|e| Problem::from(crate::web::error::AppError::from(e)))?,
    };
    Ok(HttpResponse::Ok().json(definition))
}
