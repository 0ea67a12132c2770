//! The outbox worker: a thread of its own per instance that takes due messages with a lease, writes and sends
//! each, and records how it went — sent (address and payload erased), to be tried again after an exponential
//! back-off with jitter (relay down, timed out or 4xx), or failed for good (5xx, or a message that cannot be
//! written) for an admin to see and resend. Several instances on one database each run one; the lease and the
//! de-duplication key make each message go once. Logs name messages by id and kind, never by address, token or
//! content.

use super::compose::{self, Renderer, Site};
use super::transport::{SendError, Transport};
use super::Wake;
use crate::config::EmailSettings;
use crate::db::Pool;
use crate::models::{now, outbox};
use lettre::message::Mailbox;
use rand::Rng;
use std::time::{Duration, Instant};

/// How often the worker looks for messages it was not woken for: other instances', and retries coming due.
const POLL: Duration = Duration::from_secs(2);
/// Messages leased at a time: one, so that a lease covers a single send, which the SMTP timeout bounds well
/// inside it (see `check_email` in config).
const LEASE_BATCH: i64 = 1;

pub struct Worker {
    pool: Pool,
    transport: Transport,
    from: Mailbox,
    site: Site,
    render: Renderer,
    settings: EmailSettings,
    /// Who holds a lease: unique to this process and start.
    owner: String,
    wake: Wake,
}

impl Worker {
    pub fn new(
        pool: Pool,
        settings: &EmailSettings,
        site: Site,
        render: Renderer,
        wake: Wake,
    ) -> anyhow::Result<Worker> {
        Ok(Worker {
            pool,
            transport: Transport::from_settings(settings)?,
            from: compose::mailbox(&settings.from)?,
            site,
            render,
            settings: settings.clone(),
            owner: format!("{}-{}", std::process::id(), crate::domain::reference::new_token()),
            wake,
        })
    }

    /// Runs the worker on a thread of its own, for the life of the process.
    pub fn start(self) {
        std::thread::Builder::new()
            .name("outbox-worker".into())
            .spawn(move || self.run())
            .expect("the outbox worker starts");
    }

    fn run(self) {
        let pace = Duration::from_secs(60) / self.settings.per_minute.max(1);
        let mut last_send: Option<Instant> = None;
        let mut quiet_until = Instant::now();
        while !self.wake.stopped() {
            match self.round(pace, &mut last_send) {
                Ok(0) => self.wake.wait(POLL),
                Ok(_) => {}
                Err(e) => {
                    // The database is down or gone: say so now and then, not every poll.
                    if Instant::now() >= quiet_until {
                        tracing::warn!(error = format!("{e:#}"), "the outbox worker could not reach the database");
                        quiet_until = Instant::now() + Duration::from_secs(60);
                    }
                    self.wake.wait(POLL);
                }
            }
        }
    }

    /// Leases the due messages and sends each; returns how many it took.
    fn round(&self, pace: Duration, last_send: &mut Option<Instant>) -> anyhow::Result<usize> {
        let mut conn = self.pool.get()?;
        let lease = chrono::Duration::seconds(self.settings.lease_seconds);
        let rows = outbox::lease(&mut conn, &self.owner, now(), lease, LEASE_BATCH)?;
        for row in &rows {
            if let Some(at) = last_send {
                std::thread::sleep(pace.saturating_sub(at.elapsed()));
            }
            *last_send = Some(Instant::now());
            let outcome = compose::message(&mut conn, row, &self.from, &self.site, &self.render)
                .map_err(|e| SendError::Permanent(format!("the message could not be written: {e:#}")))
                .and_then(|message| self.transport.send(&message));
            self.record(&mut conn, row, outcome)?;
        }
        Ok(rows.len())
    }

    fn record(
        &self,
        conn: &mut crate::db::DbConnection,
        row: &outbox::Message,
        outcome: Result<(), SendError>,
    ) -> anyhow::Result<()> {
        // A relay's refusal often quotes the address: it is kept out of the log and of the stored error.
        let redact = |error: String| match &row.recipient {
            Some(address) if !address.is_empty() => error.replace(address.as_str(), "<recipient>"),
            _ => error,
        };
        let (id, kind, attempts) = (row.id, row.kind.as_str(), row.attempts);
        match outcome {
            Ok(()) => {
                outbox::sent(conn, id, &self.owner, now())?;
                tracing::info!(id, kind, attempts, "email sent");
            }
            Err(SendError::Transient(error)) => {
                let error = redact(error);
                let next = now() + self.backoff(attempts);
                outbox::retry(conn, id, &self.owner, next, &error)?;
                tracing::warn!(id, kind, attempts, error, "sending an email failed: it will be tried again");
            }
            Err(SendError::Permanent(error)) => {
                let error = redact(error);
                outbox::failed(conn, id, &self.owner, now(), &error)?;
                tracing::error!(id, kind, attempts, error, "an email was refused: an admin can resend it");
            }
        }
        Ok(())
    }

    /// The wait before attempt `attempts + 1`: the first wait doubled per failure, up to the most, less up to a
    /// half at random so that messages failed together do not retry together.
    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let (first, most) = (self.settings.retry_first_seconds, self.settings.retry_max_seconds);
        let doubled = first.saturating_mul(1_i64 << attempts.clamp(1, 30).saturating_sub(1)).min(most);
        let millis = doubled * 1000;
        chrono::Duration::milliseconds(rand::rng().random_range(millis / 2..=millis))
    }
}
