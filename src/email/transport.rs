//! Where messages go: an SMTP relay named by `email.smtp_url`, or, in development without one, a folder that
//! receives each message as a `.eml` file.

use crate::config::EmailSettings;
use anyhow::{bail, Context};
use lettre::transport::smtp::SmtpTransport;
use lettre::{FileTransport, Message, Transport as _};
use std::time::Duration;

/// An SMTP relay's URL, checked: `smtp://` (no TLS, for a local relay), `smtp+starttls://` or `smtps://`.
pub struct Relay {
    /// The URL in the form lettre reads (`smtp://…?tls=required` for STARTTLS).
    lettre_url: String,
}

impl Relay {
    pub fn parse(url: &str) -> anyhow::Result<Relay> {
        let url = url.trim();
        let lettre_url = if let Some(rest) = url.strip_prefix("smtp+starttls://") {
            format!("smtp://{rest}?tls=required")
        } else if url.starts_with("smtps://") || url.starts_with("smtp://") {
            url.to_string()
        } else {
            bail!("email.smtp_url must start with smtp://, smtp+starttls:// or smtps://")
        };
        if lettre_url.contains('?') && !url.starts_with("smtp+starttls://") {
            bail!("email.smtp_url takes no query: use smtp+starttls:// for STARTTLS");
        }
        // Parsed once here, so that a mistake stops the start with a message rather than every send later.
        SmtpTransport::from_url(&lettre_url)
            .map_err(|e| anyhow::anyhow!("email.smtp_url is not a usable SMTP URL: {e}"))?;
        Ok(Relay { lettre_url })
    }
}

/// How a send went wrong: worth trying again later, or refused for good.
#[derive(Debug)]
pub enum SendError {
    /// The relay is unreachable, timed out, or answered 4xx.
    Transient(String),
    /// The relay answered 5xx.
    Permanent(String),
}

pub enum Transport {
    Smtp(SmtpTransport),
    Folder(FileTransport),
}

impl Transport {
    pub fn from_settings(settings: &EmailSettings) -> anyhow::Result<Transport> {
        match settings.smtp() {
            Some(url) => {
                let relay = Relay::parse(url)?;
                let smtp = SmtpTransport::from_url(&relay.lettre_url)
                    .map_err(|e| anyhow::anyhow!("email.smtp_url is not a usable SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(settings.smtp_timeout_seconds)))
                    .build();
                Ok(Transport::Smtp(smtp))
            }
            None => {
                std::fs::create_dir_all(&settings.folder)
                    .with_context(|| format!("could not create the email folder {}", settings.folder))?;
                Ok(Transport::Folder(FileTransport::new(&settings.folder)))
            }
        }
    }

    /// Sends one message; blocking, so only the worker's own thread calls it.
    pub fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).map(drop).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Transport::Folder(folder) => {
                folder.send(message).map(drop).map_err(|e| SendError::Transient(e.to_string()))
            }
        }
    }

    /// What the start-up log says about where messages go (never a password).
    pub fn describe(settings: &EmailSettings) -> String {
        match settings.smtp() {
            Some(url) => crate::db::redacted(url),
            None => format!("the folder {}", settings.folder),
        }
    }
}
