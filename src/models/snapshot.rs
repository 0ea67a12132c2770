//! Published results snapshots: one row per publication of a consultation's results, numbered from 1 and
//! never changed, so that every republication is kept beside the earlier ones.

use crate::db::schema::{consultations, results_snapshots as snapshots};
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = snapshots)]
pub struct Snapshot {
    pub consultation_id: i64,
    pub number: i32,
    pub published_at: NaiveDateTime,
    pub published_by: Option<i64>,
    pub publisher: String,
    /// Empty while the council has not recorded what it did: see `decision`.
    pub outcome: String,
    pub responses: i64,
    /// `results::published::Figures` as JSON.
    pub figures: String,
}

/// What the council decided, as a snapshot stores it: the column is not nullable, so a publication made
/// before the decision was recorded holds an empty text, and this turns it back into none.
pub fn decision(stored: &str) -> Option<&str> {
    (!stored.is_empty()).then_some(stored)
}

impl Snapshot {
    pub fn figures(&self) -> QueryResult<crate::results::published::Figures> {
        serde_json::from_str(&self.figures)
            .map_err(|e| diesel::result::Error::DeserializationError(format!("stored results snapshot: {e}").into()))
    }
}

/// A publication as listed beside the latest: no figures.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub number: i32,
    pub published_at: NaiveDateTime,
    pub outcome: String,
}

/// Stores a new snapshot, numbered after the last, and marks the consultation's results published as of
/// `published_at` (the only place that column is set, so the stage follows from the snapshots). The caller
/// holds the write transaction. Returns its number.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut DbConnection,
    consultation_id: i64,
    published_at: NaiveDateTime,
    published_by: Option<i64>,
    publisher: &str,
    outcome: Option<&str>,
    responses: i64,
    figures: &crate::results::published::Figures,
) -> QueryResult<i32> {
    let number = snapshots::table
        .filter(snapshots::consultation_id.eq(consultation_id))
        .select(diesel::dsl::max(snapshots::number))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        + 1;
    diesel::insert_into(snapshots::table)
        .values((
            snapshots::consultation_id.eq(consultation_id),
            snapshots::number.eq(number),
            snapshots::published_at.eq(published_at),
            snapshots::published_by.eq(published_by),
            snapshots::publisher.eq(publisher),
            snapshots::outcome.eq(outcome.unwrap_or("")),
            snapshots::responses.eq(responses),
            snapshots::figures.eq(serde_json::to_string(figures).expect("figures serialise")),
        ))
        .execute(conn)?;
    diesel::update(consultations::table.find(consultation_id))
        .set((consultations::results_published_at.eq(Some(published_at)), consultations::updated_at.eq(published_at)))
        .execute(conn)?;
    Ok(number)
}

/// The latest snapshot of a consultation's results, if they have been published.
pub fn latest(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Option<Snapshot>> {
    snapshots::table
        .filter(snapshots::consultation_id.eq(consultation_id))
        .order(snapshots::number.desc())
        .select(Snapshot::as_select())
        .first(conn)
        .optional()
}

/// Every publication of a consultation's results, newest first.
pub fn list(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Vec<Listed>> {
    snapshots::table
        .filter(snapshots::consultation_id.eq(consultation_id))
        .order(snapshots::number.desc())
        .select((snapshots::number, snapshots::published_at, snapshots::outcome))
        .load(conn)
}
