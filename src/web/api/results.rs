//! GET the live results, once or as a stream of server-sent events.

use super::openapi::{BAD_TOKEN, PROBLEM, UNAVAILABLE};
use super::Problem;
use crate::auth::Viewer;
use crate::models::totals;
use crate::results::report::Report;
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt as _;
use std::time::Duration;

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/results",
    operation_id = "getResults",
    tag = "public",
    summary = "Live results from the running totals",
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027")),
    responses(
        (status = 200, description = "The results", body = Report),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = NOT_PUBLIC, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or one that is a draft"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (_, _, report) = state.report(&slug, Viewer::Public).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

const NOT_PUBLIC: &str = "The consultation's results visibility policy does not allow the public to see them yet";

/// How often a stream looks for new responses. A read of one row; it sees responses stored by any instance.
const POLL: Duration = Duration::from_millis(250);
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Sends the results as an event now and again whenever the number of responses changes.
#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}/results/stream",
    operation_id = "streamResults",
    tag = "public",
    summary = "Live results as server-sent events",
    description = "An event named `results` whose data is the Report that GET …/results answers, at once and \
                   then whenever the number of responses changes (looked for four times a second). Comment \
                   lines keep a quiet stream open.",
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027")),
    responses(
        (status = 200, body = String, content_type = "text/event-stream",
         description = "A stream of server-sent events, each event's data a Report"),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 403, description = NOT_PUBLIC, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or one that is a draft"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn stream(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let slug = slug.into_inner();
    let (c, _, first) = state.report(&slug, Viewer::Public).await?;
    let consultation_id = c.id;
    let initial = event(&first);
    let seen = first.responses;
    let updates = futures_util::stream::unfold(
        (state, slug, seen, tokio::time::Instant::now()),
        move |(state, slug, seen, mut quiet_since)| async move {
            loop {
                tokio::time::sleep(POLL).await;
                let count = state.db(move |conn| Ok(totals::responses(conn, consultation_id)?)).await.ok();
                if count.is_some_and(|n| n != seen) {
                    if let Ok((_, _, report)) = state.report(&slug, Viewer::Public).await {
                        let seen = report.responses;
                        return Some((
                            Ok::<_, actix_web::Error>(event(&report)),
                            (state, slug, seen, tokio::time::Instant::now()),
                        ));
                    }
                }
                if quiet_since.elapsed() >= KEEP_ALIVE {
                    quiet_since = tokio::time::Instant::now();
                    return Some((Ok(web::Bytes::from_static(b": keep-alive\n\n")), (state, slug, seen, quiet_since)));
                }
            }
        },
    );
    let body = futures_util::stream::once(async move { Ok(initial) }).chain(updates);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

fn event(report: &Report) -> web::Bytes {
    web::Bytes::from(format!("event: results\ndata: {}\n\n", serde_json::to_string(report).expect("reports serialise")))
}
