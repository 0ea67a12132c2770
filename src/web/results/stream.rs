//! Live results as server-sent events, fed by this instance's change notifier (`live::Notifier`): a stream
//! subscribes to it, sends its first event at once and another each time a response to its consultation is
//! committed (by this instance, or by another through PostgreSQL's NOTIFY) — no stream polls the database.
//! Each stream takes a place under the per-address and per-instance caps (`limits`); a client refused one is
//! told when to try again.

use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The least time between two events of one stream: a burst of commits makes one update, well inside the
/// second a dashboard has to show a response in.
const MIN_GAP: Duration = Duration::from_millis(250);
/// How long a browser whose stream dropped waits before reconnecting (the `retry` field), in milliseconds.
const RECONNECT_MS: u64 = 3000;

/// One server-sent event named `name` whose data is `data` (one `data:` line per line of it).
pub fn event(name: &str, data: &str) -> web::Bytes {
    let mut out = format!("event: {name}\n");
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out.push('\n');
    web::Bytes::from(out)
}

/// Opens an event stream of consultation `consultation_id`'s results: `render` makes each event (none to
/// send nothing this time). Refused with the seconds to wait when the caller has too many streams open, or
/// this instance does.
pub fn open<F, Fut>(
    state: &web::Data<AppState>,
    request: &HttpRequest,
    consultation_id: i64,
    render: F,
) -> Result<HttpResponse, u64>
where
    F: FnMut() -> Fut + 'static,
    Fut: Future<Output = Option<web::Bytes>> + 'static,
{
    let address = crate::web::client_address(request, &state.settings);
    let permit = state.limits.stream(address)?;
    // Subscribed before the first event is made, so nothing committed in between is missed.
    let changes = state.notifier.subscribe();
    let live =
        Live { changes, render, consultation_id, _permit: permit, first: true, sent: tokio::time::Instant::now() };
    let body = futures_util::stream::unfold(live, |mut live| async move {
        let bytes = live.next().await?;
        Some((Ok::<_, actix_web::Error>(bytes), live))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

struct Live<F> {
    changes: tokio::sync::broadcast::Receiver<i64>,
    render: F,
    consultation_id: i64,
    /// Holds the stream's place under the caps until the stream ends.
    _permit: crate::web::limits::StreamPermit,
    first: bool,
    sent: tokio::time::Instant,
}

impl<F, Fut> Live<F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<web::Bytes>>,
{
    /// What to send next; none when the application is stopping.
    async fn next(&mut self) -> Option<web::Bytes> {
        if self.first {
            self.first = false;
            self.sent = tokio::time::Instant::now();
            let mut out = format!("retry: {RECONNECT_MS}\n\n").into_bytes();
            out.extend_from_slice(&(self.render)().await.unwrap_or_default());
            return Some(web::Bytes::from(out));
        }
        loop {
            match tokio::time::timeout(KEEP_ALIVE, self.changes.recv()).await {
                Err(_) => return Some(web::Bytes::from_static(b": keep-alive\n\n")),
                Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(id)) if id != self.consultation_id => continue,
                // Ours, or so many changes that some were missed: either way, send the latest figures.
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {
                    tokio::time::sleep_until(self.sent + MIN_GAP).await;
                    // Whatever arrived meanwhile is in the figures about to be read.
                    while !matches!(self.changes.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
                    if let Some(bytes) = (self.render)().await {
                        self.sent = tokio::time::Instant::now();
                        return Some(bytes);
                    }
                }
            }
        }
    }
}
