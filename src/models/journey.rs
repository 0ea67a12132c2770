//! A resident's journey through a questionnaire: answers in progress, kept server-side under the random token
//! in their cookie, so a refresh or a browser restart loses nothing.

use crate::db::schema::journeys;
use crate::db::DbConnection;
use crate::domain::journey::Progress;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = journeys)]
pub struct Journey {
    pub consultation_id: i64,
    pub token: String,
    pub version_id: i64,
    pub answers: String,
    pub reference: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Where the consultation takes one response per person: the keyed hash of the confirmed address the
    /// journey answers for (see `auth::secret::address_hash`).
    pub respondent: Option<String>,
}

impl Journey {
    /// The progress so far (kept in the `answers` column). Progress that cannot be read starts again rather
    /// than failing.
    pub fn progress(&self) -> Progress {
        serde_json::from_str(&self.answers).unwrap_or_default()
    }
}

#[derive(Insertable)]
#[diesel(table_name = journeys)]
pub struct NewJourney<'a> {
    pub consultation_id: i64,
    pub token: &'a str,
    pub version_id: i64,
    pub answers: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The keyed hash of the confirmed address it answers for, where each person responds once.
    pub respondent: Option<&'a str>,
}

/// The live (unexpired) journey under a token for a consultation.
pub fn find(
    conn: &mut DbConnection,
    token: &str,
    consultation_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<Journey>> {
    journeys::table
        .find((consultation_id, token))
        .filter(journeys::expires_at.gt(now))
        .select(Journey::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, new: &NewJourney) -> QueryResult<()> {
    diesel::insert_into(journeys::table).values(new).execute(conn).map(drop)
}

/// The progress in the `answers` column.
pub fn progress_json(progress: &Progress) -> String {
    serde_json::to_string(progress).expect("progress serialises")
}

/// Saves a journey's progress (`progress_json`), kept until `expires_at` or longer: a return link sent
/// meanwhile may have promised a later expiry, which a page saved in the same moment must not cut short.
pub fn save_progress(
    conn: &mut DbConnection,
    consultation_id: i64,
    token: &str,
    answers: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(journeys::table.find((consultation_id, token)))
        .set((
            journeys::answers.eq(answers),
            journeys::updated_at.eq(now),
            journeys::expires_at
                .eq(diesel::dsl::case_when(journeys::expires_at.gt(expires_at), journeys::expires_at)
                    .otherwise(expires_at)),
        ))
        .execute(conn)
        .map(drop)
}

/// Marks the journey submitted. Its answers are cleared: they now live in the response.
pub fn mark_submitted(
    conn: &mut DbConnection,
    consultation_id: i64,
    token: &str,
    reference: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(journeys::table.find((consultation_id, token)))
        .set((journeys::reference.eq(reference), journeys::answers.eq("{}"), journeys::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Removes expired journeys.
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(journeys::table.filter(journeys::expires_at.le(now))).execute(conn)
}
