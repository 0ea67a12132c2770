//! GET a consultation's latest definition, draft or published: the officers' export, through an API token.

use super::Problem;
use crate::domain::definition::Definition;
use crate::models::{consultation, version};
use crate::web::identity::Identity;
use crate::web::AppState;
use actix_web::{web, HttpResponse};

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
