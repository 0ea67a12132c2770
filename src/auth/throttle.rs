//! The sign-in throttle's rules (the counts themselves are kept in the database by `models::throttle`, so
//! every app instance sees the same). Failed sign-ins are counted three ways, and each count can block:
//!
//! - **Per account and address pair**: from the 5th failure within 24 hours of the first, each failure blocks
//!   that pair for 30 seconds, doubling with every further failure up to 15 minutes. This is what stops one
//!   client guessing one officer's password. A successful sign-in clears it.
//! - **Per address** (an IPv6 client's whole /64): 50 failures within an hour block the address until the hour
//!   is over, whichever accounts were tried — one client spraying common passwords across many accounts.
//! - **Per account, from every address together**: from the 10th failure within an hour, each failure blocks the
//!   account for 1 second, doubling up to 60 seconds — guessing spread across many addresses gets about one
//!   try a minute.
//!
//! So that no attacker can lock a real officer out for long: the account-wide block never lasts more than a
//! minute, the blocks an attacker earns per pair and per address fall on the attacker's own addresses, and a
//! browser that has signed in to the account before (it holds the account's device cookie, see
//! `device_token`) is exempt from the account-wide and per-address counts altogether, so the officer at their
//! usual browser signs in through an attack on their account. Unknown accounts are counted exactly like known
//! ones, so a block says nothing about whether an account exists. Blocked attempts are refused before any
//! password is checked and are not counted again.

use super::secret::digest;
use chrono::{Duration, NaiveDateTime};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Pair,
    Address,
    Account,
}

impl Scope {
    /// How long after the first failure the count starts again.
    pub fn window(self) -> Duration {
        match self {
            Scope::Pair => Duration::hours(24),
            Scope::Address | Scope::Account => Duration::hours(1),
        }
    }

    /// Until when `failures` failures, counted since `window_started`, block this key (as of `now`, the latest
    /// failure).
    pub fn blocked_until(
        self,
        failures: i32,
        window_started: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        let doubling = |from: i32, first: i64, most: i64| {
            (failures >= from).then(|| {
                let steps = (failures - from).min(20) as u32;
                now + Duration::seconds((first << steps).min(most))
            })
        };
        match self {
            Scope::Pair => doubling(5, 30, 15 * 60),
            Scope::Address => (failures >= 50).then(|| window_started + self.window()),
            Scope::Account => doubling(10, 1, 60),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scope::Pair => "pair",
            Scope::Address => "address",
            Scope::Account => "account",
        }
    }
}

/// The part of an address that identifies a client: the address itself for IPv4, the /64 for IPv6 (one
/// subscriber's network holds a whole /64).
fn client_network(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The throttle keys a sign-in attempt counts against, with their scopes. Emails and addresses are stored
/// only as digests: a mistyped email (or a password typed into the email field) is never kept readable.
/// `trusted_device`: the browser has signed in to this account before, so only the pair applies.
pub fn keys(email: &str, address: IpAddr, trusted_device: bool) -> Vec<(Scope, String)> {
    let account = email.trim().to_lowercase();
    let network = client_network(address);
    let mut keys = vec![(Scope::Pair, format!("{account}\n{network}"))];
    if !trusted_device {
        keys.push((Scope::Address, network));
        keys.push((Scope::Account, account));
    }
    keys.into_iter().map(|(scope, value)| (scope, format!("{}:{}", scope.name(), digest(&value)))).collect()
}

/// The keys a "forgot password" request counts against: those of a sign-in attempt from a browser not seen
/// before, with the same rules, under names of their own, so that asking for resets never blocks signing in
/// (nor the other way round). Every request counts, whether or not the account exists.
pub fn reset_keys(email: &str, address: IpAddr) -> Vec<(Scope, String)> {
    keys(email, address, false).into_iter().map(|(scope, key)| (scope, format!("reset-{key}"))).collect()
}

/// The device cookie's value for an account: an HMAC of its email address under the site's secret, so it
/// cannot be made without the secret and names no account readably.
pub fn device_token(secret: &[u8], email: &str) -> String {
    super::csrf::token(secret, &format!("device:{}", email.trim().to_lowercase()))
}

/// Whether a device cookie was given out for this account.
pub fn is_device_of(secret: &[u8], email: &str, cookie: &str) -> bool {
    super::csrf::verify(secret, &format!("device:{}", email.trim().to_lowercase()), cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(9, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn blocks_grow_and_are_capped() {
        let start = t(0);
        let secs = |scope: Scope, n| scope.blocked_until(n, start, t(100)).map(|u| (u - t(100)).num_seconds());
        assert_eq!(secs(Scope::Pair, 4), None);
        assert_eq!(secs(Scope::Pair, 5), Some(30));
        assert_eq!(secs(Scope::Pair, 6), Some(60));
        assert_eq!(secs(Scope::Pair, 9), Some(480));
        assert_eq!(secs(Scope::Pair, 10), Some(900));
        assert_eq!(secs(Scope::Pair, 1000), Some(900));
        assert_eq!(secs(Scope::Account, 9), None);
        assert_eq!(secs(Scope::Account, 10), Some(1));
        assert_eq!(secs(Scope::Account, 13), Some(8));
        assert_eq!(secs(Scope::Account, 100), Some(60));
        assert_eq!(secs(Scope::Address, 49), None);
        assert_eq!(Scope::Address.blocked_until(50, start, t(100)), Some(t(3600)));
    }

    #[test]
    fn keys_are_digests_and_ipv6_counts_by_network() {
        let v6a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let a = keys("Jo@Example.org ", v6a, false);
        let b = keys("jo@example.org", v6b, false);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|(_, k)| !k.contains("example")));
        assert_eq!(keys("jo@example.org", v6a, true).len(), 1);
        let reset = reset_keys("jo@example.org", v6a);
        assert_eq!(reset.len(), 3);
        assert!(reset.iter().all(|(_, k)| k.starts_with("reset-") && !a.iter().any(|(_, s)| s == k)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_network(mapped), "192.0.2.1");
    }

    #[test]
    fn device_tokens_belong_to_one_account() {
        let token = device_token(b"secret", "jo@example.org");
        assert!(is_device_of(b"secret", "JO@example.org", &token));
        assert!(!is_device_of(b"secret", "al@example.org", &token));
        assert!(!is_device_of(b"other", "jo@example.org", &token));
    }
}
