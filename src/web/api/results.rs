//! GET the live results, once or as a stream of server-sent events, as the caller may see them: with an
//! officer's API token, what the consultation's results policy allows that account's role (the public's, for
//! another organisation's consultation); without one, what it allows the public.

use super::openapi::{BAD_TOKEN, PROBLEM, UNAVAILABLE};
use super::Problem;
use crate::models::consultation::Consultation;
use crate::models::totals;
use crate::results::crosstab::{self, CrossTab};
use crate::results::report::Report;
use crate::web::identity::Identity;
use crate::web::results::stream;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The results, or with `by` their cross-tab.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Results {
    Report(Report),
    CrossTab(CrossTab),
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// A single choice question's key (respondent type, age band, area…), or `channel`: every question
    /// broken down by its groups, each option with its count and column percentage in each group. Outside
    /// officers' own views (an admin's or an officer's token), counts under 10 are null, with a second count
    /// where a total would give one away.
    by: Option<String>,
}

/// Who the caller is to this consultation's results policy.
fn viewer(request: &HttpRequest, c: &Consultation) -> crate::auth::Viewer {
    c.viewer(request.extensions().get::<Identity>().map(|who| (who.role, who.organisation_id)))
}

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/results",
    operation_id = "getResults",
    tag = "public",
    summary = "Live results from the running totals",
    description = "The results as the caller may see them: with an API token, what the consultation's results \
                   visibility policy allows its account's role; without one, what it allows the public. Outside \
                   officers' own views the small counts of respondent-profile and equality-monitoring questions \
                   are null (suppressed), and `suppression` says why: `fewer_than_10` (the count is under 10) or \
                   `secondary` (hidden so that a total cannot give a small count away). With `by`, a cross-tab, \
                   suppressed the same way outside officers' own views.",
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027"), ResultsQuery),
    responses(
        (status = 200, description = "The results (with `by`: their cross-tab)", body = Results),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = NOT_ALLOWED, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or one that is a draft"),
        (status = 422, body = Problem, content_type = PROBLEM,
         description = "`by` is neither a single choice question of the consultation nor `channel`"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    ),
    security((), ("bearer" = []))
)]
pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<ResultsQuery>,
) -> Result<HttpResponse, Problem> {
    let (c, _) = state.consultation(&slug).await?;
    let viewer = viewer(&request, &c);
    let body = match query.into_inner().by {
        None => Results::Report(state.results_of(&c, viewer, totals::Parts::default()).await?.0),
        Some(by) => {
            let parts = totals::Parts {
                days: by == crosstab::BY_CHANNEL,
                cross: crosstab::cross_part(&by),
                ..Default::default()
            };
            let (report, tallies) = state.results_of(&c, viewer, parts).await?;
            let table = crosstab::build(&report, &tallies, &by, !viewer.working_view()).ok_or_else(|| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/problems/invalid-by",
                    "Cannot break the results down by that",
                    format!("‘{by}’ is neither a single choice question of this consultation nor ‘channel’"),
                )
            })?;
            Results::CrossTab(table)
        }
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

const NOT_ALLOWED: &str = "The consultation's results visibility policy does not allow the caller to see them yet";

/// Sends the results as an event now and again whenever a response is committed.
#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/results/stream",
    operation_id = "streamResults",
    tag = "public",
    summary = "Live results as server-sent events",
    description = "An event named `results` whose data is the Report that GET …/results answers the same caller, \
                   at once and then within a second of each response being committed (at most four a second). \
                   Comment lines keep a quiet stream open. Each address (and each instance) may hold only so \
                   many streams open: beyond that, 429 with Retry-After.",
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027")),
    responses(
        (status = 200, body = String, content_type = "text/event-stream",
         description = "A stream of server-sent events, each event's data a Report"),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = NOT_ALLOWED, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or one that is a draft"),
        (status = 429, body = Problem, content_type = PROBLEM,
         description = "Too many streams open from this address or on this instance: retry after Retry-After seconds"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    ),
    security((), ("bearer" = []))
)]
pub async fn stream(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (c, _) = state.consultation(&slug).await?;
    let viewer = viewer(&request, &c);
    // Refused at once when the policy does not allow the caller.
    state.results_of(&c, viewer, totals::Parts::default()).await?;
    let id = c.id;
    let reader = state.clone();
    let render = move || {
        let (state, c) = (reader.clone(), c.clone());
        async move {
            let (report, _) = state.results_of(&c, viewer, totals::Parts::default()).await.ok()?;
            Some(stream::event("results", &serde_json::to_string(&report).expect("reports serialise")))
        }
    };
    stream::open(&state, &request, id, render).map_err(|wait| {
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/too-many-streams",
            "Too many streams",
            "Too many live results streams are open from your address or on this server; retry after Retry-After \
             seconds",
        )
        .retry_after(wait as u32)
    })
}
