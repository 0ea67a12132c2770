//! Making consultations and editing their drafts: create, import, export, duplicate, edit and replace. A
//! consultation has at most one draft; editing one that is published starts a draft from its live version,
//! and the live version is unchanged until the draft is published.

use super::{audit, Error, Result};
use crate::db::{self, DbConnection};
use crate::domain::definition::{self, Definition};
use crate::domain::questionnaire::Content;
use crate::models::audit::Actor;
use crate::models::consultation::{self, Consultation, NewConsultation};
use crate::models::now;
use crate::models::version::{self, Version};

/// Creates a consultation from a definition, as a draft of `organisation_id`. `action` names it in the audit
/// log (`consultation.create`, `consultation.import`, `consultation.duplicate`).
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    organisation_id: i64,
    def: &Definition,
    action: &str,
) -> Result<Consultation> {
    def.check().map_err(Error::Invalid)?;
    db::write(conn, |conn| {
        if consultation::slug_taken(conn, &def.slug)? {
            return Err(Error::SlugTaken(def.slug.clone()));
        }
        let at = now();
        let id = consultation::insert(
            conn,
            &NewConsultation {
                organisation_id,
                slug: &def.slug,
                opens_at: def.opens_at,
                closes_at: def.closes_at,
                results_visibility: &def.results_visibility,
                outcome: None,
                created_at: at,
                updated_at: at,
            },
        )
        .map_err(|e| if db::is_unique_violation(&e) { Error::SlugTaken(def.slug.clone()) } else { e.into() })?;
        version::create_draft(conn, id, &def.content)?;
        let c = consultation::find(conn, id)?;
        audit(conn, actor, &c, action, serde_json::json!({ "title": def.content.title.as_str() }))?;
        Ok(c)
    })
}

/// Reads a definition file and creates its consultation as a draft; every problem named.
pub fn import(conn: &mut DbConnection, actor: &Actor, organisation_id: i64, json: &[u8]) -> Result<Consultation> {
    let def = definition::parse(json).map_err(Error::Invalid)?;
    create(conn, actor, organisation_id, &def, "consultation.import")
}

/// The version officers work on: the draft if there is one, else the live version.
pub fn latest(conn: &mut DbConnection, c: &Consultation) -> Result<Version> {
    if let Some(draft) = version::draft(conn, c.id)? {
        return Ok(draft);
    }
    let live = c.live_version_id.ok_or(diesel::result::Error::NotFound)?;
    Ok(version::find(conn, live)?)
}

/// The consultation's definition: its slug, times and policy with its latest content.
pub fn definition_of(c: &Consultation, latest: &Version) -> Result<Definition> {
    Ok(Definition {
        slug: c.slug.clone(),
        opens_at: c.opens_at,
        closes_at: c.closes_at,
        results_visibility: c.results_visibility.clone(),
        content: latest.content()?,
    })
}

/// The definition to download, recorded as an export.
pub fn export(conn: &mut DbConnection, actor: &Actor, c: &Consultation) -> Result<Definition> {
    db::write(conn, |conn| {
        let def = definition_of(c, &latest(conn, c)?)?;
        audit(conn, actor, c, "consultation.export", serde_json::json!({}))?;
        Ok(def)
    })
}

/// A new draft consultation with the same content, under a new slug and title, with no times set.
pub fn duplicate(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    slug: &str,
    title: &str,
) -> Result<Consultation> {
    let mut def = definition_of(c, &latest(conn, c)?)?;
    def.slug = slug.to_string();
    def.content.title = title.into();
    def.opens_at = None;
    def.closes_at = None;
    create(conn, actor, c.organisation_id, &def, "consultation.duplicate")
}

/// The revision an edit form was made from: the draft's, or 0 when the form showed the live version and no
/// draft existed.
pub fn revision_of(latest: &Version) -> i32 {
    if latest.is_draft() {
        latest.revision
    } else {
        0
    }
}

/// Applies `change` to the draft, starting a draft from the live version if there is none, provided the
/// draft is still at `revision` (what the officer's form was made from). Returns what `change` returned and
/// the draft's new revision. `what` says in the audit log what was edited.
pub fn edit<T>(
    conn: &mut DbConnection,
    actor: &Actor,
    c: &Consultation,
    revision: i32,
    what: &str,
    change: impl FnOnce(&mut Content) -> Result<T>,
) -> Result<(T, i32)> {
    db::write(conn, |conn| {
        let draft = match version::draft(conn, c.id)? {
            Some(draft) if draft.revision == revision => draft,
            Some(_) => return Err(Error::Conflict),
            None if revision == 0 => {
                let live = c.live_version_id.ok_or(Error::Conflict)?;
                let content = version::find(conn, live)?.content()?;
                version::create_draft(conn, c.id, &content)?
            }
            None => return Err(Error::Conflict),
        };
        let mut content = draft.content()?;
        let out = change(&mut content)?;
        let saved = version::save_draft(conn, draft.id, draft.revision, &content)?.map_err(|_| Error::Conflict)?;
        audit(conn, actor, c, "consultation.edit", serde_json::json!({ "what": what, "version": draft.number }))?;
        Ok((out, saved))
    })
}

/// Replaces the draft's content whole (the API's PUT of a definition). The slug cannot change; the times and
/// results policy may be given only as they are once the consultation is published (they change through
/// `schedule`, not a draft), and set it while it is a draft.
pub fn replace(conn: &mut DbConnection, actor: &Actor, c: &Consultation, def: &Definition) -> Result<i32> {
    def.check().map_err(Error::Invalid)?;
    let mut problems = Vec::new();
    if def.slug != c.slug {
        problems.push(format!("slug: must stay ‘{}’ (duplicate the consultation for a new one)", c.slug));
    }
    let published = c.live_version_id.is_some();
    let changed_schedule =
        def.opens_at != c.opens_at || def.closes_at != c.closes_at || def.results_visibility != c.results_visibility;
    if published && changed_schedule {
        problems.push(
            "opens_at, closes_at and results_visibility of a published consultation change with PATCH, not with \
             its definition"
                .to_string(),
        );
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    db::write(conn, |conn| {
        let revision = match version::draft(conn, c.id)? {
            Some(draft) => {
                version::save_draft(conn, draft.id, draft.revision, &def.content)?.map_err(|_| Error::Conflict)?
            }
            None => version::create_draft(conn, c.id, &def.content)?.revision,
        };
        if !published && changed_schedule {
            consultation::set_schedule(
                conn,
                c.id,
                &consultation::Schedule {
                    opens_at: def.opens_at,
                    closes_at: def.closes_at,
                    results_visibility: def.results_visibility.clone(),
                },
            )?;
        }
        audit(conn, actor, c, "consultation.edit", serde_json::json!({ "what": "definition replaced" }))?;
        Ok(revision)
    })
}
