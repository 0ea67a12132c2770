//! Published results: what a snapshot keeps (the report the running totals gave at publication, and what each
//! question is for), and what the public see of it — every count under the threshold suppressed, with a
//! second count wherever a published base would give a hidden one away (see `suppression`) — as JSON and as the
//! open-data CSV. Pure: snapshots are stored by `models::snapshot`.

use super::report::{OptionResult, Report};
use super::suppression::{publish, suppress_from, Hidden, Reason};
use crate::domain::questionnaire::{Kind, Purpose, Questionnaire};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The figures a snapshot keeps, whole: suppression is applied when they are shown, so the stored snapshot
/// is exactly what the running totals said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub report: Report,
    /// What each question is for, by key, as the latest version said at publication.
    pub purposes: BTreeMap<String, Purpose>,
}

impl Figures {
    /// The figures of `report` over the published questionnaires (oldest first).
    pub fn new(report: Report, published: &[&Questionnaire]) -> Figures {
        let purposes =
            super::report::questions_across(published).into_iter().map(|(q, _)| (q.key.clone(), q.purpose)).collect();
        Figures { report, purposes }
    }
}

/// The latest published results, as anyone may read them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedResults {
    /// The consultation's slug.
    pub consultation: String,
    /// Which publication these are: 1 for the first, one more for each republication.
    pub publication: i32,
    /// When they were published: RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub published_at: String,
    /// What the council decided and why, in markdown; null while the council has not recorded it.
    #[schema(required)]
    pub outcome: Option<String>,
    /// Every response counted at publication.
    pub responses: i64,
    pub questions: Vec<PublishedQuestion>,
    /// Every publication, newest first (this one included).
    pub publications: Vec<PublicationListed>,
    /// The licence the figures are published under.
    pub licence: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicationListed {
    pub publication: i32,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub published_at: String,
    /// What the council decided and why, as that publication said, in markdown; null when it said nothing.
    #[schema(required)]
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedQuestion {
    pub key: String,
    pub kind: Kind,
    pub prompt: String,
    /// Views, who is responding (profile), or equality monitoring.
    pub purpose: Purpose,
    /// How many answered: the denominator of every percentage.
    pub base: i64,
    pub not_shown: i64,
    pub skipped: i64,
    /// The base is under 30: treat percentages with caution.
    pub small_base: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    pub options: Vec<PublishedOption>,
    /// A grid's rows, each with its own base and options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<PublishedRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedRow {
    pub key: String,
    pub label: String,
    pub base: i64,
    pub not_shown: i64,
    pub skipped: i64,
    pub small_base: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    pub options: Vec<PublishedOption>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedOption {
    pub key: String,
    pub label: String,
    /// Null when suppressed (fewer than 10, or a second count hidden so that a hidden one cannot be worked
    /// out from the base).
    #[schema(required)]
    pub count: Option<i64>,
    /// `count` as a percentage of the base; null when suppressed or the base is 0.
    #[schema(required)]
    pub percent: Option<f64>,
    /// Wilson score 95% interval of `percent`, as [low, high] percentages; null when suppressed or the base is 0.
    #[schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2, required)]
    pub ci95: Option<[f64; 2]>,
    /// Ranking only: the average position given (1 = first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_rank: Option<f64>,
    pub suppressed: bool,
    /// Why the count is not shown: absent when it is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Hidden,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

pub const LICENCE: &str = "Open Government Licence v3.0 \
                           (https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)";

/// The options of one question (or grid row) as published: a single choice's, a scale's and a ranking's
/// counts add up to the base, which is published, so a lone hidden count gets a partner; a multiple choice's
/// need not.
fn options(options: &[OptionResult], adds_up: bool) -> Vec<PublishedOption> {
    // A snapshot keeps the whole report, so every count is there; one already hidden stays hidden.
    let cells: Vec<Vec<i64>> = options.iter().map(|o| vec![o.count.unwrap_or(0)]).collect();
    let already: Vec<Vec<Hidden>> = options
        .iter()
        .map(|o| vec![o.count.is_none().then(|| o.suppression.unwrap_or(Reason::FewerThanTen))])
        .collect();
    let hidden = suppress_from(&cells, already, false, adds_up);
    options
        .iter()
        .zip(hidden)
        .map(|(o, hidden)| {
            let hidden = hidden[0];
            PublishedOption {
                key: o.key.clone(),
                label: o.label.clone(),
                count: o.count.and_then(|n| publish(n, hidden)),
                percent: if hidden.is_some() { None } else { o.percent },
                ci95: if hidden.is_some() { None } else { o.ci95 },
                mean_rank: o.mean_rank,
                suppressed: hidden.is_some(),
                suppression: hidden,
                removed: o.removed,
            }
        })
        .collect()
}

/// The questions as the public see them.
pub fn public(figures: &Figures) -> Vec<PublishedQuestion> {
    figures
        .report
        .questions
        .iter()
        .map(|q| {
            let adds_up = q.kind != Kind::MultipleChoice;
            PublishedQuestion {
                key: q.key.clone(),
                kind: q.kind,
                prompt: q.prompt.clone(),
                purpose: figures.purposes.get(&q.key).copied().unwrap_or_default(),
                base: q.base,
                not_shown: q.not_shown,
                skipped: q.skipped,
                small_base: q.small_base,
                removed: q.removed,
                options: options(&q.options, adds_up),
                rows: q
                    .rows
                    .iter()
                    .map(|r| PublishedRow {
                        key: r.key.clone(),
                        label: r.label.clone(),
                        base: r.base,
                        not_shown: r.not_shown,
                        skipped: r.skipped,
                        small_base: r.small_base,
                        removed: r.removed,
                        options: options(&r.options, true),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The open-data CSV's columns and what each holds: the file's header, and its data dictionary.
pub const DICTIONARY: [(&str, &str); 15] = [
    ("consultation", "The consultation's short name (slug)"),
    ("publication", "Which publication of the results: 1 for the first, one more for each republication"),
    ("published_at", "When these results were published (RFC 3339, UTC)"),
    ("question_key", "The question's stable key"),
    ("question", "The question as asked"),
    ("purpose", "What the question is for: opinion, profile (who is responding) or equality_monitoring"),
    ("row_key", "For a grid question, the row's key; empty otherwise"),
    ("row", "For a grid question, the row as asked; empty otherwise"),
    ("option_key", "The answer option's stable key"),
    ("option", "The answer option as offered"),
    ("base", "How many answered the question (or the grid row): the denominator of the percentage"),
    ("count", "How many chose the option (ranking: ranked it first); empty when suppressed"),
    ("percent", "count as a percentage of base, to one decimal place; empty when suppressed"),
    ("ci95_low", "The lower end of the 95% Wilson score interval of percent; empty when suppressed"),
    ("ci95_high", "The upper end of the 95% Wilson score interval of percent; empty when suppressed"),
];

/// The open data as CSV rows (header first): one per option of each question, or of each grid row. Counts
/// under 10 are empty, as published everywhere.
pub fn csv_rows(results: &PublishedResults) -> Vec<Vec<String>> {
    let mut rows = vec![DICTIONARY.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>()];
    let number = |v: Option<f64>| v.map(|v| format!("{:.1}", v)).unwrap_or_default();
    let purpose = |p: Purpose| match p {
        Purpose::Opinion => "opinion",
        Purpose::Profile => "profile",
        Purpose::EqualityMonitoring => "equality_monitoring",
    };
    for q in &results.questions {
        let lines: Vec<(&str, &str, i64, &Vec<PublishedOption>)> = if q.rows.is_empty() {
            vec![("", "", q.base, &q.options)]
        } else {
            q.rows.iter().map(|r| (r.key.as_str(), r.label.as_str(), r.base, &r.options)).collect()
        };
        for (row_key, row, base, options) in lines {
            for o in options {
                rows.push(vec![
                    results.consultation.clone(),
                    results.publication.to_string(),
                    results.published_at.clone(),
                    q.key.clone(),
                    q.prompt.clone(),
                    purpose(q.purpose).to_string(),
                    row_key.to_string(),
                    row.to_string(),
                    o.key.clone(),
                    o.label.clone(),
                    base.to_string(),
                    o.count.map(|c| c.to_string()).unwrap_or_default(),
                    number(o.percent),
                    number(o.ci95.map(|c| c[0])),
                    number(o.ci95.map(|c| c[1])),
                ]);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(key: &str, count: i64, base: i64) -> OptionResult {
        OptionResult {
            key: key.into(),
            label: key.to_uppercase(),
            count: Some(count),
            percent: super::super::stats::percent(count, base),
            ci95: super::super::stats::wilson95(count, base),
            mean_rank: None,
            removed: false,
            suppression: None,
        }
    }

    #[test]
    fn small_counts_and_one_more_are_hidden_where_the_base_would_give_them_away() {
        let single = options(&[option("a", 40, 52), option("b", 3, 52), option("c", 9, 52)], true);
        let shown: Vec<Option<i64>> = single.iter().map(|o| o.count).collect();
        assert_eq!(shown, [Some(40), None, None]);
        assert!(single[1].percent.is_none() && single[1].ci95.is_none() && single[1].suppressed);
        assert_eq!(single[1].suppression, Some(Reason::FewerThanTen));
        assert_eq!(single[2].suppression, Some(Reason::FewerThanTen), "9 is small itself");
        let single = options(&[option("a", 40, 55), option("b", 3, 55), option("c", 12, 55)], true);
        let shown: Vec<Option<i64>> = single.iter().map(|o| o.count).collect();
        assert_eq!(shown, [Some(40), None, None], "12 goes too, or 55 - 40 - 12 would give 3 away");
        assert_eq!(single[2].suppression, Some(Reason::Secondary), "12 is not fewer than 10");
        let multiple = options(&[option("a", 40, 50), option("b", 3, 50), option("c", 12, 50)], false);
        let shown: Vec<Option<i64>> = multiple.iter().map(|o| o.count).collect();
        assert_eq!(shown, [Some(40), None, Some(12)], "multiple choice counts need not add up to the base");
    }
}
