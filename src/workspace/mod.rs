//! What officers do to consultations — create, edit the draft, publish, schedule, close, archive, duplicate,
//! import and export, publish results — each as one transaction that writes its audit record beside the change. The officers'
//! pages and the officer API both call these, so a rule is kept the same way whichever an officer uses.
//! Who may act on which consultation is decided before (see `web::routes` and `Identity::works_for`).

mod drafts;
pub mod headlines;
mod lifecycle;
mod results;

pub use drafts::*;
pub use lifecycle::*;
pub use results::*;

use crate::db::DbConnection;
use crate::models::audit::{self, Actor, Entry};
use crate::models::consultation::Consultation;

/// Why an officer's action was not done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What is wrong, each in words (for the GOV.UK error summary and problem+json alike).
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// Someone else changed the draft since the officer loaded it.
    #[error("the draft was changed by someone else since you opened it")]
    Conflict,
    #[error("the web address name ‘{0}’ is already used by another consultation")]
    SlugTaken(String),
    /// Results are published once a consultation has closed.
    #[error("the consultation has not closed: its results can be published once it has")]
    NotClosed,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(vec![message.into()])
    }
}

impl From<crate::domain::builder::Refused> for Error {
    fn from(r: crate::domain::builder::Refused) -> Error {
        Error::Invalid(vec![r.0])
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Records an action on a consultation.
fn audit(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    action: &str,
    detail: serde_json::Value,
) -> diesel::QueryResult<()> {
    audit::record(
        conn,
        actor,
        Entry {
            action,
            object_type: "consultation",
            object_id: c.slug.clone(),
            organisation_id: Some(c.organisation_id),
            consultation_id: Some(c.id),
            detail,
        },
    )
}

/// Records that an officer keyed in a response on a resident's behalf (after the writer stored it: the
/// response is stored by the group-commit writer, in a transaction of its own).
pub fn record_keyed_response(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    reference: &str,
    channel: &str,
) -> Result<()> {
    audit(conn, actor, c, "response.enter", serde_json::json!({ "reference": reference, "channel": channel }))?;
    Ok(())
}

/// Records that `actor` downloaded a consultation's responses, in which format and how many there were.
pub fn record_responses_export(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    format: &str,
    responses: i64,
) -> Result<()> {
    audit(conn, actor, c, "responses.export", serde_json::json!({ "format": format, "responses": responses }))?;
    Ok(())
}
