//! Writing a message from its outbox row: the subject, plain text and HTML come from the templates
//! `email/<kind>.subject.txt`, `email/<kind>.txt` and `email/<kind>.html` (the HTML autoescaped, as every
//! page is), sent as one multipart/alternative message. Headers are lettre's typed headers built from
//! `one_line` text, so CR or LF can never reach a header, whatever an officer or a resident typed.

use crate::db::DbConnection;
use crate::models::{consultation, outbox};
use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::sync::Arc;

/// Renders a template with a context; none when it fails (which the renderer logs). The web layer's templates
/// (`web::render::fragment`), handed in at start-up, so that email does not depend on the web layer.
pub type Renderer = Arc<dyn Fn(&str, &tera::Context) -> Option<String> + Send + Sync>;

/// What every message may use: who is writing, and where links go.
#[derive(Clone)]
pub struct Site {
    pub council_name: String,
    pub service_name: String,
    pub base_url: String,
}

/// A header value on one line: control characters (CR and LF among them) become spaces, runs of white space
/// one space.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// An address with an optional name, like `Northshire County Council <consult@northshire.gov.uk>`.
pub fn mailbox(s: &str) -> anyhow::Result<Mailbox> {
    one_line(s).parse::<Mailbox>().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Whether a resident's or an officer's address is one a message can go to (what forms check).
pub fn is_address(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.len() <= 254 && !s.contains(['<', '>', ' ']) && s.parse::<lettre::Address>().is_ok()
}

/// The message for an outbox row, or why it cannot be written (which no retry would change).
pub fn message(
    conn: &mut DbConnection,
    row: &outbox::Message,
    from: &Mailbox,
    site: &Site,
    render: &Renderer,
) -> anyhow::Result<lettre::Message> {
    let recipient = row.recipient.as_deref().ok_or_else(|| anyhow::anyhow!("the address has been erased"))?;
    let to: Mailbox = recipient.trim().parse().map_err(|_| anyhow::anyhow!("the address is not an email address"))?;
    let payload: serde_json::Value = serde_json::from_str(&row.payload)?;
    let ctx = context(conn, row, &payload, site)?;
    let part = |suffix: &str| {
        let name = format!("email/{}.{suffix}", row.kind);
        render(&name, &ctx).ok_or_else(|| anyhow::anyhow!("the template {name} could not be rendered"))
    };
    let subject = one_line(&part("subject.txt")?);
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id(&row.dedup_key, from)));
    if let Some(url) = payload.get("unsubscribe_url").and_then(|u| u.as_str()) {
        builder = builder.header(ListUnsubscribe(one_line(url))).header(ListUnsubscribePost);
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(part("txt")?))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(part("html")?));
    Ok(builder.multipart(body)?)
}

/// The templates' context: `m` (the payload), `site`, and `consultation` (its title and public address) for a
/// consultation's messages.
fn context(
    conn: &mut DbConnection,
    row: &outbox::Message,
    payload: &serde_json::Value,
    site: &Site,
) -> anyhow::Result<tera::Context> {
    let mut ctx = tera::Context::new();
    ctx.insert("m", payload);
    ctx.insert("council_name", &site.council_name);
    ctx.insert("service_name", &site.service_name);
    ctx.insert("base_url", &site.base_url);
    if let Some(id) = row.consultation_id {
        let c = consultation::find(conn, id)?;
        let title = consultation::title(conn, &c)?;
        let url = format!("{}/consultations/{}", site.base_url, c.slug);
        ctx.insert("consultation", &serde_json::json!({"slug": c.slug, "title": title, "url": url}));
    }
    Ok(ctx)
}

/// The same for every attempt at one event's message, so that a copy sent twice is recognisably one message.
fn message_id(dedup_key: &str, from: &Mailbox) -> String {
    format!("<{}@{}>", crate::auth::secret::digest(dedup_key), from.email.domain())
}

/// `List-Unsubscribe: <https://…>`, so that mail programs offer a one-click unsubscribe (RFC 2369, RFC 8058).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim_matches(['<', '>']).to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the unsubscribe address takes a POST.
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_one_line_whatever_is_typed() {
        assert_eq!(one_line("Budget\r\nBcc: evil@example.org\r\n\r\nhi"), "Budget Bcc: evil@example.org hi");
        assert_eq!(one_line("  a \t b\u{0}c "), "a b c");
    }

    #[test]
    fn addresses_are_checked() {
        assert!(is_address("ann@example.org"));
        for bad in ["", "ann", "ann@", "Ann <ann@example.org>", "ann@example.org\r\nBcc: x@example.org", "a b@c.d"] {
            assert!(!is_address(bad), "{bad:?}");
        }
        assert!(mailbox("Northshire <consult@northshire.example>").is_ok());
        let folded = mailbox("Northshire\r\nBcc: <consult@northshire.example>").map(|m| m.to_string());
        assert!(folded.as_ref().map_or(true, |m| !m.contains('\r') && !m.contains('\n')), "{folded:?}");
        let name = mailbox("North\r\n shire <consult@northshire.example>").unwrap().name;
        assert_eq!(name.as_deref(), Some("North shire"));
    }
}
