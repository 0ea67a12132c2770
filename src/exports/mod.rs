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
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashMap;

/// Responses read per page: large enough that the queries cost little per response, small enough that a page
/// is a few megabytes at most.
pub const PAGE: i64 = 1000;

/// Pages read ahead of the writer at most: enough that neither the readers nor the writer wait for long.
const AHEAD: usize = 2;

/// Threads reading pages at once, each on a connection of its own: reading (the query, and turning stored text
/// back into answers) costs about three times what writing does, so two readers keep one writer busy.
const READERS: usize = 2;

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
    /// long), handing each page to `write` in response order; stops at the first error either gives. Returns
    /// how many were read.
    ///
    /// Reading overlaps writing: one thread finds where each page ends (a cheap walk of the index) and hands
    /// the page to whichever of the `READERS` is free, queueing a slot for it in order; `write` takes the slots
    /// in that order, waiting for each page to be read. At most `AHEAD` slots wait, so memory stays bounded.
    pub fn each_page(&self, mut write: impl FnMut(&[Row]) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        // A page comes with the way back to its reader: written pages are freed by the thread that allocated
        // them, since freeing a million responses' strings on another thread made the threads queue on the
        // allocator's locks (a third of an export's time, in `perf`).
        type Page = anyhow::Result<(Vec<Row>, Sender<Vec<Row>>)>;
        std::thread::scope(|scope| {
            let (slots, in_order) = bounded::<Receiver<Page>>(AHEAD);
            let (jobs, work) = bounded::<(i64, i64, Sender<Page>)>(0);
            scope.spawn(move || {
                let mut after = 0;
                loop {
                    let end = self.page_end(after);
                    let (page, filled) = bounded(1);
                    // The writer has stopped (an error, or the client went away) when nobody receives.
                    if slots.send(filled).is_err() {
                        return;
                    }
                    match end {
                        Ok(Some(last)) => {
                            if jobs.send((after, last, page)).is_err() {
                                return;
                            }
                            after = last;
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = page.send(Err(e));
                            return;
                        }
                    }
                }
            });
            for _ in 0..READERS {
                let work = work.clone();
                scope.spawn(move || {
                    let (back, returned) = crossbeam_channel::unbounded::<Vec<Row>>();
                    for (after, last, page) in work {
                        returned.try_iter().for_each(drop);
                        let _ = page.send(self.page_between(after, last).map(|rows| (rows, back.clone())));
                    }
                });
            }
            drop(work);
            let mut count = 0;
            for slot in in_order {
                // A slot whose sender is gone without a page is the end (no responses after the last page).
                let Ok(page) = slot.recv() else { break };
                let (rows, back) = page?;
                write(&rows)?;
                count += rows.len() as u64;
                let _ = back.send(rows);
            }
            Ok(count)
        })
    }

    /// The id of the last response of the page that starts after response id `after` (none: no more).
    fn page_end(&self, after: i64) -> anyhow::Result<Option<i64>> {
        let mut conn = self.pool.get()?;
        Ok(response::page_end(&mut conn, self.consultation_id, after, PAGE)?)
    }

    /// The responses with ids after `after`, up to and including `last`, as rows.
    fn page_between(&self, after: i64, last: i64) -> anyhow::Result<Vec<Row>> {
        let mut conn = self.pool.get()?;
        let responses = response::between(&mut conn, self.consultation_id, after, last)?;
        let ids: Vec<i64> = responses.iter().map(|r| r.id).collect();
        let mut rows: Vec<Row> = responses
            .into_iter()
            .map(|r| Row {
                reference: r.reference,
                channel: r.channel,
                version: self.versions.get(&r.version_id).copied().unwrap_or_default(),
                submitted_at: crate::domain::definition::utc::format(r.submitted_at),
                answers: Vec::with_capacity(self.plan.questions()),
            })
            .collect();
        // Both come in response id order (the answers then by question key), so each answer's row is found
        // by walking forward, not by a lookup.
        let mut at = 0;
        response::each_answer_between(&mut conn, self.consultation_id, after, last, |a| -> anyhow::Result<()> {
            while at < ids.len() && ids[at] < a.response_id {
                at += 1;
            }
            let Some((question, kind)) = self.plan.question(&a.question_key) else { return Ok(()) };
            if ids.get(at) != Some(&a.response_id) {
                return Ok(());
            }
            let value = Value::from_stored_text(kind, a.value).ok_or_else(|| {
                anyhow::anyhow!("stored answer to {} of response {} cannot be read", a.question_key, a.response_id)
            })?;
            rows[at].answers.push((question, Answer { value, other: a.other_text }));
            Ok(())
        })?;
        Ok(rows)
    }
}
