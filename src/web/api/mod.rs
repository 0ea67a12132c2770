//! The JSON API v1, described by the OpenAPI document `openapi` makes from these handlers and their types
//! (served at /api/openapi.json). Errors are RFC 9457 `application/problem+json`.

mod consultations;
mod definitions;
pub mod exports;
pub mod openapi;
mod published;
mod responses;
mod results;
mod workspace;

use crate::web::routes::{Access, Router, BUILDERS, READERS};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(r: &mut Router) {
    r.get("/api/openapi.json", Access::Public, web::get().to(openapi::serve))
        .get("/api/v1/consultations", Access::Public, web::get().to(consultations::list))
        .get("/api/v1/consultations/{slug}", Access::Public, web::get().to(consultations::show))
        .get("/api/v1/consultations/{slug}/definition", Access::Api(READERS), web::get().to(definitions::show))
        .post("/api/v1/consultations/{slug}/responses", Access::Public, web::post().to(responses::create))
        .get("/api/v1/consultations/{slug}/responses", Access::Api(READERS), web::get().to(exports::download))
        .get("/api/v1/consultations/{slug}/results", Access::Public, web::get().to(results::show))
        .get("/api/v1/consultations/{slug}/results/stream", Access::Public, web::get().to(results::stream))
        .get("/api/v1/consultations/{slug}/results/published", Access::Public, web::get().to(published::show))
        .post("/api/v1/consultations/{slug}/results/publish", Access::Api(BUILDERS), web::post().to(published::publish))
        .post("/api/v1/consultations", Access::Api(BUILDERS), web::post().to(workspace::create))
        .put("/api/v1/consultations/{slug}/definition", Access::Api(BUILDERS), web::put().to(workspace::replace))
        .post("/api/v1/consultations/{slug}/publish", Access::Api(BUILDERS), web::post().to(workspace::publish))
        .patch("/api/v1/consultations/{slug}", Access::Api(BUILDERS), web::patch().to(workspace::patch));
}

/// One invalid answer in a 422: the question's key (or `<key>.other`) and what is wrong, in words.
#[derive(Debug, Serialize, Clone, ToSchema)]
pub struct FieldProblem {
    pub question: String,
    pub message: String,
}

/// An API error as `application/problem+json` (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// The kind of problem, a path such as /problems/not-found that stays the same for the same kind.
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    /// The HTTP status code.
    status: u16,
    /// What went wrong, in words.
    detail: String,
    /// Invalid answers to a response, each naming its question.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem>,
    /// Problems with a definition or a change, each in words and naming what it is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
    #[serde(skip)]
    retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            problems: Vec::new(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            "There is no consultation at this address",
        )
    }

    pub fn unauthorised() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorised",
            "Unauthorised",
            "Send a valid API token as 'Authorization: Bearer <token>'",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden", detail)
    }

    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Problem {
        self.errors = errors;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = detail.into();
        self
    }

    pub fn with_problems(mut self, problems: Vec<String>) -> Problem {
        self.problems = problems;
        self
    }

    pub fn retry_after(mut self, seconds: u32) -> Problem {
        self.retry_after = Some(seconds);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(s) = self.retry_after {
            response.insert_header(("Retry-After", s.to_string()));
        }
        if self.status == 401 {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.content_type("application/problem+json").body(serde_json::to_string(self).expect("problems serialise"))
    }
}

impl From<crate::web::error::AppError> for Problem {
    fn from(e: crate::web::error::AppError) -> Problem {
        use crate::web::error::AppError;
        match e {
            AppError::NotFound => Problem::not_found(),
            AppError::BadRequest(m) => Problem::new(StatusCode::BAD_REQUEST, "/problems/bad-request", "Bad request", m),
            AppError::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden", m),
            AppError::Overloaded => overloaded(),
            AppError::TooManyRequests => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/too-many-requests",
                "Too many requests",
                "Too many requests from your address: retry after Retry-After seconds",
            )
            .retry_after(60),
            AppError::TooSlow => Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "/problems/too-slow",
                "Request too slow",
                "The body took too long to arrive; nothing was stored",
            ),
            AppError::TooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "/problems/too-large",
                "Request body too large",
                "Send less",
            ),
            AppError::Workspace(e) => Problem::from(e),
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "API request failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "/problems/unavailable",
                    "Service unavailable",
                    "Try again shortly",
                )
                .retry_after(1)
            }
        }
    }
}

/// Reads a JSON request body: refuses another media type with 415 and more than the body limit with 413.
pub async fn json_body(request: &actix_web::HttpRequest, payload: web::Payload) -> Result<web::BytesMut, Problem> {
    require_json(request)?;
    Ok(crate::web::read_body(request, payload).await?)
}

/// As `json_body`, for an operation whose body may be left out: none when the request has no body at all,
/// whatever its content type says; a body sent must still be JSON.
pub async fn optional_json_body(
    request: &actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<Option<web::BytesMut>, Problem> {
    let body = crate::web::read_body(request, payload).await?;
    if body.is_empty() {
        return Ok(None);
    }
    require_json(request)?;
    Ok(Some(body))
}

fn require_json(request: &actix_web::HttpRequest) -> Result<(), Problem> {
    use actix_web::HttpMessage;
    let is_json = matches!(request.mime_type(), Ok(Some(m)) if m.essence_str() == "application/json");
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/bad-request",
            "Bad request",
            "Send the body as application/json",
        ));
    }
    Ok(())
}

pub fn overloaded() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/overloaded",
        "Service overloaded",
        "Too many responses are waiting to be stored; nothing was stored: retry with the same Idempotency-Key",
    )
    .retry_after(1)
}

impl From<crate::workspace::Error> for Problem {
    fn from(e: crate::workspace::Error) -> Problem {
        use crate::workspace::Error;
        match e {
            Error::Invalid(problems) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-definition",
                "Invalid",
                "Nothing was changed: put right each problem listed",
            )
            .with_problems(problems),
            Error::Conflict => Problem::new(
                StatusCode::CONFLICT,
                "/problems/conflict",
                "Changed meanwhile",
                "The draft was changed by someone else: read it again and retry",
            ),
            Error::SlugTaken(slug) => Problem::new(
                StatusCode::CONFLICT,
                "/problems/slug-taken",
                "Slug taken",
                format!("Another consultation already has the slug ‘{slug}’"),
            ),
            Error::NotClosed => Problem::new(
                StatusCode::CONFLICT,
                "/problems/not-closed",
                "Not closed",
                "The consultation has not closed: its results can be published once it has",
            ),
            Error::Database(e) => Problem::from(crate::web::error::AppError::Internal(e.into())),
        }
    }
}
