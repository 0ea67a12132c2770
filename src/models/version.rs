//! Questionnaire versions: a consultation's content (title, summary, background, sections, questions and
//! routing) kept whole as JSON. One draft at a time is edited; publishing freezes it, and responses record the
//! version they answered.

use crate::db::schema::{consultations, questionnaire_versions as versions};
use crate::db::DbConnection;
use crate::domain::questionnaire::{Content, Questionnaire};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = versions)]
pub struct Version {
    pub id: i64,
    pub consultation_id: i64,
    pub number: i32,
    pub title: String,
    pub summary: String,
    pub content: String,
    pub revision: i32,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Version {
    /// The content. Stored content that cannot be read is corruption, reported as a database error.
    pub fn content(&self) -> QueryResult<Content> {
        parse(&self.content)
    }

    pub fn is_draft(&self) -> bool {
        self.published_at.is_none()
    }
}

fn parse(json: &str) -> QueryResult<Content> {
    serde_json::from_str(json)
        .map_err(|e| diesel::result::Error::DeserializationError(format!("stored questionnaire content: {e}").into()))
}

fn to_json(content: &Content) -> String {
    serde_json::to_string(content).expect("content serialises")
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Version> {
    versions::table.find(id).select(Version::as_select()).first(conn)
}

/// A version's number and content, read whole.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: i64,
    pub number: i32,
    pub content: Content,
    pub published: bool,
}

/// Loads a version. Published ones never change, so callers may cache them by id.
pub fn load(conn: &mut DbConnection, id: i64) -> QueryResult<Loaded> {
    let v = find(conn, id)?;
    Ok(Loaded { id: v.id, number: v.number, content: v.content()?, published: !v.is_draft() })
}

/// The draft being edited, if there is one.
pub fn draft(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Option<Version>> {
    versions::table
        .filter(versions::consultation_id.eq(consultation_id).and(versions::published_at.is_null()))
        .select(Version::as_select())
        .first(conn)
        .optional()
}

/// Every published version, oldest first.
pub fn published(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Vec<Version>> {
    versions::table
        .filter(versions::consultation_id.eq(consultation_id).and(versions::published_at.is_not_null()))
        .order(versions::number)
        .select(Version::as_select())
        .load(conn)
}

/// The ids of the published versions, oldest first.
pub fn published_ids(conn: &mut DbConnection, consultation_id: i64) -> QueryResult<Vec<i64>> {
    versions::table
        .filter(versions::consultation_id.eq(consultation_id).and(versions::published_at.is_not_null()))
        .order(versions::number)
        .select(versions::id)
        .load(conn)
}

/// Every published version's questionnaire with its id and number, oldest first.
pub fn published_questionnaires(
    conn: &mut DbConnection,
    consultation_id: i64,
) -> QueryResult<Vec<(i64, i32, Questionnaire)>> {
    published(conn, consultation_id)?.into_iter().map(|v| Ok((v.id, v.number, v.content()?.questionnaire))).collect()
}

/// Starts a draft holding `content`, numbered after every version so far. The caller holds the transaction
/// and has checked there is no draft already (the unique index would refuse a second).
pub fn create_draft(conn: &mut DbConnection, consultation_id: i64, content: &Content) -> QueryResult<Version> {
    let now = super::now();
    let number: i32 = versions::table
        .filter(versions::consultation_id.eq(consultation_id))
        .select(diesel::dsl::max(versions::number))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        + 1;
    diesel::insert_into(versions::table)
        .values((
            versions::consultation_id.eq(consultation_id),
            versions::number.eq(number),
            versions::title.eq(content.title.as_str()),
            versions::summary.eq(content.summary.as_str()),
            versions::content.eq(to_json(content)),
            versions::revision.eq(1),
            versions::created_at.eq(now),
            versions::updated_at.eq(now),
        ))
        .returning(versions::all_columns)
        .get_result(conn)
}

/// Another officer saved the draft since this edit began.
#[derive(Debug, thiserror::Error)]
#[error("the draft was changed by someone else")]
pub struct Conflict;

/// Replaces a draft's content if it is still at `revision`; returns the new revision. The caller holds the
/// transaction.
pub fn save_draft(
    conn: &mut DbConnection,
    draft_id: i64,
    revision: i32,
    content: &Content,
) -> QueryResult<Result<i32, Conflict>> {
    let updated =
        diesel::update(versions::table.filter(
            versions::id.eq(draft_id).and(versions::revision.eq(revision)).and(versions::published_at.is_null()),
        ))
        .set((
            versions::title.eq(content.title.as_str()),
            versions::summary.eq(content.summary.as_str()),
            versions::content.eq(to_json(content)),
            versions::revision.eq(revision + 1),
            versions::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(if updated == 1 { Ok(revision + 1) } else { Err(Conflict) })
}

/// Discards a draft (of a consultation that has a live version).
pub fn delete_draft(conn: &mut DbConnection, draft_id: i64) -> QueryResult<()> {
    diesel::delete(versions::table.filter(versions::id.eq(draft_id).and(versions::published_at.is_null())))
        .execute(conn)
        .map(drop)
}

/// Freezes the draft as the consultation's live version. The caller has checked the content and holds the
/// write transaction.
pub fn publish(conn: &mut DbConnection, consultation_id: i64, draft: &Version) -> QueryResult<()> {
    let now = super::now();
    diesel::update(versions::table.find(draft.id))
        .set((versions::published_at.eq(Some(now)), versions::updated_at.eq(now)))
        .execute(conn)?;
    diesel::update(consultations::table.find(consultation_id))
        .set((consultations::live_version_id.eq(draft.id), consultations::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Creates a version and publishes it at once (the demo and imports of published consultations).
pub fn publish_content(conn: &mut DbConnection, consultation_id: i64, content: &Content) -> QueryResult<i64> {
    let draft = create_draft(conn, consultation_id, content)?;
    publish(conn, consultation_id, &draft)?;
    Ok(draft.id)
}
