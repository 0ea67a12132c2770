//! Response exports — CSV, Excel and JSON — written in constant memory: responses are read in keyset pages
//! (by id) and each page is written out before the next is read, so a million responses cost what a thousand
//! do. The writers take any `Write`; the web layer hands them one that passes chunks through a bounded
//! channel to the response body (see `web::exports`). Never exported: idempotency keys, fingerprints, or
//! anything personal kept apart from the answers (email addresses).

pub mod columns;
mod writers;

pub use columns::{neutralise, Plan};
pub use writers::{write_csv, write_json, write_xlsx, ExportedRow};

use crate::db::Pool;
use crate::domain::answers::{Answer, Answers, Value};
use crate::models::response;
use std::collections::HashMap;

/// Responses read per page: large enough that the queries cost little per response, small enough that a page
/// is a few megabytes at most.
pub const PAGE: i64 = 2000;

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
    pub answers: Answers,
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
    pub fn each_page(&self, mut write: impl FnMut(&[Row]) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        let (pool, consultation_id, plan, versions) = (self.pool, self.consultation_id, self.plan, self.versions);
        let mut after = 0;
        let mut written = 0;
        loop {
            let (responses, answers) = {
                let mut conn = pool.get()?;
                response::page_after(&mut conn, consultation_id, after, PAGE)?
            };
            let Some(last) = responses.last() else { return Ok(written) };
            after = last.id;
            let mut rows: Vec<Row> = Vec::with_capacity(responses.len());
            let mut index: HashMap<i64, usize> = HashMap::with_capacity(responses.len());
            for r in responses {
                index.insert(r.id, rows.len());
                rows.push(Row {
                    reference: r.reference,
                    channel: r.channel,
                    version: versions.get(&r.version_id).copied().unwrap_or_default(),
                    submitted_at: crate::domain::definition::utc::format(r.submitted_at),
                    answers: Answers::new(),
                });
            }
            for a in answers {
                let (Some(&i), Some(kind)) = (index.get(&a.response_id), plan.kind(&a.question_key)) else { continue };
                let value = Value::from_stored(kind, &a.value).ok_or_else(|| {
                    anyhow::anyhow!("stored answer to {} of response {} cannot be read", a.question_key, a.response_id)
                })?;
                rows[i].answers.insert(a.question_key, Answer { value, other: a.other_text });
            }
            write(&rows)?;
            written += rows.len() as u64;
        }
    }
}
