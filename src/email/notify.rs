//! "Get an email when the results are published": a resident asks (and is sent a link to confirm, so that
//! nobody can sign up someone else: double opt-in), confirms, and is sent one email when the results are first
//! published after that, which lets them unsubscribe in one click (RFC 8058). Each function is one write
//! transaction that writes the messages it causes to the outbox; the caller wakes the worker after it.
//!
//! Every link carries a new token and the subscription keeps only the digest of the latest one: the results
//! email's unsubscribe token is made when that email is written, since the confirmation token itself was never
//! stored.

use super::{Kind, Mail};
use crate::auth::secret::{digest, new_link_token};
use crate::db::{self, DbConnection};
use crate::models::consultation::Consultation;
use crate::models::outbox::{self, NewMessage};
use crate::models::subscription::{self, Subscription};
use chrono::NaiveDateTime;
use diesel::QueryResult;

/// An address as it is kept and compared: asking with "Ann@Example.org " and "ann@example.org" is one request.
pub fn normalise(address: &str) -> String {
    address.trim().to_lowercase()
}

/// The outbox key of the email a subscription's token digest was made for: erased with it on unsubscribing.
fn confirm_key(token_hash: &str) -> String {
    format!("{}:{token_hash}", Kind::ConfirmNotify.name())
}

fn results_key(token_hash: &str) -> String {
    format!("{}:{token_hash}", Kind::ResultsPublished.name())
}

/// The path of the link that confirms a request.
pub fn confirm_path(slug: &str, token: &str) -> String {
    format!("/consultations/{slug}/notify/{token}")
}

/// The path of the link that unsubscribes.
pub fn unsubscribe_path(token: &str) -> String {
    format!("/unsubscribe/{token}")
}

/// Records a request to be told about `c`'s results and writes the email with the link that confirms it. The
/// same address asking again is sent a new link, whatever it had done before, so the answer never tells
/// whether an address was subscribed.
pub fn request(
    conn: &mut DbConnection,
    c: &Consultation,
    address: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let email = normalise(address);
    let token = new_link_token();
    let hash = digest(&token);
    db::write(conn, |conn| {
        subscription::request(conn, c.id, &email, &hash, now)?;
        let message = NewMessage {
            consultation_id: Some(c.id),
            kind: Kind::ConfirmNotify.name(),
            dedup_key: &confirm_key(&hash),
            recipient: &email,
            payload: serde_json::json!({
                "link": mail.link(&confirm_path(&c.slug, &token)),
                "unsubscribe_link": mail.link(&unsubscribe_path(&token)),
            }),
        };
        outbox::enqueue(conn, &message, now).map(drop)
    })
}

/// The subscription a confirmation link names, if any.
pub fn find(conn: &mut DbConnection, c: &Consultation, token: &str) -> QueryResult<Option<Subscription>> {
    subscription::find(conn, c.id, &digest(token))
}

/// Confirms the request a link names (confirming twice changes nothing); false when the link is unknown.
pub fn confirm(conn: &mut DbConnection, c: &Consultation, token: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let hash = digest(token);
    db::write(conn, |conn| {
        if subscription::find(conn, c.id, &hash)?.is_none() {
            return Ok(false);
        }
        subscription::confirm(conn, &hash, now)?;
        Ok(true)
    })
}

/// The subscription an unsubscribe link names, if any.
pub fn find_for_unsubscribe(conn: &mut DbConnection, token: &str) -> QueryResult<Option<Subscription>> {
    subscription::find_any(conn, &digest(token))
}

/// Unsubscribes the subscription a link names, erasing its address and any of its emails not yet sent; None
/// when the link is unknown. Doing it twice is harmless.
pub fn unsubscribe(conn: &mut DbConnection, token: &str, now: NaiveDateTime) -> QueryResult<Option<Subscription>> {
    let hash = digest(token);
    db::write(conn, |conn| {
        let Some(found) = subscription::find_any(conn, &hash)? else { return Ok(None) };
        subscription::unsubscribe(conn, &hash, now)?;
        for key in [confirm_key(&hash), results_key(&hash)] {
            outbox::erase(conn, found.consultation_id, Some(&key))?;
        }
        Ok(Some(found))
    })
}

/// Inside the transaction that publishes `c`'s results: writes one results email to every confirmed
/// subscription still waiting and marks each notified, so that publishing again tells nobody twice. Returns
/// how many were written.
pub fn results_published(
    conn: &mut DbConnection,
    c: &Consultation,
    mail: &Mail,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut written = 0;
    for (hash, email) in subscription::to_notify(conn, c.id)? {
        let token = new_link_token();
        let new_hash = digest(&token);
        // Claimed first: a row another instance notified meanwhile, or that was unsubscribed, is skipped.
        if !subscription::notified(conn, &hash, &new_hash, now)? {
            continue;
        }
        let message = NewMessage {
            consultation_id: Some(c.id),
            kind: Kind::ResultsPublished.name(),
            dedup_key: &results_key(&new_hash),
            recipient: &email,
            payload: serde_json::json!({
                "link": mail.link(&format!("/consultations/{}", c.slug)),
                "unsubscribe_url": mail.link(&unsubscribe_path(&token)),
            }),
        };
        outbox::enqueue(conn, &message, now)?;
        written += 1;
    }
    Ok(written)
}
