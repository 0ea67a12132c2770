//! Published results: an officer publishes them (POST …/results/publish), and anyone reads the latest
//! publication (GET …/results/published), suppressed as everything published is, as JSON or as the open-data
//! CSV.

use super::openapi::{BAD_TOKEN, NO_TOKEN, OTHER_ORGANISATION, PROBLEM, TOO_LARGE, UNAVAILABLE};
use super::{optional_json_body, Problem};
use crate::domain::definition::utc;
use crate::results::published::PublishedResults;
use crate::web::identity::{actor, Identity};
use crate::web::AppState;
use crate::workspace;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the council decided and why, if it has decided: the body may be left out, or be `{}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Markdown, like a consultation's background; sanitised when shown. Left out, the publication keeps the
    /// latest publication's (none if none was recorded).
    #[serde(default)]
    outcome: Option<String>,
}

/// The publication made.
#[derive(Serialize, ToSchema)]
pub struct PublicationMade {
    /// 1 for the first publication, one more for each republication.
    publication: i32,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    published_at: String,
    /// The responses the published figures count.
    responses: i64,
}

const SLUG: &str = "The consultation's slug, e.g. irmp-2027";

#[utoipa::path(
    post,
    path = "/api/v1/consultations/{slug}/results/publish",
    operation_id = "publishResults",
    tag = "officers",
    summary = "Publish a closed consultation's results",
    description = "Takes a snapshot of the running totals now. The body is optional: with an `outcome`, the \
                   snapshot records what the council decided and why; with no body, an empty one or `{}`, it \
                   keeps the latest publication's outcome, or none (the public page then says the council has \
                   not yet recorded what it did). Every publication is kept; GET …/results/published gives the \
                   latest. Responses stored later change the published figures only when the results are \
                   published again. Recorded in the audit log.",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = SLUG)),
    request_body(content = Option<PublishRequest>, content_type = "application/json",
                 description = "Optional: what the council decided and why"),
    responses(
        (status = 201, description = "The results are published for the first time", body = PublicationMade),
        (status = 200, description = "The results are published again, as a new publication", body = PublicationMade),
        (status = 400, description = "The body is not the JSON object described", body = Problem,
         content_type = PROBLEM),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, body = Problem, content_type = PROBLEM,
         description = "The token's account is an analyst's or a cabinet member's, who may not publish results"),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 409, description = "The consultation has not closed", body = Problem, content_type = PROBLEM),
        (status = 413, description = TOO_LARGE, body = Problem, content_type = PROBLEM),
        (status = 415, description = "A body was sent that is not application/json", body = Problem,
         content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "An outcome that is blank or too long (problems names the problem)"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn publish(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let body = optional_json_body(&request, payload).await?;
    let c = state.consultation_for(&who, &slug).await?;
    let asked = match body {
        Some(body) => publish_request(&body)?,
        None => PublishRequest::default(),
    };
    let actor = actor(&who, &request);
    let mail = state.mail.clone();
    let made = state
        .db(move |conn| Ok(workspace::publish_results(conn, &actor, &c, asked.outcome.as_deref(), &mail)?))
        .await?;
    let status = if made.number == 1 { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(PublicationMade {
        publication: made.number,
        published_at: utc::format(made.published_at),
        responses: made.responses,
    }))
}

/// The body as a publication request: a JSON object (serde would take a list for a struct too).
fn publish_request(body: &[u8]) -> Result<PublishRequest, Problem> {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .and_then(|object| serde_json::from_value(serde_json::Value::Object(object)))
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "/problems/bad-request",
                "Bad request",
                format!("The body is not {{}} or {{\"outcome\": \"…\"}}: {e}"),
            )
        })
}

#[derive(Deserialize)]
pub struct Format {
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/results/published",
    operation_id = "getPublishedResults",
    tag = "public",
    summary = "The latest published results (open data)",
    description = "The figures of the latest publication, frozen when it was made, in the shape of …/results: \
                   every count under 10 is null (suppressed), and so is a second count wherever the base would \
                   give a hidden one away (`suppression` says which: `fewer_than_10` or `secondary`). With \
                   ?format=csv, the open-data CSV: one row per option (per grid row and option for a grid) with \
                   the columns consultation, publication, published_at, question_key, question, purpose, row_key, \
                   row, option_key, option, base, count, percent, ci95_low, ci95_high. Published under the Open \
                   Government Licence v3.0.",
    params(
        ("slug" = String, Path, description = SLUG),
        ("format" = Option<String>, Query, description = "json (the default) or csv"),
    ),
    responses(
        (status = 200, description = "The published results",
         content(
             (PublishedResults = "application/json"),
             (String = "text/csv"),
         )),
        (status = 400, description = "A format other than json or csv", body = Problem, content_type = PROBLEM),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or its results have not been published"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let format = web::Query::<Format>::from_query(request.query_string()).ok().and_then(|q| q.into_inner().format);
    let (c, _) = state.consultation(&slug).await?;
    let results = crate::web::published::latest(&state, &c)
        .await?
        .ok_or_else(|| Problem::not_found().with_detail("The results of this consultation have not been published"))?;
    match format.as_deref() {
        None | Some("json") => Ok(HttpResponse::Ok().json(results)),
        Some("csv") => {
            let mut out = csv::Writer::from_writer(Vec::new());
            for row in crate::results::published::csv_rows(&results) {
                out.write_record(row.iter().map(|c| crate::exports::neutralise(c).into_owned()))
                    .map_err(|e| Problem::from(crate::web::error::AppError::Internal(e.into())))?;
            }
            let bytes = out.into_inner().map_err(|e| Problem::from(crate::web::error::AppError::Internal(e.into())))?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-results-{}.csv\"", c.slug, results.publication),
                ))
                .body(bytes))
        }
        Some(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "Bad request",
            "Give ?format=json or ?format=csv",
        )),
    }
}
