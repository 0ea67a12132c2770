//! GET the live results, once or as a stream of server-sent events.

use super::Problem;
use crate::auth::Viewer;
use crate::models::totals;
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt as _;
use std::time::Duration;

pub async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (_, _, report) = state.report(&slug, Viewer::Public).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

/// How often a stream looks for new responses. A read of one row; it sees responses stored by any instance.
const POLL: Duration = Duration::from_millis(250);
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Sends the results as an event now and again whenever the number of responses changes.
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

fn event(report: &crate::results::report::Report) -> web::Bytes {
    web::Bytes::from(format!("event: results\ndata: {}\n\n", serde_json::to_string(report).expect("reports serialise")))
}
