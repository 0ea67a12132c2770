//! Consultations: what the hub lists and what a consultation page shows.

use crate::db::schema::consultations;
use crate::db::DbConnection;
use crate::domain::phase::{Phase, Status};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = consultations)]
pub struct Consultation {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub status: String,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: String,
    pub current_version_id: Option<i64>,
    pub outcome: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = consultations)]
pub struct NewConsultation<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub status: &'a str,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: &'a str,
    pub outcome: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Consultation {
    pub fn phase(&self, now: NaiveDateTime) -> Phase {
        let status = Status::parse(&self.status).unwrap_or(Status::Draft);
        Phase::of(status, self.opens_at, self.closes_at, now)
    }
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Consultation>> {
    consultations::table.filter(consultations::slug.eq(slug)).first(conn).optional()
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Consultation> {
    consultations::table.find(id).first(conn)
}

/// Every consultation residents may see (all but drafts), soonest closing first; `search` matches title or
/// summary, case-insensitively on both backends.
pub fn list_public(conn: &mut DbConnection, search: Option<&str>) -> QueryResult<Vec<Consultation>> {
    let mut query = consultations::table.filter(consultations::status.ne("draft")).into_boxed();
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        query = query.filter(
            lower(consultations::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(consultations::summary).like(pattern).escape('\\')),
        );
    }
    query.order((consultations::closes_at.asc(), consultations::id.asc())).load(conn)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub fn insert(conn: &mut DbConnection, new: &NewConsultation) -> QueryResult<i64> {
    diesel::insert_into(consultations::table).values(new).returning(consultations::id).get_result(conn)
}

pub fn set_current_version(conn: &mut DbConnection, id: i64, version_id: i64) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set((consultations::current_version_id.eq(version_id), consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}
