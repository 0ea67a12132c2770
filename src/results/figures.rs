//! The figures a dashboard shows beside the counts: for number questions the mean, median and range of the
//! answers given, and for agree/disagree scales the net agreement (the share agreeing minus the share
//! disagreeing). Pure, from the tallies and the report.

use super::report::OptionResult;
use super::tally::Tallies;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NumberSummary {
    /// How many gave a number.
    pub count: i64,
    pub mean: f64,
    pub median: f64,
    pub min: i64,
    pub max: i64,
}

/// Every number given to the question `key`, with how many gave it, over all versions.
pub fn values_of(tallies: &Tallies, key: &str) -> BTreeMap<i64, i64> {
    let mut out = BTreeMap::new();
    for t in tallies.values() {
        for ((q, value), n) in &t.values {
            if q == key {
                *out.entry(*value).or_default() += n;
            }
        }
    }
    out
}

/// The mean (to two decimal places), median, smallest and largest of the numbers given; none when none was.
pub fn number_summary(values: &BTreeMap<i64, i64>) -> Option<NumberSummary> {
    let count: i64 = values.values().sum();
    if count == 0 {
        return None;
    }
    let sum: f64 = values.iter().map(|(v, n)| *v as f64 * *n as f64).sum();
    // The median: the middle value, or the mean of the middle two.
    let nth = |k: i64| -> i64 {
        let mut seen = 0;
        for (v, n) in values {
            seen += n;
            if seen > k {
                return *v;
            }
        }
        *values.keys().next_back().expect("there are values")
    };
    let median =
        if count % 2 == 1 { nth(count / 2) as f64 } else { (nth(count / 2 - 1) + nth(count / 2)) as f64 / 2.0 };
    Some(NumberSummary {
        count,
        mean: (sum / count as f64 * 100.0).round() / 100.0,
        median,
        min: *values.keys().next().expect("there are values"),
        max: *values.keys().next_back().expect("there are values"),
    })
}

/// Which way an option of a scale leans, from its words: "Strongly agree", "Agree" are for; "Disagree",
/// "Strongly disagree" against; "Neither …" and "Don't know" neither. The same for support/oppose and
/// satisfied/dissatisfied scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaning {
    For,
    Against,
}

pub fn leaning(label: &str) -> Option<Leaning> {
    let l = label.to_lowercase();
    if l.contains("neither") || l.contains("know") || l.contains("unsure") || l.contains("not sure") {
        return None;
    }
    const AGAINST: [&str; 5] = ["disagree", "oppose", "dissatisfied", "unsatisfied", "against"];
    const FOR: [&str; 4] = ["agree", "support", "satisfied", "in favour"];
    if AGAINST.iter().any(|w| l.contains(w)) {
        Some(Leaning::Against)
    } else if FOR.iter().any(|w| l.contains(w)) {
        Some(Leaning::For)
    } else {
        None
    }
}

/// The net agreement of a scale's options, in percentage points of the base (to one decimal place): the share
/// for minus the share against. None unless the scale has options on both sides and a base.
pub fn net_agreement(options: &[OptionResult], base: i64) -> Option<f64> {
    if base <= 0 {
        return None;
    }
    let sum = |side: Leaning| -> Option<i64> {
        let chosen: Vec<i64> = options.iter().filter(|o| leaning(&o.label) == Some(side)).map(|o| o.n()).collect();
        (!chosen.is_empty()).then(|| chosen.iter().sum())
    };
    let (pro, con) = (sum(Leaning::For)?, sum(Leaning::Against)?);
    Some(((pro - con) as f64 * 1000.0 / base as f64).round() / 10.0)
}

/// The share of the base for (agreeing, supporting…), to one decimal place: the headline figure.
pub fn share_for(options: &[OptionResult], base: i64) -> Option<(i64, f64)> {
    if base <= 0 || !options.iter().any(|o| leaning(&o.label) == Some(Leaning::For)) {
        return None;
    }
    let n: i64 = options.iter().filter(|o| leaning(&o.label) == Some(Leaning::For)).map(|o| o.n()).sum();
    Some((n, (n as f64 * 1000.0 / base as f64).round() / 10.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(label: &str, count: i64) -> OptionResult {
        OptionResult {
            key: label.to_lowercase().replace(' ', "_"),
            label: label.into(),
            count: Some(count),
            percent: None,
            ci95: None,
            mean_rank: None,
            removed: false,
            suppression: None,
        }
    }

    #[test]
    fn numbers_are_summarised_from_their_counts() {
        let values: BTreeMap<i64, i64> = [(1, 2), (3, 1), (10, 1)].into();
        assert_eq!(number_summary(&values), Some(NumberSummary { count: 4, mean: 3.75, median: 2.0, min: 1, max: 10 }));
        let odd: BTreeMap<i64, i64> = [(5, 3)].into();
        assert_eq!(number_summary(&odd).unwrap().median, 5.0);
        assert_eq!(number_summary(&BTreeMap::new()), None);
    }

    #[test]
    fn net_agreement_is_those_for_minus_those_against() {
        let options = [
            option("Strongly agree", 590),
            option("Agree", 380),
            option("Neither agree nor disagree", 12),
            option("Disagree", 8),
            option("Strongly disagree", 6),
            option("Don't know", 4),
        ];
        assert_eq!(net_agreement(&options, 1000), Some(95.6));
        assert_eq!(share_for(&options, 1000), Some((970, 97.0)));
        assert_eq!(net_agreement(&[option("Yes", 3), option("No", 1)], 4), None);
        assert_eq!(leaning("Neither agree nor disagree"), None);
        assert_eq!(leaning("Strongly oppose"), Some(Leaning::Against));
    }
}
