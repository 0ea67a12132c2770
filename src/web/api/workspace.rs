//! The officer API for consultations: create one from a definition, replace its draft, publish it, and set
//! its times and results policy. Each call acts as the bearer token's account; the work is `workspace`'s.

use super::{json_body, Problem};
use crate::domain::definition::{self, utc};
use crate::models::consultation::Schedule;
use crate::models::{now, organisation};
use crate::web::identity::{actor, Identity};
use crate::web::AppState;
use crate::workspace;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Organisation {
    organisation: Option<String>,
}

/// POST /api/v1/consultations: a new draft from a definition, in the caller's organisation (an admin with
/// none names one with `?organisation=`).
pub async fn create(
    state: web::Data<AppState>,
    who: Identity,
    request: HttpRequest,
    query: web::Query<Organisation>,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let body = json_body(&request, payload).await?;
    let actor = actor(&who, &request);
    let named = query.into_inner().organisation;
    let slug = state
        .db(move |conn| {
            let organisation_id = match (who.organisation_id, named) {
                (_, Some(name)) if who.role == crate::auth::Role::Admin => {
                    organisation::find_by_name(conn, &name)?.map(|o| o.id).ok_or_else(|| {
                        workspace::Error::invalid(format!("organisation: there is no organisation ‘{name}’"))
                    })?
                }
                (Some(id), _) => id,
                (None, _) => {
                    let all = organisation::all(conn)?;
                    match all.as_slice() {
                        [only] => only.id,
                        _ => {
                            return Err(workspace::Error::invalid(
                                "organisation: your account has no organisation: name one with ?organisation=NAME",
                            )
                            .into())
                        }
                    }
                }
            };
            Ok(workspace::import(conn, &actor, organisation_id, &body)?.slug)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/consultations/{slug}/definition")))
        .json(serde_json::json!({ "slug": slug })))
}

/// PUT /api/v1/consultations/{slug}/definition: replaces the draft (starting one if the consultation is
/// published; the live version stays until the draft is published).
pub async fn replace(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let body = json_body(&request, payload).await?;
    let c = state.consultation_for(&who, &slug).await?;
    let def = definition::parse(&body).map_err(|p| Problem::from(workspace::Error::Invalid(p)))?;
    let actor = actor(&who, &request);
    let revision = state.db(move |conn| Ok(workspace::replace(conn, &actor, &c, &def)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "slug": slug.as_str(), "revision": revision })))
}

/// POST /api/v1/consultations/{slug}/publish: freezes the draft as the live version.
pub async fn publish(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let c = state.consultation_for(&who, &slug).await?;
    let actor = actor(&who, &request);
    let number = state.db(move |conn| Ok(workspace::publish(conn, &actor, &c)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "version": number })))
}

/// PATCH /api/v1/consultations/{slug}: any of `opens_at`, `closes_at` (RFC 3339, or null while the
/// consultation is a draft) and `results_visibility`. Answers the consultation's schedule, its status and any
/// warnings (a short consultation, a pre-election period).
pub async fn patch(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let body = json_body(&request, payload).await?;
    let c = state.consultation_for(&who, &slug).await?;
    let change: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "Bad request",
            format!("The body is not a JSON object: {e}"),
        )
    })?;
    let mut schedule =
        Schedule { opens_at: c.opens_at, closes_at: c.closes_at, results_visibility: c.results_visibility.clone() };
    let mut problems = Vec::new();
    for (key, value) in &change {
        match key.as_str() {
            "opens_at" | "closes_at" => {
                let time = match value {
                    serde_json::Value::Null if c.live_version_id.is_none() => Ok(None),
                    serde_json::Value::Null => Err(format!("{key}: a published consultation must keep its times")),
                    serde_json::Value::String(s) => {
                        utc::parse(s).map(Some).ok_or_else(|| format!("{key}: ‘{s}’ is not an RFC 3339 time"))
                    }
                    _ => Err(format!("{key}: must be an RFC 3339 time as a string")),
                };
                match time {
                    Ok(t) if key == "opens_at" => schedule.opens_at = t,
                    Ok(t) => schedule.closes_at = t,
                    Err(p) => problems.push(p),
                }
            }
            "results_visibility" => match value.as_str().filter(|v| crate::auth::Visibility::from_input(v).is_some()) {
                Some(v) => schedule.results_visibility = v.to_string(),
                None => problems.push("results_visibility: must be one of officers, cabinet, public".into()),
            },
            other => problems.push(format!("{other}: is not a field that PATCH changes")),
        }
    }
    if !problems.is_empty() {
        return Err(workspace::Error::Invalid(problems).into());
    }
    let actor = actor(&who, &request);
    let (updated, warnings) = state
        .db(move |conn| {
            let warnings = workspace::schedule(conn, &actor, &c, schedule)?;
            Ok((crate::models::consultation::find(conn, c.id)?, warnings))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "slug": updated.slug,
        "status": updated.stage(now()).as_str(),
        "opens_at": updated.opens_at.map(utc::format),
        "closes_at": updated.closes_at.map(utc::format),
        "results_visibility": updated.results_visibility,
        "warnings": warnings.iter().map(|w| w.message()).collect::<Vec<_>>(),
    })))
}
