//! The latest published results of a consultation as the public read them, for the API and the consultation
//! page alike.

use crate::domain::definition::utc;
use crate::models::consultation::Consultation;
use crate::models::snapshot;
use crate::results::published::{public, PublicationListed, PublishedResults, LICENCE};
use crate::web::error::AppError;
use crate::web::AppState;

/// The latest publication, suppressed; none before the results are published.
pub async fn latest(state: &AppState, c: &Consultation) -> Result<Option<PublishedResults>, AppError> {
    let id = c.id;
    let (latest, all) = state.db(move |conn| Ok((snapshot::latest(conn, id)?, snapshot::list(conn, id)?))).await?;
    let Some(latest) = latest else { return Ok(None) };
    let figures = latest.figures()?;
    Ok(Some(PublishedResults {
        consultation: c.slug.clone(),
        publication: latest.number,
        published_at: utc::format(latest.published_at),
        outcome: snapshot::decision(&latest.outcome).map(str::to_string),
        responses: latest.responses,
        questions: public(&figures),
        publications: all
            .iter()
            .map(|p| PublicationListed {
                publication: p.number,
                published_at: utc::format(p.published_at),
                outcome: snapshot::decision(&p.outcome).map(str::to_string),
            })
            .collect(),
        licence: LICENCE,
    }))
}
