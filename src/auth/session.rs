//! When an officer's session ends: after `idle` unused, or `absolute` after sign-in however busy. The time it
//! was last used is written at most once a minute, so that reading pages does not write on every request.

use chrono::{Duration, NaiveDateTime};

/// How stale `last_seen_at` may be before a request writes it again.
pub const REFRESH_AFTER: Duration = Duration::minutes(1);

/// What a request finds its session to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In use; `refresh`: write `last_seen_at` now.
    Live {
        refresh: bool,
    },
    Ended,
}

/// The standing of a session last seen at `last_seen` and ending at `expires` (sign-in time plus the absolute
/// timeout), at `now`.
pub fn standing(last_seen: NaiveDateTime, expires: NaiveDateTime, now: NaiveDateTime, idle: Duration) -> Standing {
    if now >= expires || now >= last_seen + idle {
        Standing::Ended
    } else {
        Standing::Live { refresh: now - last_seen >= REFRESH_AFTER }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_timeouts() {
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let idle = Duration::minutes(30);
        let expires = t0 + Duration::hours(12);
        let at = |m: i64| t0 + Duration::minutes(m);
        assert_eq!(standing(t0, expires, at(0), idle), Standing::Live { refresh: false });
        assert_eq!(standing(t0, expires, at(1), idle), Standing::Live { refresh: true });
        assert_eq!(standing(t0, expires, at(30), idle), Standing::Ended);
        // Busy all day, still ended at the absolute limit.
        assert_eq!(standing(at(12 * 60 - 5), expires, at(12 * 60 - 1), idle), Standing::Live { refresh: true });
        assert_eq!(standing(at(12 * 60 - 5), expires, at(12 * 60), idle), Standing::Ended);
    }
}
