//! GET a consultation's responses as a file: CSV, Excel or JSON, streamed (see `web::exports`).

use super::openapi::{NO_TOKEN, OTHER_ORGANISATION, PROBLEM, UNAVAILABLE};
use super::Problem;
use crate::exports::{ExportedRow, Format};
use crate::web::identity::{actor, Identity};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Query {
    format: Option<String>,
}

/// Reads `?format=` (csv, xlsx or json), as the API and the officers' download links send it.
pub fn format_of(request: &HttpRequest) -> Option<Format> {
    web::Query::<Query>::from_query(request.query_string()).ok()?.into_inner().format.as_deref().and_then(Format::parse)
}

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/responses",
    operation_id = "exportResponses",
    tag = "officers",
    summary = "Every response, as CSV, Excel or JSON",
    description = "Streamed, whatever the number of responses. CSV: a header row, then one row per response; \
                   columns reference, channel, version, submitted_at, then one per question key across every \
                   version (multiple choice and ranking: option keys joined by ;), then <key>.<option> (1 or \
                   empty) for each option of a multiple-choice question, <key>.<row> for each row of a grid and \
                   <key>.other for the text given with \"Other\". Any cell starting with =, +, -, @, a tab or a \
                   carriage return is prefixed with ' so that no spreadsheet reads it as a formula. Excel: the \
                   same columns, with a second sheet explaining each. JSON: an array of responses, one per line. \
                   Needs the API token of an admin, officer or analyst of the consultation's organisation; every \
                   export is recorded in the audit log.",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027"),
        ("format" = String, Query, description = "csv, xlsx or json"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment",
         headers(
             ("Content-Disposition" = String, description = "attachment, with a file name"),
             ("X-Response-Count" = i64, description = "How many responses the file holds"),
         ),
         content(
             (String = "text/csv"),
             (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             (Vec<ExportedRow> = "application/json"),
         )),
        (status = 400, description = "No format, or one that is not csv, xlsx or json", body = Problem,
         content_type = PROBLEM),
        (status = 401, description = NO_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, body = Problem, content_type = PROBLEM,
         description = "The token's account is a cabinet member's, who may not read responses"),
        (status = 404, description = OTHER_ORGANISATION, body = Problem, content_type = PROBLEM),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn download(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let c = state.consultation_for(&who, &slug).await?;
    let format = format_of(&request).ok_or_else(|| {
        Problem::new(StatusCode::BAD_REQUEST, "/problems/bad-request", "Bad request", "Give ?format=csv, xlsx or json")
    })?;
    Ok(crate::web::exports::download(&state, actor(&who, &request), c, format).await?)
}
