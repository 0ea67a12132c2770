//! Short response references that residents can read out over the phone.

use rand::Rng;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L, U).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reference like `HYS-7KQ3-M9XP`: 30^8 (about 6.6e11) possibilities, unique per consultation in the database.
pub fn new_reference() -> String {
    let mut rng = rand::rng();
    let mut part = || -> String { (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect() };
    format!("HYS-{}-{}", part(), part())
}

/// A random token for cookies and CSRF: 128 bits as hex.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
