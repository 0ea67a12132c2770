//! Response exports — CSV, Excel and JSON — written in constant memory: responses are read in keyset pages
//! (by id), one thread reading the next page while another writes the last, with at most two pages waiting
//! between them, so a million responses cost what a thousand do. The writers take any `Write`; the web layer
//! hands them one that passes chunks through a bounded channel to the response body (see `web::exports`).
//! Never exported: idempotency keys, fingerprints, or anything personal kept apart from the answers (email
//! addresses).

pub mod columns;
mod writers;

pub use columns::{neutralise, Plan};
pub use writers::{write_csv, write_json, write_xlsx, ExportedRow};

use crate::db::Pool;
use crate::domain::answers::{Answer, Value};
use crate::models::response;
use std::collections::HashMap;

/// Responses read per page: large enough that the queries cost little per response, small enough that a page
/// is a few megabytes at most.
pub const PAGE: i64 = 2000;

/// Pages read ahead of the writer at most: enough that neither thread waits for the other for long.
const AHEAD: usize = 2;

/// An export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Csv, Format::Xlsx, Format::Json];

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX,
            Format::Json => "application/json",
        }
    }
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One response as the writers see it.
pub struct Row {
    pub reference: String,
    pub channel: String,
    /// The number of the questionnaire version it answered.
    pub version: i32,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    /// Its answers in question-key order, each with the number the plan gives its question (`Plan::question`).
    pub answers: Vec<(usize, Answer)>,
}

/// Where an export reads from: a consultation's responses, through the plan of its columns.
pub struct Source<'a> {
    pub pool: &'a Pool,
    pub consultation_id: i64,
    pub plan: &'a Plan,
    /// The number of each published version, by id.
    pub versions: &'a HashMap<i64, i32>,
}

impl Source<'_> {
    /// Reads every response, a page at a time and a connection per page (so an export never holds one for
    /// long), handing each page to `write`; stops at the first error either gives. Returns how many were read.
    /// The pages are read on a thread of their own while `write` writes the one before: reading (the query,
    /// and turning stored text back into answers) and writing cost about the same, so an export takes about
    /// the time of one of them instead of both.
    pub fn each_page(&self, mut write: impl FnMut(&[Row]) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        std::thread::scope(|scope| {
            let (pages, read) = crossbeam_channel::bounded::<anyhow::Result<Vec<Row>>>(AHEAD);
            scope.spawn(move || {
                let mut after = 0;
                loop {
                    let page = self.page_after(after);
                    let last = match &page {
                        Ok((_, None)) => return,
                        Ok((_, Some(last))) => Some(*last),
                        Err(_) => None,
                    };
                    // The writer has stopped (an error, or the client went away) when nobody receives.
                    if pages.send(page.map(|(rows, _)| rows)).is_err() {
                        return;
                    }
                    match last {
                        Some(last) => after = last,
                        None => return,
                    }
                }
            });
            let mut written = 0;
            for page in read {
                let rows = page?;
                write(&rows)?;
                written += rows.len() as u64;
            }
            Ok(written)
        })
    }

    /// The responses after response id `after`, as rows, and the id of the last (none when there are none).
    fn page_after(&self, after: i64) -> anyhow::Result<(Vec<Row>, Option<i64>)> {
        let (responses, answers) = {
            let mut conn = self.pool.get()?;
            response::page_after(&mut conn, self.consultation_id, after, PAGE)?
        };
        let last = responses.last().map(|r| r.id);
        let ids: Vec<i64> = responses.iter().map(|r| r.id).collect();
        let mut rows: Vec<Row> = responses
            .into_iter()
            .map(|r| Row {
                reference: r.reference,
                channel: r.channel,
                version: self.versions.get(&r.version_id).copied().unwrap_or_default(),
                submitted_at: crate::domain::definition::utc::format(r.submitted_at),
                answers: Vec::new(),
            })
            .collect();
        // Both come in response id order (the answers then by question key), so each answer's row is found
        // by walking forward, not by a lookup.
        let mut at = 0;
        for a in answers {
            while at < ids.len() && ids[at] < a.response_id {
                at += 1;
            }
            let Some((question, kind)) = self.plan.question(&a.question_key) else { continue };
            if ids.get(at) != Some(&a.response_id) {
                continue;
            }
            let value = Value::from_stored_text(kind, a.value).ok_or_else(|| {
                anyhow::anyhow!("stored answer to {} of response {} cannot be read", a.question_key, a.response_id)
            })?;
            rows[at].answers.push((question, Answer { value, other: a.other_text }));
        }
        Ok((rows, last))
    }
}
