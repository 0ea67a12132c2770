//! The admins' email page: how many messages wait in the outbox, and every message the relay refused for good
//! (what it was, for which consultation, when, after how many attempts, and the relay's answer), each with a
//! button that puts it back in the queue (audited). Addresses are personal data: only a masked form is shown.

use super::{page, see_other, Desk, Posted};
use crate::email::Kind;
use crate::models::audit::{self, Entry};
use crate::models::{consultation, now, outbox};
use crate::web::error::AppError;
use crate::web::identity::actor;
use crate::web::routes::{Access, Router, ADMINS};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub fn routes(r: &mut Router) {
    let admins = Access::Pages(ADMINS);
    r.get("/officer/admin/email", admins, web::get().to(show)).post(
        "/officer/admin/email/{id}/resend",
        admins,
        web::post().to(resend),
    );
}

/// How many refused messages the page lists, newest first.
const LISTED: i64 = 200;

/// An address as admins see it: its first character and its domain, `a•••@example.org` (none when erased or
/// not an address).
fn masked(address: Option<&str>) -> Option<String> {
    let (local, domain) = address?.trim().rsplit_once('@')?;
    let first = local.chars().next()?;
    Some(format!("{first}•••@{domain}"))
}

#[derive(Serialize)]
struct Refused {
    id: i64,
    kind: String,
    consultation: Option<String>,
    recipient: Option<String>,
    failed: Option<String>,
    attempts: i32,
    error: String,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(desk: Desk, query: web::Query<Done>) -> Result<HttpResponse, AppError> {
    let Desk { state, identity, csrf, .. } = desk;
    let (waiting, failures) = state
        .db(|conn| {
            let waiting = outbox::waiting_count(conn)?;
            let mut rows = Vec::new();
            for m in outbox::failures(conn, LISTED)? {
                let title = match m.consultation_id {
                    Some(id) => {
                        let c = consultation::find(conn, id)?;
                        Some(consultation::title(conn, &c)?)
                    }
                    None => None,
                };
                rows.push((m, title));
            }
            Ok((waiting, rows))
        })
        .await?;
    let refused: Vec<Refused> = failures
        .into_iter()
        .map(|(m, consultation)| Refused {
            id: m.id,
            kind: Kind::parse(&m.kind).map_or_else(|| m.kind.clone(), |k| k.description().to_string()),
            consultation,
            recipient: masked(m.recipient.as_deref()),
            failed: m.failed_at.map(|at| state.local_time(at)),
            attempts: m.attempts,
            error: m.last_error.unwrap_or_default(),
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("waiting", &waiting);
    ctx.insert("refused", &refused);
    ctx.insert("notice", &(query.done.as_deref() == Some("resent")).then_some("The message is back in the queue"));
    ctx.insert("section", "admin");
    ctx.insert("admin_section", "email");
    Ok(page(&identity, &csrf, StatusCode::OK, "officer/admin/email.html", ctx))
}

/// Puts a refused message back in the queue, due now, with its audit record; 404 when there is no such refused
/// message (already resent, say).
async fn resend(posted: Posted, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let Posted { desk: Desk { request, state, identity, .. }, form: _ } = posted;
    let who = actor(&identity, &request);
    let id = id.into_inner();
    let resent = state
        .db(move |conn| {
            crate::db::write(conn, |conn| -> Result<_, AppError> {
                let Some(m) = outbox::find(conn, id)?.filter(|m| m.failed_at.is_some()) else { return Ok(false) };
                outbox::resend(conn, id, now())?;
                let entry = Entry {
                    action: "email.resend",
                    object_type: "outbox",
                    object_id: id.to_string(),
                    organisation_id: None,
                    consultation_id: m.consultation_id,
                    detail: json!({"kind": m.kind, "attempts": m.attempts, "error": m.last_error}),
                };
                audit::record(conn, &who, entry)?;
                Ok(true)
            })
        })
        .await?;
    if !resent {
        return Err(AppError::NotFound);
    }
    state.mail.wake.wake();
    Ok(see_other("/officer/admin/email?done=resent"))
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn addresses_are_masked() {
        assert_eq!(masked(Some("ann@example.org")).as_deref(), Some("a•••@example.org"));
        assert_eq!(masked(Some("not an address")), None);
        assert_eq!(masked(Some("@example.org")), None);
        assert_eq!(masked(None), None);
    }
}
