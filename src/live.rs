//! Live results: one change notifier per instance. The response writer tells it, after each commit, which
//! consultations gained responses; every open results stream of this instance listens to it, so no stream
//! polls the database. With several instances on one PostgreSQL, each commit also sends a `NOTIFY` (delivered
//! when it commits), and one listener per instance passes other instances' changes on to its notifier.

use crate::db::{self, DbConnection};
use anyhow::Context;
use diesel::{Connection, RunQueryDsl};
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL channel changes are announced on; the payload is the consultation ids, comma-separated.
pub const CHANNEL: &str = "hys_results";

/// Tells the streams which consultations changed. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    tx: broadcast::Sender<i64>,
}

impl Default for Notifier {
    fn default() -> Notifier {
        // A slow stream that falls this far behind just reads the latest figures: it misses nothing that
        // matters, since each event carries the whole report.
        Notifier { tx: broadcast::channel(1024).0 }
    }
}

impl Notifier {
    /// The consultation with this id has new responses committed.
    pub fn changed(&self, consultation_id: i64) {
        // Nobody listening is fine.
        let _ = self.tx.send(consultation_id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.tx.subscribe()
    }
}

/// Inside a write transaction: announces to other instances, when it commits, that these consultations
/// changed. Nothing on SQLite, which has one instance.
pub fn announce(conn: &mut DbConnection, consultation_ids: &[i64]) -> diesel::QueryResult<()> {
    if consultation_ids.is_empty() {
        return Ok(());
    }
    let payload = consultation_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    db::notify(conn, CHANNEL, &payload)
}

/// How often the listener looks for announcements: well inside the second a dashboard has to show a response.
const POLL: Duration = Duration::from_millis(100);

/// Listens for other instances' announcements on PostgreSQL and passes them to `notifier`, on a thread of its
/// own, reconnecting after a failure, until the notifier is dropped with the application. Nothing for SQLite.
pub fn listen(database_url: &str, notifier: &Notifier) -> anyhow::Result<()> {
    let db::Backend::Postgres { url } = db::Backend::from_url(database_url)? else { return Ok(()) };
    let notifier = notifier.tx.downgrade();
    std::thread::Builder::new()
        .name("results-listener".into())
        .spawn(move || {
            // Back off while the database stays away, so a long outage does not fill the log.
            let mut wait = Duration::from_secs(1);
            while notifier.strong_count() > 0 {
                let started = std::time::Instant::now();
                if let Err(e) = listen_once(&url, &notifier) {
                    tracing::warn!(error = format!("{e:#}"), "the results listener lost its connection; reconnecting");
                }
                // A connection that lasted was a good one: after losing it, try again soon.
                if started.elapsed() > Duration::from_secs(30) {
                    wait = Duration::from_secs(1);
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        })
        .context("could not start the results listener")?;
    Ok(())
}

/// Passes announcements on until the connection fails (an error) or the notifier is gone (done).
fn listen_once(url: &str, notifier: &broadcast::WeakSender<i64>) -> anyhow::Result<()> {
    let mut conn = diesel::PgConnection::establish(url)?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    while let Some(tx) = notifier.upgrade() {
        let notifier = Notifier { tx };
        for notification in conn.notifications_iter() {
            for id in notification?.payload.split(',').filter_map(|id| id.parse::<i64>().ok()) {
                notifier.changed(id);
            }
        }
        drop(notifier);
        std::thread::sleep(POLL);
    }
    Ok(())
}
