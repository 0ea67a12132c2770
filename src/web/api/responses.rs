//! POST a response. The body is read with a hard size limit and parsed strictly; the answers are validated in
//! full before anything is stored; the `Idempotency-Key` makes retries safe.

use super::{overloaded, FieldProblem, Problem};
use crate::domain::validation;
use crate::models::response::Channel;
use crate::submissions::{Outcome, Submission, SubmitError};
use crate::web::identity;
use crate::web::routes::BUILDERS;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const MAX_KEY_LENGTH: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    answers: serde_json::Map<String, serde_json::Value>,
    /// How the response reached the council, for one an officer keys in (with their token).
    #[serde(default)]
    channel: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let key = idempotency_key(&request)?;
    let bytes = super::json_body(&request, payload).await?;
    let body: Body = serde_json::from_slice(&bytes).map_err(|e| {
        bad_request(
            StatusCode::BAD_REQUEST,
            format!("The body is not valid JSON of the form {{\"answers\": {{…}}}}: {e}"),
        )
    })?;

    let (mut c, mut live) = state.recent_consultation(&slug).await?;
    let mut parsed = validation::from_json(&live.content.questionnaire, &body.answers);
    if parsed.is_err() {
        // The consultation read may be up to a second old: answers to a version published since are checked
        // against it before they are refused.
        let (fresh, fresh_live) = state.consultation(&slug).await?;
        if fresh_live.id != live.id {
            parsed = validation::from_json(&fresh_live.content.questionnaire, &body.answers);
            (c, live) = (fresh, fresh_live);
        }
    }
    let (channel, entered_by) = keyed_channel(&request, body.channel.as_deref(), c.organisation_id)?;
    let answers = match parsed {
        Ok(a) => a,
        Err(_) if c.phase(crate::models::now()) != crate::domain::phase::Phase::Open => return Err(not_open()),
        Err(problems) => {
            let errors =
                problems.into_iter().map(|p| FieldProblem { question: p.question, message: p.message }).collect();
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-answers",
                "Invalid answers",
                "Some answers are missing or invalid; nothing was stored",
            )
            .with_errors(errors));
        }
    };
    let submission = Submission {
        consultation_id: c.id,
        version: live.clone(),
        channel,
        entered_by,
        idempotency_key: key,
        answers,
        journey: None,
    };
    match state.submitter.submit(submission).await {
        Ok(Outcome::Created { reference }) => {
            if let (Some(who), true) = (identity::of(&request), entered_by.is_some()) {
                let (actor, reference) = (identity::actor(&who, &request), reference.clone());
                state
                    .db(move |conn| {
                        Ok(crate::workspace::record_keyed_response(conn, &actor, &c, &reference, channel.as_str())?)
                    })
                    .await?;
            }
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

/// The channel of a response: `api` for anyone's, or the paper, email or event channel an officer of the
/// consultation's organisation gives with their token (recorded with who keyed it).
fn keyed_channel(
    request: &HttpRequest,
    channel: Option<&str>,
    organisation_id: i64,
) -> Result<(Channel, Option<i64>), Problem> {
    let Some(name) = channel else { return Ok((Channel::Api, None)) };
    let Some(who) = identity::of(request) else {
        return Err(Problem::unauthorised().with_detail("A channel is given only by an officer, with their API token"));
    };
    if !BUILDERS.contains(&who.role) {
        return Err(Problem::forbidden("Your account's role cannot key in responses"));
    }
    if !who.works_for(organisation_id) {
        return Err(Problem::not_found());
    }
    match Channel::parse(name).filter(|c| c.is_keyed()) {
        Some(channel) => Ok((channel, Some(who.user_id))),
        None => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/invalid-channel",
            "Invalid channel",
            "channel must be one of paper, email, event",
        )),
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
