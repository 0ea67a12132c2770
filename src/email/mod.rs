//! Email that never loses a message. An event that causes one (a response with a receipt asked for, a saved
//! journey, an invitation, published results) writes it to the outbox (`models::outbox`) in its own
//! transaction; the worker (`worker`) sends it afterwards, over SMTP or into a folder (`transport`), written
//! from templates (`compose`). Nothing slow happens in a request or a write transaction: handlers only enqueue
//! and wake the worker.

pub mod compose;
pub mod notify;
pub mod retention;
pub mod transport;
pub mod worker;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What a message is; each names its templates, `templates/email/<name>.{subject.txt,txt,html}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A copy of a resident's answers and their reference.
    Receipt,
    /// The link back to answers saved part-way.
    ReturnLink,
    /// The link confirming an address before answering, where each person responds once.
    ConfirmAddress,
    /// The link confirming a request to be told when results are published.
    ConfirmNotify,
    /// The results are published (with List-Unsubscribe).
    ResultsPublished,
    /// An officer's invitation to set a first password.
    Invitation,
    /// An officer's password reset.
    PasswordReset,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Receipt,
        Kind::ReturnLink,
        Kind::ConfirmAddress,
        Kind::ConfirmNotify,
        Kind::ResultsPublished,
        Kind::Invitation,
        Kind::PasswordReset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Receipt => "receipt",
            Kind::ReturnLink => "return_link",
            Kind::ConfirmAddress => "confirm_address",
            Kind::ConfirmNotify => "confirm_notify",
            Kind::ResultsPublished => "results_published",
            Kind::Invitation => "invitation",
            Kind::PasswordReset => "password_reset",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What admins read in the list of failed messages.
    pub fn description(self) -> &'static str {
        match self {
            Kind::Receipt => "Receipt for a response",
            Kind::ReturnLink => "Link to saved answers",
            Kind::ConfirmAddress => "Confirm an email address before responding",
            Kind::ConfirmNotify => "Confirm a request to hear about results",
            Kind::ResultsPublished => "Results published",
            Kind::Invitation => "Invitation to an officer",
            Kind::PasswordReset => "Password reset",
        }
    }
}

/// Wakes this instance's worker when a message has been committed, so it goes at once rather than at the
/// next poll, and stops it when the instance stops. Cheap to clone; the worker also polls, for other
/// instances' messages and for retries.
#[derive(Clone, Default)]
pub struct Wake(Arc<WakeState>);

#[derive(Default)]
struct WakeState {
    woken: Mutex<bool>,
    signal: Condvar,
    stopped: std::sync::atomic::AtomicBool,
}

impl Wake {
    pub fn wake(&self) {
        *self.0.woken.lock().expect("wake lock") = true;
        self.0.signal.notify_all();
    }

    /// Stops the worker: it sends nothing more and touches the database no more, so that nothing connects to
    /// a database while the process exits (or after a test has dropped it).
    pub fn stop(&self) {
        self.0.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake();
    }

    fn stopped(&self) -> bool {
        self.0.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until woken or `timeout` has passed.
    fn wait(&self, timeout: Duration) {
        let guard = self.0.woken.lock().expect("wake lock");
        let (mut woken, _) = self.0.signal.wait_timeout_while(guard, timeout, |woken| !*woken).expect("wake lock");
        *woken = false;
    }
}

/// What handlers need to send email: the public address links are built from, and the worker to wake.
#[derive(Clone)]
pub struct Mail {
    base_url: String,
    pub wake: Wake,
}

impl Mail {
    pub fn new(base_url: &str, wake: Wake) -> Mail {
        Mail { base_url: base_url.trim_end_matches('/').to_string(), wake }
    }

    /// A link to `path` (which starts with `/`) at the configured public address, never the request's Host.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}
