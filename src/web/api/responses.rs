//! POST a response. The body is read with a hard size limit and parsed strictly; the answers are validated in
//! full before anything is stored; the `Idempotency-Key` makes retries safe.

use super::openapi::{PROBLEM, TOO_LARGE};
use super::{overloaded, FieldProblem, Problem};
use crate::domain::validation;
use crate::email::compose::is_address;
use crate::models::response::Channel;
use crate::submissions::{Outcome, Receipt, Submission, SubmitError};
use crate::web::identity;
use crate::web::public::respondents::NOT_AN_ADDRESS;
use crate::web::routes::BUILDERS;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

pub(super) const MAX_KEY_LENGTH: usize = 200;

/// A response: the answers by question key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseBody {
    /// By question key (`<question key>.other` carries the text of an "Other" option). Optional questions may
    /// be left out; questions that routing does not show must be left out.
    #[schema(value_type = HashMap<String, Answer>)]
    answers: serde_json::Map<String, serde_json::Value>,
    /// How the response reached the council, for one an officer keys in (with their token); without it, `api`.
    #[serde(default)]
    #[schema(value_type = Option<KeyedChannel>)]
    channel: Option<String>,
    /// Where to send a receipt with the reference and a copy of the answers. Kept only until the receipt is
    /// sent; never part of the stored response.
    #[serde(default)]
    #[schema(max_length = 254)]
    email: Option<String>,
}

/// One answer as the question's kind takes it. Checked against the questionnaire by `validation::from_json`,
/// which reports a wrong shape as an invalid answer (422), not a malformed body; so it is described here.
pub struct Answer;

impl utoipa::PartialSchema for Answer {
    fn schema() -> RefOr<Schema> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        OneOfBuilder::new()
            .description(Some(
                "An option key (single choice, scale); a list of option keys (multiple choice; ranking: every \
                 option, most preferred first); a string (short and long text; a date as YYYY-MM-DD; the text of \
                 an \"Other\" option); a whole number (number); an object from row key to option key (grid); or \
                 null, as though left out",
            ))
            .item(string())
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            )
            .item(ArrayBuilder::new().items(string()))
            .item(ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(
                ObjectBuilder::new().schema_type([Type::String, Type::Null].into_iter().collect::<SchemaType>()),
            )))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .into()
    }
}

impl ToSchema for Answer {}

/// The channels an officer may key a response in: those `Channel::is_keyed` allows, named as the server reads
/// them, so the document cannot drift from the check.
pub struct KeyedChannel;

impl utoipa::PartialSchema for KeyedChannel {
    fn schema() -> RefOr<Schema> {
        let keyed = Channel::ALL.into_iter().filter(|c| c.is_keyed()).map(Channel::as_str);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(keyed))
            .description(Some("How a response an officer keys in reached the council"))
            .into()
    }
}

impl ToSchema for KeyedChannel {}

/// The stored response's reference, which a resident can quote.
#[derive(Serialize, ToSchema)]
pub struct Reference {
    #[schema(pattern = "^HYS-[2-9A-Z]{4}-[2-9A-Z]{4}$")]
    reference: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/consultations/{slug}/responses",
    operation_id = "submitResponse",
    tag = "public",
    summary = "Submit one response",
    description = "The response is validated in full against the live questionnaire (kinds, options, limits, \
                   routing) and stored only if all of it is valid, and acknowledged only once durably committed. \
                   The Idempotency-Key makes retries safe: the same key with the same body answers the same \
                   reference without storing anything; the same key with a different body is refused. An \
                   officer keying in a paper, email or event response sends their API token and the channel. \
                   With an email, a receipt (the reference and a copy of the answers) is sent to it once, the \
                   address kept only until then.",
    security((), ("bearer" = [])),
    params(
        ("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 200,
         description = "A key the client chooses, unique per response (a UUID is ideal)"),
    ),
    request_body = ResponseBody,
    responses(
        (status = 201, description = "Stored", body = Reference),
        (status = 200, body = Reference,
         description = "A replay of a stored response (same key, same body): nothing new stored"),
        (status = 400, body = Problem, content_type = PROBLEM,
         description = "No Idempotency-Key or an invalid one, malformed JSON, or a body not of the form {\"answers\": \
                        {…}}"),
        (status = 401, description = BAD_TOKEN_OR_CHANNEL, body = Problem, content_type = PROBLEM),
        (status = 403, body = Problem, content_type = PROBLEM,
         description = "A channel was given with the token of an account whose role cannot key in responses"),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or (with a channel) one of another organisation than the token's"),
        (status = 409, body = Problem, content_type = PROBLEM,
         description = "The consultation is not open (forthcoming or closed); or each person may respond once to \
                        it, so responses come through the website's journey, where the resident confirms an email \
                        address (officers keying in a response with a channel are not affected)"),
        (status = 413, description = TOO_LARGE, body = Problem, content_type = PROBLEM),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = PROBLEM),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "Invalid answers (errors names each question and what is wrong; an email that is not an \
                        email address is named `email`), a channel that is not one of \
                        paper, email, event, or an Idempotency-Key already used with a different body"),
        (status = 503, body = Problem, content_type = PROBLEM,
         description = "Overloaded (nothing was stored) or the database is unavailable (the response may or may not \
                        have been stored): retry with the same Idempotency-Key after Retry-After seconds, which is \
                        safe, as a response is never stored twice under one key"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let key = idempotency_key(&request)?;
    let bytes = super::json_body(&request, payload).await?;
    let body: ResponseBody = serde_json::from_slice(&bytes).map_err(|e| {
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
    // Where each person responds once, only the website's journey knows who confirmed an address; officers
    // keying in a resident's paper, email or event response are the exception.
    if c.one_response_per_person && entered_by.is_none() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "/problems/confirmed-respondents-only",
            "Responses only through the website",
            "Each person may respond once to this consultation: responses come through the website, where the \
             resident first confirms an email address; nothing was stored",
        ));
    }
    let email = body.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let bad_email = email
        .filter(|e| !is_address(e))
        .map(|_| FieldProblem { question: "email".into(), message: NOT_AN_ADDRESS.into() });
    let answers = match parsed {
        Ok(a) if bad_email.is_none() => a,
        Err(_) if c.phase(crate::models::now()) != crate::domain::phase::Phase::Open => return Err(not_open()),
        parsed => {
            let problems = parsed.err().unwrap_or_default();
            let errors = problems
                .into_iter()
                .map(|p| FieldProblem { question: p.question, message: p.message })
                .chain(bad_email)
                .collect();
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-answers",
                "Invalid answers",
                "Some answers or the email address are missing or invalid; nothing was stored",
            )
            .with_errors(errors));
        }
    };
    let receipt = email.map(|to| Receipt {
        to: to.to_string(),
        answers: crate::web::public::journey::receipt_copy(&live.content.questionnaire, &answers),
    });
    // The address is no part of the idempotency fingerprint: the fingerprint is kept beside the response for
    // good, and a digest of an address and answers together would keep a trace of the address there. A replay
    // under the same key with the same answers stores nothing and so enqueues no second receipt (the outbox's
    // de-duplication key, by reference, covers any other path).
    let submission = Submission {
        consultation_id: c.id,
        version: live.clone(),
        channel,
        entered_by,
        idempotency_key: key,
        answers,
        journey: None,
        receipt,
        respondent: None,
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
            Ok(HttpResponse::Created().json(Reference { reference }))
        }
        Ok(Outcome::Replayed { reference }) => Ok(HttpResponse::Ok().json(Reference { reference })),
        Ok(Outcome::KeyReused) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used for a different response; nothing was stored",
        )),
        Ok(Outcome::NotOpen(_)) => Err(not_open()),
        // Only journeys carry a respondent.
        Ok(Outcome::AlreadyResponded) => Err(Problem::from(crate::web::error::AppError::Internal(anyhow::anyhow!(
            "an API response was refused as a second one"
        )))),
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

const BAD_TOKEN_OR_CHANNEL: &str = "A channel was given without an API token; or the Authorization header is \
                                    not a working API token (malformed, unknown or revoked, or its account \
                                    disabled)";

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
