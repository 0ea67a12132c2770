//! Cross-tabs: every question broken down by the groups of one single choice question (respondent type, age
//! band, area) or by channel, with each group's count and column percentage of those in the group who answered.
//! Read from the running totals (see `tally::Cell`), so a cross-tab costs the same at any number of responses.
//! Outside an officer's own working view, small counts are suppressed (`suppression`), with second cells
//! where a total would give them away.

use super::report::{OptionResult, QuestionResult, Report};
use super::stats::percent;
use super::suppression::{self, Hidden, Reason, THRESHOLD};
use super::tally::{Tallies, CHANNEL};
use crate::domain::questionnaire::{Kind, Purpose};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The `by` that breaks results down by channel.
pub const BY_CHANNEL: &str = "channel";

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct CrossTab {
    pub consultation: String,
    pub responses: i64,
    pub by: String,
    pub groups: Vec<Group>,
    pub questions: Vec<CrossQuestion>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Group {
    pub key: String,
    pub label: String,
    /// How many are in the group; null when suppressed.
    pub base: Option<i64>,
    /// Why the group is not shown (its whole column then goes): absent when it is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Hidden,
}

/// A question as `/results` gives it, each option with its figures in each group.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct CrossQuestion {
    pub key: String,
    pub kind: Kind,
    pub prompt: String,
    #[serde(skip_serializing_if = "Purpose::is_default")]
    pub purpose: Purpose,
    pub base: i64,
    pub not_shown: i64,
    pub skipped: i64,
    pub small_base: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// Those in each group who answered, the base of its column percentages; null when suppressed.
    pub group_bases: BTreeMap<String, Option<i64>>,
    pub options: Vec<CrossOption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<CrossRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct CrossRow {
    pub key: String,
    pub label: String,
    pub base: i64,
    pub group_bases: BTreeMap<String, Option<i64>>,
    pub options: Vec<CrossOption>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct CrossOption {
    #[serde(flatten)]
    pub option: OptionResult,
    /// The option's figures in each group, by group key.
    pub groups: BTreeMap<String, Cell>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, ToSchema)]
pub struct Cell {
    /// Null when suppressed.
    pub count: Option<i64>,
    /// Of the group's base for the question; null when suppressed or the base is 0.
    pub percent: Option<f64>,
    /// Why the count is not shown: absent when it is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Hidden,
}

/// The `cross` part of a totals read for a `by` asked for, or none for something that cannot name a question
/// (so that nothing an address holds, NUL included, reaches the database).
pub fn cross_part(by: &str) -> Option<String> {
    if by == BY_CHANNEL {
        Some(CHANNEL.to_string())
    } else {
        crate::domain::questionnaire::valid_key(by).then(|| by.to_string())
    }
}

/// What can break results down: a single choice question of the report, or the channel.
pub fn can_break_down_by(report: &Report, by: &str) -> bool {
    by == BY_CHANNEL || report.questions.iter().any(|q| q.key == by && q.kind == Kind::SingleChoice)
}

/// Builds the cross-tab of `report` by `by` (a single choice question's key, or "channel") from the tallies
/// (which must hold the cross-tab cells by `by`, and the days for "channel"). `suppress` for every view but an
/// officer's own. None when `by` cannot break the results down.
pub fn build(report: &Report, tallies: &Tallies, by: &str, suppress: bool) -> Option<CrossTab> {
    if !can_break_down_by(report, by) {
        return None;
    }
    let cross_key = if by == BY_CHANNEL { CHANNEL } else { by };
    let mut groups: Vec<Group> = if by == BY_CHANNEL {
        let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
        for t in tallies.values() {
            for ((_, channel), n) in &t.days {
                *by_channel.entry(channel.clone()).or_default() += n;
            }
        }
        by_channel
            .into_iter()
            .map(|(key, n)| Group { label: channel_label(&key).to_string(), key, base: Some(n), suppression: None })
            .collect()
    } else {
        let question = report.questions.iter().find(|q| q.key == by).expect("checked above");
        question
            .options
            .iter()
            .map(|o| Group { key: o.key.clone(), label: o.label.clone(), base: o.count, suppression: o.suppression })
            .collect()
    };
    let cell = |q: &str, row: &str, group: &str, option: &str| -> i64 {
        tallies
            .values()
            .map(|t| {
                t.cross
                    .get(&(
                        cross_key.to_string(),
                        group.to_string(),
                        q.to_string(),
                        row.to_string(),
                        option.to_string(),
                    ))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    // A group whose size is suppressed (a small group, or a profile question's count hidden as a second cell)
    // is hidden whole.
    let group_hidden: Vec<Hidden> = groups.iter().map(|g| if suppress { group_suppression(g) } else { None }).collect();
    let figures = |q: &QuestionResult, row: &str, options: &[OptionResult]| {
        let exclusive = matches!(q.kind, Kind::SingleChoice | Kind::Scale | Kind::Grid);
        let bases: Vec<i64> = groups.iter().map(|g| cell(&q.key, row, &g.key, "")).collect();
        let counts: Vec<Vec<i64>> =
            options.iter().map(|o| groups.iter().map(|g| cell(&q.key, row, &g.key, &o.key)).collect()).collect();
        let hidden = if suppress {
            // A small group's column is hidden whole, and the second cells found with it in mind: otherwise
            // an option's published total, less the other groups' counts, would give its count away.
            let whole: Vec<Vec<Hidden>> = counts.iter().map(|r| group_hidden[..r.len()].to_vec()).collect();
            suppression::suppress_from(&counts, whole, true, exclusive)
        } else {
            counts.iter().map(|r| vec![None; r.len()]).collect()
        };
        // A column's base is hidden with its group, or when it is small itself; then it is under 10 whenever
        // the group is (see `Group::suppression`), so the group's reason is the base's.
        let group_bases: BTreeMap<String, Option<i64>> = groups
            .iter()
            .zip(&bases)
            .zip(&group_hidden)
            .map(|((g, b), hidden)| {
                (g.key.clone(), (hidden.is_none() && !(suppress && *b > 0 && *b < THRESHOLD)).then_some(*b))
            })
            .collect();
        let options: Vec<CrossOption> = options
            .iter()
            .zip(&counts)
            .zip(&hidden)
            .map(|((o, row_counts), row_hidden)| CrossOption {
                option: o.clone(),
                groups: groups
                    .iter()
                    .enumerate()
                    .map(|(c, g)| {
                        let count = suppression::publish(row_counts[c], row_hidden[c]);
                        let percent = count.and_then(|n| percent(n, bases[c]));
                        (g.key.clone(), Cell { count, percent, suppression: row_hidden[c] })
                    })
                    .collect(),
            })
            .collect();
        (group_bases, options)
    };
    let questions = report
        .questions
        .iter()
        .filter(|q| q.key != by)
        .map(|q| {
            let (group_bases, options) = figures(q, "", &q.options);
            let rows = q
                .rows
                .iter()
                .map(|r| {
                    let (group_bases, options) = figures(q, &r.key, &r.options);
                    CrossRow { key: r.key.clone(), label: r.label.clone(), base: r.base, group_bases, options }
                })
                .collect();
            CrossQuestion {
                key: q.key.clone(),
                kind: q.kind,
                prompt: q.prompt.clone(),
                purpose: q.purpose,
                base: q.base,
                not_shown: q.not_shown,
                skipped: q.skipped,
                small_base: q.small_base,
                removed: q.removed,
                group_bases,
                options,
                rows,
            }
        })
        .collect();
    for (g, hidden) in groups.iter_mut().zip(group_hidden) {
        if hidden.is_some() {
            g.base = None;
            g.suppression = hidden;
        }
    }
    Some(CrossTab {
        consultation: report.consultation.clone(),
        responses: report.responses,
        by: by.to_string(),
        groups,
        questions,
    })
}

/// Why a group is hidden whole outside officers' views: its size is under the threshold, or (a profile
/// question's option) its count was itself hidden.
fn group_suppression(group: &Group) -> Hidden {
    match group.base {
        Some(n) if n < THRESHOLD => Some(Reason::FewerThanTen),
        Some(_) => None,
        None => Some(group.suppression.unwrap_or(Reason::FewerThanTen)),
    }
}

/// A channel in words.
pub fn channel_label(channel: &str) -> &str {
    match channel {
        "online" => "Online",
        "api" => "Through the API",
        "paper" => "Paper form",
        "email" => "Email or letter",
        "event" => "At an event",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use crate::domain::validation::from_json;
    use crate::results::report;
    use crate::results::tally::Tally;
    use serde_json::json;

    #[test]
    fn column_percentages_by_group_with_small_counts_suppressed_outside_officers_views() {
        let q = sample();
        let mut t = Tally::default();
        let mut add = |support: &str, area: &str, n: usize, channel: &str| {
            let a = from_json(
                &q,
                json!({"support": support, "services": ["police"], "rank": ["a","b","c"], "area": area})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
            for _ in 0..n {
                t.add(&q, &a, channel, "2026-12-01");
            }
        };
        add("agree", "north", 40, "online");
        add("disagree", "north", 12, "online");
        add("agree", "south", 30, "paper");
        add("disagree", "south", 3, "paper");
        let tallies: Tallies = [(1, t)].into();
        let r = report::build("x", &[(1, &q)], &tallies);
        let officers = build(&r, &tallies, "area", false).unwrap();
        assert_eq!(officers.groups.iter().map(|g| g.base).collect::<Vec<_>>(), [Some(52), Some(33)]);
        let support = officers.questions.iter().find(|qq| qq.key == "support").unwrap();
        let disagree = support.options.iter().find(|o| o.option.key == "disagree").unwrap();
        assert_eq!(disagree.groups["north"], Cell { count: Some(12), percent: Some(23.1), suppression: None });
        assert_eq!(disagree.groups["south"], Cell { count: Some(3), percent: Some(9.1), suppression: None });

        // Outside officers' views the 3 goes; the column adds up to its base, so the 30 beside it goes too; the
        // overall counts of each option are published, so each row then needs a second cell: in a table of two
        // groups, nothing is left that would give the 3 away.
        let public = build(&r, &tallies, "area", true).unwrap();
        let support = public.questions.iter().find(|qq| qq.key == "support").unwrap();
        let cell = |o: &str, g: &str| support.options.iter().find(|x| x.option.key == o).unwrap().groups[g];
        let hidden = |suppression| Cell { count: None, percent: None, suppression: Some(suppression) };
        assert_eq!(cell("disagree", "south"), hidden(Reason::FewerThanTen));
        assert_eq!(cell("agree", "south"), hidden(Reason::Secondary), "30 is hidden only to protect the 3");
        assert_eq!(cell("agree", "north"), hidden(Reason::Secondary));
        // A question with no small counts keeps them all.
        let services = public.questions.iter().find(|qq| qq.key == "services").unwrap();
        assert_eq!(services.options.iter().find(|o| o.option.key == "police").unwrap().groups["south"].count, Some(33));

        let by_channel = build(&r, &tallies, "channel", false).unwrap();
        assert_eq!(
            by_channel.groups.iter().map(|g| (g.key.as_str(), g.base)).collect::<Vec<_>>(),
            [("online", Some(52)), ("paper", Some(33))]
        );
        assert!(build(&r, &tallies, "services", false).is_none(), "only single choice questions break results down");
    }
}
