//! The secrets that stand for an account: session ids and API tokens. Each is 256 random bits, handed to the
//! browser or the client once, and stored only as its SHA-256, so a copy of the database signs nobody in.

use rand::Rng;
use sha2::{Digest, Sha256};

/// What API tokens start with, so that a leaked one is recognised by secret scanners and people alike.
pub const TOKEN_PREFIX: &str = "hys_";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits as 64 hex digits.
fn random() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex(&bytes)
}

/// A new session id, for the cookie.
pub fn new_session_id() -> String {
    random()
}

/// A new API token: `hys_` and 64 hex digits.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random())
}

/// What is shown of a token in lists, enough to tell tokens apart: `hys_` and its first 8 digits.
pub fn token_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 8).collect()
}

/// Whether a string has the shape of a token (it may still be unknown or revoked).
pub fn looks_like_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a string has the shape of a session id.
pub fn looks_like_session_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is stored for a secret: its SHA-256 in hex.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let t = new_api_token();
        assert!(looks_like_token(&t), "{t}");
        assert_eq!(t.len(), 68);
        assert_eq!(token_prefix(&t).len(), 12);
        assert!(!looks_like_token(&t[..67]));
        assert!(!looks_like_token(&t.replace("hys_", "xyz_")));
        let s = new_session_id();
        assert!(looks_like_session_id(&s));
        assert_ne!(s, new_session_id());
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
