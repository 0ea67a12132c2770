//! POST a response. The body is read with a hard size limit and parsed strictly; the answers are validated in
//! full before anything is stored; the `Idempotency-Key` makes retries safe.

use super::{overloaded, FieldProblem, Problem};
use crate::domain::validation;
use crate::models::response::Channel;
use crate::submissions::{Outcome, Submission, SubmitError};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;

const MAX_KEY_LENGTH: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    answers: serde_json::Map<String, serde_json::Value>,
}

pub async fn create(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let key = idempotency_key(&request)?;
    let is_json = matches!(request.mime_type(), Ok(Some(m)) if m.essence_str() == "application/json");
    if !is_json {
        return Err(bad_request(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send the response as application/json"));
    }
    let bytes = crate::web::read_body(payload).await?;
    let body: Body = serde_json::from_slice(&bytes).map_err(|e| {
        bad_request(
            StatusCode::BAD_REQUEST,
            format!("The body is not valid JSON of the form {{\"answers\": {{…}}}}: {e}"),
        )
    })?;

    let (c, q) = state.recent_consultation(&slug).await?;
    let version_id = c.current_version_id.unwrap_or_default();
    let answers = validation::from_json(&q, &body.answers).map_err(|problems| {
        let errors = problems.into_iter().map(|p| FieldProblem { question: p.question, message: p.message }).collect();
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/invalid-answers",
            "Invalid answers",
            "Some answers are missing or invalid; nothing was stored",
        )
        .with_errors(errors)
    });
    let answers = match answers {
        Ok(a) => a,
        Err(problem) if c.phase(crate::models::now()) == crate::domain::phase::Phase::Open => return Err(problem),
        Err(_) => return Err(not_open()),
    };
    let submission = Submission {
        consultation_id: c.id,
        version_id,
        questionnaire: q,
        channel: Channel::Api,
        idempotency_key: key,
        answers,
    };
    match state.submitter.submit(submission).await {
        Ok(Outcome::Created { reference }) => {
            Ok(HttpResponse::Created().json(serde_json::json!({ "reference": reference })))
        }
        Ok(Outcome::Replayed { reference }) => {
            Ok(HttpResponse::Ok().json(serde_json::json!({ "reference": reference })))
        }
        Ok(Outcome::KeyReused) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used for a different response; nothing was stored",
        )),
        Ok(Outcome::NotOpen(_)) => Err(not_open()),
        Err(SubmitError::Overloaded) => Err(overloaded()),
        Err(SubmitError::Storage(e)) => {
            tracing::error!(error = format!("{e:#}"), "storing a response failed");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Service unavailable",
                "The response may not have been stored: retry with the same Idempotency-Key, which is safe \
                 (a response is never stored twice under one key)",
            )
            .retry_after(1))
        }
    }
}

fn idempotency_key(request: &HttpRequest) -> Result<String, Problem> {
    let key = request
        .headers()
        .get("idempotency-key")
        .ok_or_else(|| bad_request(StatusCode::BAD_REQUEST, "The Idempotency-Key header is required"))?
        .to_str()
        .map_err(|_| bad_request(StatusCode::BAD_REQUEST, "The Idempotency-Key header must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY_LENGTH {
        return Err(bad_request(
            StatusCode::BAD_REQUEST,
            format!("The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} characters"),
        ));
    }
    // Keys for the HTML journey live in their own namespace.
    Ok(format!("api:{key}"))
}

fn bad_request(status: StatusCode, detail: impl Into<String>) -> Problem {
    Problem::new(status, "/problems/bad-request", "Bad request", detail)
}

fn not_open() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "/problems/not-open",
        "Consultation not open",
        "This consultation is not taking responses",
    )
}
