//! Response downloads over HTTP, for the API and the officers' pages alike: the export is recorded in the audit
//! log, then written on the blocking pool into a bounded channel whose chunks are the response body, so the
//! server holds a few chunks at a time whatever the number of responses. CSV and JSON start at once (chunked);
//! the workbook is made in a temporary file first, then sent with its Content-Length so that the browser shows
//! progress. Who may download was checked before (the route's rule and `consultation_for`).

use crate::exports::{self, Format, Plan};
use crate::models::consultation::Consultation;
use crate::models::{response, version};
use crate::web::error::AppError;
use crate::web::AppState;
use crate::workspace;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use tokio::sync::mpsc;

/// Chunks in flight between the writer and the connection: with `CHUNK`, at most about two megabytes. Large
/// chunks keep the cost of passing each one on (the channel, a write to the socket) small per byte.
const IN_FLIGHT: usize = 8;
const CHUNK: usize = 256 * 1024;

/// What an export holds, known before it is written.
pub struct Summary {
    pub responses: i64,
    pub columns: usize,
}

/// The responses and columns an export of `c` would have now.
pub async fn summary(state: &AppState, c: &Consultation) -> Result<Summary, AppError> {
    let id = c.id;
    let (responses, plan) = state.db(move |conn| Ok((response::count(conn, id)?, plan(conn, id)?.0))).await?;
    Ok(Summary { responses, columns: exports::columns::FIXED.len() + plan.columns.len() })
}

fn plan(conn: &mut crate::db::DbConnection, id: i64) -> Result<(Plan, HashMap<i64, i32>), AppError> {
    let published = version::published_questionnaires(conn, id)?;
    let questionnaires: Vec<&crate::domain::questionnaire::Questionnaire> =
        published.iter().map(|(_, _, q)| q).collect();
    let versions = published.iter().map(|(id, number, _)| (*id, *number)).collect();
    Ok((Plan::new(&questionnaires), versions))
}

/// Records the export and answers with the file, streamed.
pub async fn download(
    state: &AppState,
    actor: crate::models::audit::Actor,
    c: Consultation,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let id = c.id;
    let slug = c.slug.clone();
    let (plan, versions, count) = state
        .db(move |conn| {
            let (plan, versions) = plan(conn, id)?;
            let count = response::count(conn, id)?;
            workspace::record_responses_export(conn, &actor, &c, format.as_str(), count)?;
            Ok((plan, versions, count))
        })
        .await?;
    let pool = state.pool.clone();
    let (sender, receiver) = mpsc::channel::<Result<web::Bytes, std::io::Error>>(IN_FLIGHT);
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.media_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{slug}-responses.{}\"", format.as_str()),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Response-Count", count.to_string()));
    if format == Format::Xlsx {
        // The workbook is complete only at the end: made in an unnamed temporary file, then sent from it.
        let mut file = web::block(move || -> anyhow::Result<std::fs::File> {
            let mut file = tempfile::tempfile()?;
            let source = exports::Source { pool: &pool, consultation_id: id, plan: &plan, versions: &versions };
            exports::write_xlsx(std::io::BufWriter::new(&mut file), &source)?;
            file.rewind()?;
            Ok(file)
        })
        .await?
        .map_err(AppError::Internal)?;
        let length = file.metadata().map_err(|e| AppError::Internal(e.into()))?.len();
        tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0; CHUNK];
            loop {
                match file.read(&mut buffer) {
                    Ok(0) => return,
                    Ok(n) => {
                        if sender.blocking_send(Ok(web::Bytes::copy_from_slice(&buffer[..n]))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = sender.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        return Ok(response.body(actix_web::body::SizedStream::new(length, body(receiver))));
    }
    tokio::task::spawn_blocking(move || {
        let out = ChannelWriter { sender: sender.clone(), buffer: Vec::with_capacity(CHUNK) };
        let source = exports::Source { pool: &pool, consultation_id: id, plan: &plan, versions: &versions };
        let written = match format {
            Format::Json => exports::write_json(out, &source),
            _ => exports::write_csv(out, &source),
        };
        if let Err(e) = written {
            // A client that went away is no failure of ours; anything else is, and cuts the download short
            // so that it cannot be mistaken for a whole file.
            if !sender.is_closed() {
                tracing::error!(error = format!("{e:#}"), consultation = id, "an export failed");
                let _ = sender.blocking_send(Err(std::io::Error::other("the export failed")));
            }
        }
    });
    Ok(response.streaming(body(receiver)))
}

fn body(
    receiver: mpsc::Receiver<Result<web::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> {
    futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|chunk| (chunk, r)) })
}

/// Sends what is written as chunks of `CHUNK` bytes, waiting while the channel is full: the writer goes no
/// faster than the client reads. Fails once the client has gone.
struct ChannelWriter {
    sender: mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = web::Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
