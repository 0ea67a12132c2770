//! The OpenAPI document of the API, made by utoipa from the handlers' `#[utoipa::path]` attributes and the
//! types they answer with, so that it cannot drift from them; built once, at the first request for it, and
//! served at GET /api/openapi.json. `tests/integration/openapi.rs` holds the running server to it.

use super::{consultations, definitions, exports, published, responses, results, workspace, Problem};
use actix_web::HttpResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, RefOr, Type};
use utoipa::{Modify, OpenApi};

/// The media type of every error.
pub const PROBLEM: &str = "application/problem+json";

/// 401 on an operation that needs no token.
pub const BAD_TOKEN: &str = "The Authorization header is not a working API token (malformed, unknown or revoked, \
                             or its account disabled): a request under /api/ that sends one is refused even where \
                             no token is needed";
/// 401 on an operation that needs a token.
pub const NO_TOKEN: &str = "No working API token: none was sent, or it is malformed, unknown or revoked, or its \
                            account is disabled";
pub const TOO_LARGE: &str = "The body is larger than 256 KiB";
pub const UNAVAILABLE: &str = "The database is unavailable: retry after Retry-After seconds";
/// The 404 of an officer operation: another organisation's consultation is answered as though it did not exist.
pub const OTHER_ORGANISATION: &str = "No such consultation, or one of another organisation";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Have Your Say API",
        version = "1.0.0",
        description = "Public consultations: the list, each published questionnaire, response submission and live \
                       results; and, with an officer's API token, the officers' operations. Errors are RFC 9457 \
                       application/problem+json. Times are RFC 3339, answered in UTC."
    ),
    paths(
        crate::web::healthz,
        serve,
        consultations::list,
        consultations::show,
        responses::create,
        exports::download,
        results::show,
        results::stream,
        published::show,
        published::publish,
        definitions::show,
        workspace::create,
        workspace::replace,
        workspace::publish,
        workspace::patch,
    ),
    modifiers(&Conventions),
    tags(
        (name = "public", description = "For anyone: residents' apps, open data, integrations"),
        (name = "officers", description = "For officers' tools, with an API token"),
        (name = "service", description = "For whoever runs the service"),
    )
)]
struct Document;

/// What is true of every operation, added once here rather than on each: the bearer scheme, and the headers
/// every `Problem` of a status carries (see `Problem::error_response`).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal API token (hys_ and 64 hex digits), made on the account page or with \
                         `haveyoursay token add`. Only tokens authenticate the API, never cookies. Any request \
                         under /api/ whose Authorization header is not a working token (malformed, unknown or \
                         revoked, or its account disabled) is answered 401, even where no token is needed.",
                    ))
                    .build(),
            ),
        );
        let integer = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0));
        let string = || ObjectBuilder::new().schema_type(Type::String);
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete] {
                let Some(operation) = operation else { continue };
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if !response.content.contains_key(PROBLEM) {
                        continue;
                    }
                    let header = match status.as_str() {
                        "401" => {
                            ("WWW-Authenticate", HeaderBuilder::new().schema(string()).description(Some("Bearer")))
                        }
                        "503" => (
                            "Retry-After",
                            HeaderBuilder::new().schema(integer()).description(Some("Seconds to wait before retrying")),
                        ),
                        _ => continue,
                    };
                    response.headers.insert(header.0.to_string(), header.1.build());
                }
            }
        }
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

/// The document as JSON, made once.
static JSON: LazyLock<String> = LazyLock::new(|| document().to_pretty_json().expect("the OpenAPI document serialises"));

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "public",
    summary = "This document",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 503, body = Problem, content_type = PROBLEM,
         description = "A token was sent and the database, which checks it, is unavailable"),
    )
)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(JSON.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn components() -> Value {
        serde_json::to_value(document()).unwrap()["components"]["schemas"].clone()
    }

    fn enum_of(schema: &Value) -> Vec<String> {
        let values = schema["enum"].as_array().unwrap_or_else(|| panic!("an enum: {schema}"));
        values.iter().map(|v| v.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn the_document_builds_with_unique_operation_ids() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ids = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                ids.push(operation["operationId"].as_str().expect("every operation has an id").to_string());
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique: {ids:?}");
    }

    /// Limits the descriptions state in words, held to the limits the server applies.
    #[test]
    fn the_stated_limits_are_the_servers() {
        assert_eq!(crate::web::MAX_BODY, 256 * 1024, "TOO_LARGE says 256 KiB");
        let doc = serde_json::to_value(document()).unwrap();
        let parameters = doc["paths"]["/api/v1/consultations/{slug}/responses"]["post"]["parameters"].clone();
        let key = parameters.as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key").unwrap().clone();
        assert_eq!(key["schema"]["maxLength"], responses::MAX_KEY_LENGTH);
    }

    /// Enums that travel as strings are described by types of their own; these hold them to the server's.
    #[test]
    fn the_string_enums_are_the_servers() {
        use crate::auth::Visibility;
        use crate::domain::phase::Stage;
        use crate::domain::questionnaire::Kind;
        use crate::models::response::Channel;
        let schemas = components();
        let visibility: Vec<&str> = Visibility::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(enum_of(&schemas["ResultsVisibility"]), visibility);
        let keyed: Vec<&str> = Channel::ALL.into_iter().filter(|c| c.is_keyed()).map(Channel::as_str).collect();
        assert_eq!(enum_of(&schemas["KeyedChannel"]), keyed);
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(enum_of(&schemas["Kind"]), kinds);
        let stages =
            [Stage::Draft, Stage::Scheduled, Stage::Open, Stage::Closed, Stage::ResultsPublished, Stage::Archived];
        let stages: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
        assert_eq!(enum_of(&schemas["Stage"]), stages);
    }
}
