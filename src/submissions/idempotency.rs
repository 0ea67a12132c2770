//! Idempotency: a response carries a key, and its content a fingerprint, so that a retry of the same response
//! is answered with the reference already given and a different response under a used key is refused.

use super::{Job, Outcome};
use crate::domain::answers::{canonical_json, Answers};
use sha2::{Digest, Sha256};

/// Identifies a response's content, whatever order its answers came in.
pub fn fingerprint(answers: &Answers) -> String {
    let digest = Sha256::digest(canonical_json(answers).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a job whose key is already stored gets: the stored reference for the same content, a refusal for
/// other content.
pub(super) fn replay(job: &Job, reference: String, fingerprint: &str) -> Outcome {
    if fingerprint == job.fingerprint {
        Outcome::Replayed { reference }
    } else {
        Outcome::KeyReused
    }
}
