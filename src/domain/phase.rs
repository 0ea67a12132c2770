//! Where a consultation stands in its lifecycle at a given moment: draft → scheduled → open → closed →
//! results published, and archived. Everything follows from what is stored and the time, so a consultation
//! opens and closes at its set times exactly with no scheduler, and several app instances always agree.

use chrono::NaiveDateTime;
use serde::Serialize;

/// What residents see, and what decides whether responses are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No version published yet: only officers see it.
    Draft,
    /// Published, before its opening time (officers call it scheduled).
    Forthcoming,
    Open,
    Closed,
}

impl Phase {
    /// `live`: whether a version has been published. A live consultation without an opening time is not
    /// open (publishing asks for both times); one without a closing time stays open.
    pub fn of(
        live: bool,
        opens_at: Option<NaiveDateTime>,
        closes_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Phase {
        if !live {
            Phase::Draft
        } else if closes_at.is_some_and(|c| now >= c) {
            Phase::Closed
        } else if opens_at.is_none_or(|o| now < o) {
            Phase::Forthcoming
        } else {
            Phase::Open
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

/// The lifecycle stage officers work with: the phase, with results publication and archiving on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Draft,
    Scheduled,
    Open,
    Closed,
    ResultsPublished,
    Archived,
}

impl Stage {
    pub fn of(phase: Phase, results_published: bool, archived: bool) -> Stage {
        match phase {
            _ if archived => Stage::Archived,
            Phase::Draft => Stage::Draft,
            Phase::Forthcoming => Stage::Scheduled,
            Phase::Open => Stage::Open,
            Phase::Closed if results_published => Stage::ResultsPublished,
            Phase::Closed => Stage::Closed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Scheduled => "scheduled",
            Stage::Open => "open",
            Stage::Closed => "closed",
            Stage::ResultsPublished => "results_published",
            Stage::Archived => "archived",
        }
    }

    /// The stage in words, for officers' tags.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Draft => "Draft",
            Stage::Scheduled => "Scheduled",
            Stage::Open => "Open",
            Stage::Closed => "Closed",
            Stage::ResultsPublished => "Results published",
            Stage::Archived => "Archived",
        }
    }
}

/// What an officer is warned of (never stopped by) when setting a consultation's times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Shorter than the length the admin set; in whole days, and the minimum in weeks.
    Short { days: i64, minimum_weeks: i64 },
    /// Overlaps a pre-election period, named.
    PreElection { period: String },
}

impl Warning {
    pub fn message(&self) -> String {
        match self {
            Warning::Short { days, minimum_weeks } => format!(
                "This consultation runs for {days} days, less than the {minimum_weeks} weeks your council \
                 normally allows. Say why in the background if it is deliberate."
            ),
            Warning::PreElection { period } => format!(
                "This consultation runs during the pre-election period ‘{period}’. Check with your electoral \
                 services team before publishing."
            ),
        }
    }
}

/// The warnings for a consultation running from `opens` to `closes`, given the minimum length and the
/// pre-election periods (name, start, end).
pub fn warnings(
    opens: NaiveDateTime,
    closes: NaiveDateTime,
    minimum_weeks: i64,
    periods: &[(String, NaiveDateTime, NaiveDateTime)],
) -> Vec<Warning> {
    let mut found = Vec::new();
    let length = closes - opens;
    if minimum_weeks > 0 && length < chrono::Duration::weeks(minimum_weeks) {
        found.push(Warning::Short { days: length.num_days(), minimum_weeks });
    }
    for (name, starts, ends) in periods {
        if opens < *ends && *starts < closes {
            found.push(Warning::PreElection { period: name.clone() });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: u32, h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 1, day).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn the_times_decide_the_phase() {
        let p = |now| Phase::of(true, Some(t(1, 9)), Some(t(1, 17)), now);
        assert_eq!(p(t(1, 8)), Phase::Forthcoming);
        assert_eq!(p(t(1, 9)), Phase::Open);
        assert_eq!(p(t(1, 17)), Phase::Closed);
        assert_eq!(Phase::of(false, Some(t(1, 9)), None, t(1, 10)), Phase::Draft);
        assert_eq!(Phase::of(true, None, None, t(1, 10)), Phase::Forthcoming);
        assert_eq!(Phase::of(true, Some(t(1, 9)), None, t(1, 10)), Phase::Open);
    }

    #[test]
    fn stages_add_publication_and_archiving() {
        assert_eq!(Stage::of(Phase::Closed, true, false), Stage::ResultsPublished);
        assert_eq!(Stage::of(Phase::Closed, true, true), Stage::Archived);
        assert_eq!(Stage::of(Phase::Forthcoming, false, false), Stage::Scheduled);
    }

    #[test]
    fn short_and_pre_election_consultations_are_warned_of() {
        let periods = [("County elections".to_string(), t(10, 0), t(20, 0))];
        let w = warnings(t(1, 9), t(15, 9), 12, &periods);
        assert_eq!(
            w,
            [
                Warning::Short { days: 14, minimum_weeks: 12 },
                Warning::PreElection { period: "County elections".into() }
            ]
        );
        assert!(warnings(t(1, 9), t(9, 9), 1, &periods).is_empty());
    }
}
