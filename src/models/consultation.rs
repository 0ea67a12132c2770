//! Consultations: their lifecycle columns, and the lists the hub and the officers' workspace show.

use crate::auth::{Role, Viewer, Visibility};
use crate::db::schema::{consultations, journeys, questionnaire_versions as versions};
use crate::db::DbConnection;
use crate::domain::phase::{Phase, Stage};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = consultations)]
pub struct Consultation {
    pub id: i64,
    pub organisation_id: i64,
    pub slug: String,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: String,
    pub live_version_id: Option<i64>,
    pub outcome: Option<String>,
    pub results_published_at: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The questions the results dashboard leads with, as a JSON array of keys; none until officers choose.
    pub headline_questions: Option<String>,
    /// Whether each person may respond once, confirming an email address before answering.
    pub one_response_per_person: bool,
    /// Days after closing that the email addresses held for this consultation are erased.
    pub retention_days: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = consultations)]
pub struct NewConsultation<'a> {
    pub organisation_id: i64,
    pub slug: &'a str,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: &'a str,
    pub outcome: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Consultation {
    pub fn phase(&self, now: NaiveDateTime) -> Phase {
        Phase::of(self.live_version_id.is_some(), self.opens_at, self.closes_at, now)
    }

    pub fn stage(&self, now: NaiveDateTime) -> Stage {
        Stage::of(self.phase(now), self.results_published_at.is_some(), self.archived_at.is_some())
    }

    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.results_visibility)
    }

    /// Whether `viewer` may see the results (see `Visibility::allows`).
    pub fn results_visible_to(&self, viewer: crate::auth::Viewer) -> bool {
        self.visibility().allows(viewer, self.results_published_at.is_some())
    }

    /// Who an account (its role and organisation; none for anonymous callers) is to this consultation's
    /// results policy: staff of the consultation's own organisation (admins of every one) with their role,
    /// and anyone else one of the public.
    pub fn viewer(&self, account: Option<(Role, Option<i64>)>) -> Viewer {
        match account {
            Some((role, organisation)) if role == Role::Admin || organisation == Some(self.organisation_id) => {
                Viewer::Staff(role)
            }
            _ => Viewer::Public,
        }
    }

    /// The question keys officers chose as the dashboard's headlines; none when they have not chosen.
    pub fn headlines(&self) -> Option<Vec<String>> {
        self.headline_questions.as_deref().and_then(|s| serde_json::from_str(s).ok())
    }
}

/// Stores the dashboard's headline questions.
pub fn set_headlines(conn: &mut DbConnection, id: i64, keys: &[String]) -> QueryResult<()> {
    let json = serde_json::to_string(keys).expect("keys serialise");
    diesel::update(consultations::table.find(id))
        .set((consultations::headline_questions.eq(Some(json)), consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

/// The consultation with this slug. Something that cannot be a slug (from an address: it may hold anything,
/// NUL included, which PostgreSQL refuses in text) names none and is not looked up.
pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Consultation>> {
    if crate::domain::definition::check_slug(slug).is_err() {
        return Ok(None);
    }
    consultations::table.filter(consultations::slug.eq(slug)).select(Consultation::as_select()).first(conn).optional()
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Consultation> {
    consultations::table.find(id).select(Consultation::as_select()).first(conn)
}

/// The title residents see: the live version's, or the slug before there is one.
pub fn title(conn: &mut DbConnection, c: &Consultation) -> QueryResult<String> {
    match c.live_version_id {
        Some(live) => Ok(super::version::find(conn, live)?.title),
        None => Ok(c.slug.clone()),
    }
}

/// A consultation in a list, with the title and summary of the version the list shows.
#[derive(Debug, Clone)]
pub struct Listed {
    pub consultation: Consultation,
    pub title: String,
    pub summary: String,
}

/// Every consultation residents may see — published and not archived — soonest closing first, with its live
/// title; `search` matches the title or summary, case-insensitively on both backends.
pub fn list_public(conn: &mut DbConnection, search: Option<&str>) -> QueryResult<Vec<Listed>> {
    let mut query = consultations::table
        .inner_join(versions::table.on(consultations::live_version_id.eq(versions::id.nullable())))
        .filter(consultations::archived_at.is_null())
        .select((Consultation::as_select(), versions::title, versions::summary))
        .into_boxed();
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        query = query.filter(
            lower(versions::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(versions::summary).like(pattern).escape('\\')),
        );
    }
    let rows: Vec<(Consultation, String, String)> =
        query.order((consultations::closes_at.asc(), consultations::id.asc())).load(conn)?;
    Ok(rows.into_iter().map(|(consultation, title, summary)| Listed { consultation, title, summary }).collect())
}

/// Every consultation of an organisation (of every organisation for `None`), newest first, with the title of
/// its draft if it has one, else of its live version.
pub fn list_for_officers(conn: &mut DbConnection, organisation_id: Option<i64>) -> QueryResult<Vec<Listed>> {
    let mut query = consultations::table.select(Consultation::as_select()).into_boxed();
    if let Some(org) = organisation_id {
        query = query.filter(consultations::organisation_id.eq(org));
    }
    let found: Vec<Consultation> = query.order(consultations::id.desc()).load(conn)?;
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    // The newest version of each is its draft if there is one (drafts are numbered after every version).
    let titles: Vec<(i64, i32, String, String)> = versions::table
        .filter(versions::consultation_id.eq_any(&ids))
        .select((versions::consultation_id, versions::number, versions::title, versions::summary))
        .load(conn)?;
    Ok(found
        .into_iter()
        .map(|c| {
            let (title, summary) = titles
                .iter()
                .filter(|t| t.0 == c.id)
                .max_by_key(|t| t.1)
                .map(|t| (t.2.clone(), t.3.clone()))
                .unwrap_or_default();
            Listed { consultation: c, title, summary }
        })
        .collect())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub fn insert(conn: &mut DbConnection, new: &NewConsultation) -> QueryResult<i64> {
    diesel::insert_into(consultations::table).values(new).returning(consultations::id).get_result(conn)
}

/// `base`, or `base-2`, `base-3`… — the first slug no consultation has (for a slug made from a title).
pub fn free_slug(conn: &mut DbConnection, base: &str) -> QueryResult<String> {
    if !slug_taken(conn, base)? {
        return Ok(base.to_string());
    }
    for n in 2.. {
        let candidate = format!("{base}-{n}");
        if !slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("some suffix is free")
}

/// Whether a slug is taken by any consultation.
pub fn slug_taken(conn: &mut DbConnection, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(consultations::table.filter(consultations::slug.eq(slug)))).get_result(conn)
}

/// The lifecycle settings an officer changes directly (not versioned): times and results policy.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = consultations, treat_none_as_null = true)]
pub struct Schedule {
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: String,
}

pub fn set_schedule(conn: &mut DbConnection, id: i64, schedule: &Schedule) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set((schedule, consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

/// The rules for the email addresses a consultation takes (see `Consultation`'s fields of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = consultations)]
pub struct EmailRules {
    pub one_response_per_person: bool,
    pub retention_days: i32,
}

impl Consultation {
    pub fn email_rules(&self) -> EmailRules {
        EmailRules { one_response_per_person: self.one_response_per_person, retention_days: self.retention_days }
    }
}

pub fn set_email_rules(conn: &mut DbConnection, id: i64, rules: &EmailRules) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set((rules, consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

pub fn set_archived(conn: &mut DbConnection, id: i64, at: Option<NaiveDateTime>) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set((consultations::archived_at.eq(at), consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

pub fn set_outcome(conn: &mut DbConnection, id: i64, outcome: Option<&str>) -> QueryResult<()> {
    diesel::update(consultations::table.find(id))
        .set((consultations::outcome.eq(outcome), consultations::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

/// Deletes a consultation that was never published, with its draft (it has no responses or totals).
pub fn delete_unpublished(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(journeys::table.filter(journeys::consultation_id.eq(id))).execute(conn)?;
    diesel::delete(versions::table.filter(versions::consultation_id.eq(id))).execute(conn)?;
    diesel::delete(consultations::table.filter(consultations::id.eq(id).and(consultations::live_version_id.is_null())))
        .execute(conn)
        .map(drop)
}
