//! Where a consultation stands in its lifecycle at a given moment.

use chrono::NaiveDateTime;
use serde::Serialize;

/// The stored status, as officers set it (the scheduler moves it on at the set times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Scheduled,
    Open,
    Closed,
    Published,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "scheduled" => Status::Scheduled,
            "open" => Status::Open,
            "closed" => Status::Closed,
            "published" => Status::Published,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Published => "published",
        }
    }
}

/// What residents see: the status with the opening and closing times applied, so that a consultation stops
/// taking responses at its closing time exactly, whether or not the scheduler has run yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Draft,
    Forthcoming,
    Open,
    Closed,
}

impl Phase {
    pub fn of(
        status: Status,
        opens_at: Option<NaiveDateTime>,
        closes_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Phase {
        match status {
            Status::Draft => Phase::Draft,
            Status::Closed | Status::Published => Phase::Closed,
            Status::Scheduled | Status::Open => {
                if closes_at.is_some_and(|c| now >= c) {
                    Phase::Closed
                } else if opens_at.is_some_and(|o| now < o) || (status == Status::Scheduled && opens_at.is_none()) {
                    Phase::Forthcoming
                } else {
                    Phase::Open
                }
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Draft => "draft",
            Phase::Forthcoming => "forthcoming",
            Phase::Open => "open",
            Phase::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn times_decide_an_open_consultation() {
        let p = |now| Phase::of(Status::Open, Some(t(9)), Some(t(17)), now);
        assert_eq!(p(t(8)), Phase::Forthcoming);
        assert_eq!(p(t(9)), Phase::Open);
        assert_eq!(p(t(17)), Phase::Closed);
        assert_eq!(Phase::of(Status::Closed, None, None, t(9)), Phase::Closed);
        assert_eq!(Phase::of(Status::Scheduled, Some(t(9)), None, t(10)), Phase::Open);
    }
}
