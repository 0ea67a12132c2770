//! Passwords: the policy a new password must meet, and hashing with argon2id.
//!
//! The policy follows OWASP ASVS 2.1 and NIST SP 800-63B: 12 to 256 characters, counted as Unicode scalar values;
//! no composition rules; refused when on the list of common passwords (`common-passwords.txt`, compared
//! case-insensitively) or the same as the account's email address or name.
//!
//! Hashing costs about 19 MiB and tens of milliseconds of one core, so it runs on the blocking pool, never on
//! an async worker, and at most one hash per core runs at once (`Hasher`): a flood of sign-ins then queues a
//! bounded number of waiters holding only a password string, and beyond that is refused with `Busy` (503 with
//! Retry-After) instead of exhausting memory.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// Why a password is refused, in words for the person choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    Missing,
    TooShort,
    TooLong,
    Common,
    SameAsAccount,
}

impl Weakness {
    pub fn message(self) -> String {
        match self {
            Weakness::Missing => "Enter a password".into(),
            Weakness::TooShort => format!("Password must be {MIN_LENGTH} characters or more"),
            Weakness::TooLong => format!("Password must be {MAX_LENGTH} characters or fewer"),
            Weakness::Common => {
                "Choose a password that is harder to guess: this one is on a list of common passwords".into()
            }
            Weakness::SameAsAccount => "Password must not be the same as the email address or name".into(),
        }
    }
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Checks a new password for the account with this email address and name.
pub fn check(password: &str, email: &str, name: &str) -> Result<(), Weakness> {
    let length = password.chars().count();
    if length == 0 {
        return Err(Weakness::Missing);
    }
    if length < MIN_LENGTH {
        return Err(Weakness::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(Weakness::TooLong);
    }
    let folded = password.to_lowercase();
    if COMMON.contains(folded.as_str()) {
        return Err(Weakness::Common);
    }
    let same = |other: &str| !other.trim().is_empty() && folded.trim() == other.trim().to_lowercase();
    if same(email) || same(name) {
        return Err(Weakness::SameAsAccount);
    }
    Ok(())
}

/// argon2id with 19 MiB, two passes and one lane: the OWASP minimum, which keeps a sign-in near 70 ms on one
/// core of an ordinary server.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), with a fresh salt. Slow: call it
/// off the async workers (the command line may call it directly).
pub fn hash_now(password: &str) -> String {
    argon2().hash_password(password.as_bytes()).expect("argon2 hashes any password").to_string()
}

/// Whether `password` matches a stored PHC string. A string that cannot be read matches nothing.
pub fn verify_now(password: &str, stored: &str) -> bool {
    argon2().verify_password(password.as_bytes(), stored).is_ok()
}

/// Every password check is busy and the queue is full: try again shortly.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many password checks are waiting")]
pub struct Busy;

/// Runs hashes and verifications on the blocking pool, one per core at a time, with a bounded queue. Shared by
/// every HTTP worker of the process.
#[derive(Clone)]
pub struct Hasher {
    running: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
    /// Verified against when there is no account (or it is disabled, or has no password), so that the answer
    /// and its timing are the same as for a wrong password.
    dummy: Arc<str>,
}

impl Hasher {
    /// `queue`: how many checks may wait for a core. Makes the dummy hash, which takes one hash's time.
    pub fn new(queue: usize) -> Hasher {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher {
            running: Arc::new(Semaphore::new(cores)),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
            dummy: hash_now(&crate::domain::reference::new_token()).into(),
        }
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.run(move || hash_now(&password)).await
    }

    /// Whether `password` matches `stored`; with no stored hash, checks against the dummy and answers false,
    /// taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let dummy = self.dummy.clone();
        self.run(move || match stored {
            Some(stored) => verify_now(&password, &stored),
            None => {
                verify_now(&password, &dummy);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = match self.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Busy);
                }
                // Counted out again even when the request is dropped while waiting.
                let _waiting = Waiting(&self.waiting);
                self.running.clone().acquire_owned().await.map_err(|_| Busy)?
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| Busy)
    }
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy() {
        let ok = |p: &str| check(p, "jo@example.org", "Jo Bloggs");
        assert_eq!(ok(""), Err(Weakness::Missing));
        assert_eq!(ok("eleven char"), Err(Weakness::TooShort));
        assert_eq!(ok("twelve chars"), Ok(()));
        // Characters, not bytes: twelve accented letters are long enough, eleven are not.
        assert_eq!(ok(&"é".repeat(12)), Ok(()));
        assert_eq!(ok(&"é".repeat(11)), Err(Weakness::TooShort));
        assert_eq!(ok(&"x".repeat(256)), Ok(()));
        assert_eq!(ok(&"x".repeat(257)), Err(Weakness::TooLong));
        assert_eq!(ok("Password1234"), Err(Weakness::Common));
        assert_eq!(ok("QWERTYUIOPAS"), Err(Weakness::Common));
        assert_eq!(ok("1qaz2wsx3edc"), Err(Weakness::Common));
        assert_eq!(check("jo.bloggs@example.org", "jo.bloggs@example.org", "Jo"), Err(Weakness::SameAsAccount));
        assert_eq!(check("Jo Bloggs-Smith", "j@example.org", "jo bloggs-smith"), Err(Weakness::SameAsAccount));
        assert_eq!(ok("correct horse battery staple"), Ok(()));
        assert!(COMMON.len() > 5000, "the list is loaded: {}", COMMON.len());
        assert!(!COMMON.iter().any(|p| p.starts_with('#')));
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let stored = hash_now("a long enough password");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify_now("a long enough password", &stored));
        assert!(!verify_now("a long enough passworD", &stored));
        assert!(!verify_now("a long enough password", "not a hash"));
    }

    #[tokio::test]
    async fn the_hasher_bounds_its_queue() {
        let hasher = Hasher::new(0);
        // With no queue, as many checks as cores run and the rest are refused at once.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let checks = (0..cores + 3).map(|_| hasher.verify("x".repeat(12), None));
        let results = futures_util::future::join_all(checks).await;
        assert!(results.iter().any(|r| r.is_err()), "some were refused");
        assert!(results.iter().filter(|r| matches!(r, Ok(false))).count() >= 1);
        let stored = hasher.hash("a long enough password".into()).await.unwrap();
        assert!(hasher.verify("a long enough password".into(), Some(stored)).await.unwrap());
    }
}
