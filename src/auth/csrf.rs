//! CSRF tokens: one mechanism for every form, residents' and officers'. A token is an HMAC of what the form
//! is bound to — the officer's session, or for residents a random value in their own cookie — under a secret
//! every app instance shares, so it cannot be made by another site and needs no storage of its own.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The token for forms bound to `binding`.
pub fn token(secret: &[u8], binding: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"csrf:");
    mac.update(binding.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether `sent` is the token for `binding`, compared in constant time.
pub fn verify(secret: &[u8], binding: &str, sent: &str) -> bool {
    let Some(sent) = unhex(sent) else { return false };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"csrf:");
    mac.update(binding.as_bytes());
    mac.verify_slice(&sent).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_binding_and_secret() {
        let t = token(b"secret", "session:abc");
        assert!(verify(b"secret", "session:abc", &t));
        assert!(!verify(b"secret", "session:abd", &t));
        assert!(!verify(b"other", "session:abc", &t));
        assert!(!verify(b"secret", "session:abc", ""));
        assert!(!verify(b"secret", "session:abc", &t[..63]));
        assert!(!verify(b"secret", "session:abc", &"é".repeat(32)));
    }
}
