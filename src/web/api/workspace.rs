//! The officer API for consultations: create one from a definition, replace its draft, publish it, and set
//! its times and results policy. Each call acts as the bearer token's account; the work is `workspace`'s.

use super::openapi::{NO_TOKEN, OTHER_ORGANISATION, PROBLEM, TOO_LARGE, UNAVAILABLE};
use super::{json_body, Problem};
use crate::domain::definition::{self, utc, Definition, ResultsVisibility};
use crate::domain::phase::Stage;
use crate::models::consultation::Schedule;
use crate::models::{now, organisation};
use crate::web::identity::{actor, Identity};
use crate::web::AppState;
use crate::workspace::{self, RETENTION_DAYS};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize)]
pub struct Organisation {
    organisation: Option<String>,
}

/// A new consultation's slug.
#[derive(Serialize, ToSchema)]
pub struct Created {
    slug: String,
}

/// The draft that a definition replaced.
#[derive(Serialize, ToSchema)]
pub struct Replaced {
    slug: String,
    /// The draft's revision after this change.
    revision: i32,
}

/// The version a publication froze.
#[derive(Serialize, ToSchema)]
pub struct Published {
    /// The number of the new live version.
    version: i32,
}

// `patch` reads the body as an object itself, so as to name every problem at once (an unknown field among
// them): this type only describes it, and is never built.
/// A change to a consultation's times and results policy: any of the fields; what is left out stays.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ScheduleChange {
    /// RFC 3339; null clears it, which only a draft may.
    #[schema(value_type = Option<String>, format = DateTime)]
    opens_at: Option<NaiveDateTime>,
    /// RFC 3339; null clears it, which only a draft may.
    #[schema(value_type = Option<String>, format = DateTime)]
    closes_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<ResultsVisibility>)]
    results_visibility: Option<String>,
    /// Whether each person may respond once: residents confirm an email address before answering, and
    /// responses through this API then need an officer's token with a channel.
    one_response_per_person: Option<bool>,
    /// Days after closing that the email addresses given for this consultation are erased.
    #[schema(minimum = 1, maximum = 3650)]
    retention_days: Option<i32>,
}

/// A consultation's schedule after a change.
#[derive(Serialize, ToSchema)]
pub struct Scheduled {
    slug: String,
    /// The stage the times now put the consultation at.
    status: Stage,
    /// RFC 3339, in UTC; null while not set.
    #[serde(with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime, required)]
    opens_at: Option<NaiveDateTime>,
    /// RFC 3339, in UTC; null while not set.
    #[serde(with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime, required)]
    closes_at: Option<NaiveDateTime>,
    #[schema(value_type = ResultsVisibility)]
    results_visibility: String,
    one_response_per_person: bool,
    retention_days: i32,
    /// What the officer should know (a consultation shorter than the council's minimum, one during a
    /// pre-election period), in words; never a refusal.
    warnings: Vec<String>,
}

const SLUG: &str = "The consultation's slug, e.g. irmp-2027";
const ROLE: &str = "The token's account is an analyst's or a cabinet member's, who may not change consultations";

/// A new draft from a definition, in the caller's organisation (an admin with none names one with
/// `?organisation=`).
#[utoipa::path(
    post,
    path = "/api/v1/consultations",
    operation_id = "createConsultation",
    tag = "officers",
    summary = "Create a draft consultation from a definition",
    description = "The draft belongs to the token's organisation; an admin, who has none, names one with \
                   ?organisation=NAME (or needs none while only one exists).",
    security(("bearer" = [])),
    params(("organisation" = Option<String>, Query, description = "An admin's choice of organisation, by name")),
    request_body = Definition,
    responses(
        (status = 201, description = "Created as a draft", body = Created,
         headers(("Location" = String, description = "Where its definition is read"))),
        (status = 400, description = "A query string that cannot be read", body = Problem, content_type = PROBLEM),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = ROLE, body = Problem, content_type = PROBLEM),
        (status = 409, body = Problem, content_type = PROBLEM,
         description = "Another consultation already has the slug"),
        (status = 413, description = TOO_LARGE, body = Problem, content_type = PROBLEM),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "The definition is invalid (problems names each problem), or the organisation is unknown or \
                        not given"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    who: Identity,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    // Read here rather than by an extractor, whose refusal would be plain text rather than a problem.
    let named = web::Query::<Organisation>::from_query(request.query_string())
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "/problems/bad-request",
                "Bad request",
                format!("The query string cannot be read: {e}"),
            )
        })?
        .into_inner()
        .organisation;
    let body = json_body(&request, payload).await?;
    let actor = actor(&who, &request);
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
        .json(Created { slug }))
}

/// Replaces the draft (starting one if the consultation is published; the live version stays until the draft
/// is published).
#[utoipa::path(
    put,
    path = "/api/v1/consultations/{slug}/definition",
    operation_id = "replaceDefinition",
    tag = "officers",
    summary = "Replace a consultation's draft with a definition",
    description = "Starts a new draft when the consultation is published; the live version is unchanged until \
                   the draft is published. The slug cannot change, nor, once published, the times and results \
                   policy (PATCH changes those).",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = SLUG)),
    request_body = Definition,
    responses(
        (status = 200, description = "The draft is replaced", body = Replaced),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = ROLE, body = Problem, content_type = PROBLEM),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 409, body = Problem, content_type = PROBLEM,
         description = "The draft was changed by another request meanwhile: read it again and retry"),
        (status = 413, description = TOO_LARGE, body = Problem, content_type = PROBLEM),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "The definition is invalid, or changes what it may not (problems names each problem)"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
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
    Ok(HttpResponse::Ok().json(Replaced { slug: slug.into_inner(), revision }))
}

/// Freezes the draft as the live version.
#[utoipa::path(
    post,
    path = "/api/v1/consultations/{slug}/publish",
    operation_id = "publishConsultation",
    tag = "officers",
    summary = "Publish the draft as the live version",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = SLUG)),
    responses(
        (status = 200, description = "Published", body = Published),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = ROLE, body = Problem, content_type = PROBLEM),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "It cannot be published: no draft, an incomplete questionnaire, times not set, or a change to \
                        what an earlier version's keys meant (problems names each problem)"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn publish(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let c = state.consultation_for(&who, &slug).await?;
    let actor = actor(&who, &request);
    let number = state.db(move |conn| Ok(workspace::publish(conn, &actor, &c)?)).await?;
    Ok(HttpResponse::Ok().json(Published { version: number }))
}

/// Any of `opens_at`, `closes_at` (RFC 3339, or null while the consultation is a draft),
/// `results_visibility`, `one_response_per_person` and `retention_days`. Answers the consultation's schedule, its
/// status, its email rules and any warnings (a short
/// consultation, a pre-election period).
#[utoipa::path(
    patch,
    path = "/api/v1/consultations/{slug}",
    operation_id = "updateConsultation",
    tag = "officers",
    summary = "Set a consultation's times, results policy or email rules",
    description = "Any of opens_at, closes_at, results_visibility, one_response_per_person and retention_days; \
                   what is left out stays. The status follows from the times.",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = SLUG)),
    request_body = ScheduleChange,
    responses(
        (status = 200, description = "Changed", body = Scheduled),
        (status = 400, description = "The body is not a JSON object", body = Problem, content_type = PROBLEM),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = ROLE, body = Problem, content_type = PROBLEM),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 413, description = TOO_LARGE, body = Problem, content_type = PROBLEM),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "A field that is not one of these, a value of the wrong form, a closing time not after the \
                        opening time, or a published consultation's time cleared (problems names each problem)"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
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
    let mut rules = c.email_rules();
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
            "one_response_per_person" => match value.as_bool() {
                Some(once) => rules.one_response_per_person = once,
                None => problems.push("one_response_per_person: must be true or false".into()),
            },
            "retention_days" => {
                match value.as_i64().and_then(|d| i32::try_from(d).ok()).filter(|d| RETENTION_DAYS.contains(d)) {
                    Some(days) => rules.retention_days = days,
                    None => problems.push(format!("retention_days: {}", workspace::retention_problem())),
                }
            }
            other => problems.push(format!("{other}: is not a field that PATCH changes")),
        }
    }
    if !problems.is_empty() {
        return Err(workspace::Error::Invalid(problems).into());
    }
    let actor = actor(&who, &request);
    let (updated, warnings) = state
        .db(move |conn| {
            // Everything is checked above, so the second change cannot be refused once the first is made.
            let warnings = workspace::schedule(conn, &actor, &c, schedule)?;
            workspace::set_email_rules(conn, &actor, &c, rules)?;
            Ok((crate::models::consultation::find(conn, c.id)?, warnings))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Scheduled {
        status: updated.stage(now()),
        slug: updated.slug,
        opens_at: updated.opens_at,
        closes_at: updated.closes_at,
        results_visibility: updated.results_visibility,
        one_response_per_person: updated.one_response_per_person,
        retention_days: updated.retention_days,
        warnings: warnings.iter().map(|w| w.message()).collect(),
    }))
}
