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

/// A new token for a link sent by email (save and return, confirming an address, an invitation, a reset): as
/// long as a session id, and stored the same way, as its digest.
pub fn new_link_token() -> String {
    random()
}

/// Whether a string has the shape of a link token.
pub fn looks_like_link_token(s: &str) -> bool {
    looks_like_session_id(s)
}

/// The keyed hash (HMAC-SHA256 with the site's secret) of an email address, trimmed and lower-cased: what is
/// kept beside a response to tell that one person has answered, without keeping who. Without the key nobody
/// can test an address against it.
pub fn address_hash(key: &[u8], address: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"respondent-address:");
    mac.update(address.trim().to_lowercase().as_bytes());
    hex(&mac.finalize().into_bytes())
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
        let key = b"key";
        assert_eq!(address_hash(key, " Ann@Example.org "), address_hash(key, "ann@example.org"));
        assert_ne!(address_hash(key, "ann@example.org"), address_hash(b"other", "ann@example.org"));
        assert!(looks_like_link_token(&new_link_token()));
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
