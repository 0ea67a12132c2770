//! The results report: the running totals of every questionnaire version joined to the questionnaires, with
//! percentages of each question's base and their 95% intervals. The API, the live stream and the results page
//! all serve this one shape.
//!
//! A question's key means the same question in every version, so a question's figures sum over the versions
//! that asked it; responses to a version without the question count as not shown, so for every question
//! `base + not_shown + skipped = responses`. Questions and options the latest version no longer has keep their
//! counts and are marked `removed`.

use super::stats::{percent, wilson95, SMALL_BASE};
use super::suppression::{self, Hidden};
use super::tally::{Tallies, Tally};
use crate::domain::questionnaire::{Choice, Kind, Purpose, Question, Questionnaire};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Closed to other fields (`additionalProperties: false`), so that a cross-tab, which has them all and more,
/// is never taken for a report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The consultation's slug.
    pub consultation: String,
    /// Every response stored, over every published version.
    pub responses: i64,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct QuestionResult {
    pub key: String,
    pub kind: Kind,
    /// The latest version's wording, in English.
    pub prompt: String,
    /// Respondent-profile and equality-monitoring questions describe who answered; outside officers' own
    /// views their small counts are suppressed.
    #[serde(default, skip_serializing_if = "Purpose::is_default")]
    pub purpose: Purpose,
    /// How many answered: the denominator of every percentage.
    pub base: i64,
    /// How many were routed past it (or answered a version without it).
    pub not_shown: i64,
    /// How many were shown it and left it blank.
    pub skipped: i64,
    /// The base is under 30: treat percentages with caution.
    pub small_base: bool,
    /// The latest version no longer asks it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    pub options: Vec<OptionResult>,
    /// A grid's rows, each with its own base and options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct RowResult {
    pub key: String,
    pub label: String,
    pub base: i64,
    /// How many were routed past it (or answered a version without it).
    pub not_shown: i64,
    /// How many were shown it and left it blank.
    pub skipped: i64,
    pub small_base: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    pub options: Vec<OptionResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct OptionResult {
    pub key: String,
    pub label: String,
    /// Respondents choosing the option (for ranking: ranking it first); null when suppressed (fewer than 10,
    /// or a second count that would give one away, of a respondent-profile or equality-monitoring question
    /// in a public view).
    #[schema(required)]
    pub count: Option<i64>,
    /// `count` as a percentage of the base; null when the base is 0 or the count is suppressed.
    #[schema(required)]
    pub percent: Option<f64>,
    /// Wilson score 95% interval of `percent`, as [low, high] percentages; null when the base is 0 or the
    /// count is suppressed.
    #[schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2, required)]
    pub ci95: Option<[f64; 2]>,
    /// Ranking only: the average position given (1 = first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_rank: Option<f64>,
    /// The latest version no longer offers it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// Why the count is not shown: absent when it is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Hidden,
}

impl OptionResult {
    /// The count, as a number to add up (0 when suppressed: only figures already shown are summed).
    pub fn n(&self) -> i64 {
        self.count.unwrap_or(0)
    }
}

impl Report {
    /// The report as `viewer` may read it: outside an officer's own working view, the small counts of
    /// respondent-profile and equality-monitoring questions are suppressed, with a second count where the
    /// published base would give one away.
    pub fn for_viewer(mut self, viewer: crate::auth::Viewer) -> Report {
        if viewer.working_view() {
            return self;
        }
        for q in self.questions.iter_mut().filter(|q| q.purpose != Purpose::Opinion) {
            let exclusive = matches!(q.kind, Kind::SingleChoice | Kind::Scale | Kind::Grid);
            suppress_options(&mut q.options, exclusive);
            for row in &mut q.rows {
                suppress_options(&mut row.options, exclusive);
            }
        }
        self
    }
}

/// Suppresses the small counts of one question's (or row's) options; `exclusive` when they add up to its base.
fn suppress_options(options: &mut [OptionResult], exclusive: bool) {
    let cells: Vec<Vec<i64>> = options.iter().map(|o| vec![o.n()]).collect();
    let hidden = suppression::suppress(&cells, false, exclusive);
    for (o, hide) in options.iter_mut().zip(hidden) {
        if hide[0].is_some() {
            o.suppression = hide[0];
            o.count = None;
            o.percent = None;
            o.ci95 = None;
            o.mean_rank = None;
        }
    }
}

/// One published version and what its responses add up to.
struct Version<'a> {
    questionnaire: &'a Questionnaire,
    tally: &'a Tally,
}

/// Builds the report over every published version (id and questionnaire, oldest first) and the tallies of
/// their responses by version id; the latest version decides the order and the wording.
pub fn build(slug: &str, published: &[(i64, &Questionnaire)], tallies: &Tallies) -> Report {
    let none = Tally::default();
    let versions: Vec<Version> = published
        .iter()
        .map(|(id, questionnaire)| Version { questionnaire, tally: tallies.get(id).unwrap_or(&none) })
        .collect();
    let versions = versions.as_slice();
    let responses = versions.iter().map(|v| v.tally.responses).sum();
    let questions = all_questions(versions)
        .into_iter()
        .map(|(question, removed)| question_result(versions, question, removed))
        .collect();
    Report { consultation: slug.to_string(), responses, questions }
}

/// Every question any version asked: the latest version's in its order, then those only earlier versions
/// asked (newest wording first), marked removed.
fn all_questions<'a>(versions: &[Version<'a>]) -> Vec<(&'a Question, bool)> {
    let questionnaires: Vec<&Questionnaire> = versions.iter().map(|v| v.questionnaire).collect();
    questions_across(&questionnaires)
}

/// Every question of the published questionnaires (oldest first), in the order results and exports list
/// them: the latest version's in its order, then those only earlier versions asked (newest wording first),
/// each with whether the latest version no longer asks it.
pub fn questions_across<'a>(published: &[&'a Questionnaire]) -> Vec<(&'a Question, bool)> {
    let mut out: Vec<(&Question, bool)> = Vec::new();
    for (i, q) in published.iter().enumerate().rev() {
        let latest = i + 1 == published.len();
        for question in q.questions() {
            if !out.iter().any(|(seen, _)| seen.key == question.key) {
                out.push((question, !latest));
            }
        }
    }
    out
}

/// Every choice any version offered under `pick` (options or rows) of the question, latest first, with
/// whether the latest version still offers it.
fn all_choices<'a>(
    versions: &[Version<'a>],
    key: &str,
    pick: fn(&Question) -> &Vec<Choice>,
) -> Vec<(&'a Choice, bool)> {
    let questionnaires: Vec<&Questionnaire> = versions.iter().map(|v| v.questionnaire).collect();
    choices_across(&questionnaires, key, pick)
}

/// Every choice of question `key` under `pick` (its options or its rows) over the published questionnaires
/// (oldest first): the latest version's in its order, then those only earlier versions offered, each with
/// whether the latest version no longer offers it.
pub fn choices_across<'a>(
    published: &[&'a Questionnaire],
    key: &str,
    pick: fn(&Question) -> &Vec<Choice>,
) -> Vec<(&'a Choice, bool)> {
    let mut out: Vec<(&Choice, bool)> = Vec::new();
    let latest = published.last().and_then(|q| q.question(key));
    for q in published.iter().rev() {
        let Some(question) = q.question(key) else { continue };
        for c in pick(question) {
            if !out.iter().any(|(seen, _)| seen.key == c.key) {
                let kept = latest.is_some_and(|l| pick(l).iter().any(|lc| lc.key == c.key));
                out.push((c, !kept));
            }
        }
    }
    out
}

/// A question's (or a grid row's) counts summed over the versions: not shown includes every response to a
/// version that did not ask it.
fn counts(versions: &[Version], key: &str, row: &str) -> (i64, i64, i64) {
    let (mut base, mut not_shown, mut skipped) = (0, 0, 0);
    for v in versions {
        let asked =
            v.questionnaire.question(key).is_some_and(|q| row.is_empty() || q.rows.iter().any(|r| r.key == row));
        if asked {
            let c = v.tally.question(key, row);
            base += c.answered;
            not_shown += c.not_shown;
            skipped += c.skipped;
        } else {
            not_shown += v.tally.responses;
        }
    }
    (base, not_shown, skipped)
}

fn option_results(versions: &[Version], question: &Question, row: &str, base: i64) -> Vec<OptionResult> {
    all_choices(versions, &question.key, |q| &q.options)
        .into_iter()
        .map(|(o, removed)| {
            let (count, rank_sum) = versions.iter().fold((0, 0), |(n, r), v| {
                let c = v.tally.option(&question.key, row, &o.key);
                (n + c.count, r + c.rank_sum)
            });
            OptionResult {
                key: o.key.clone(),
                label: o.label.to_string(),
                count: Some(count),
                percent: percent(count, base),
                ci95: wilson95(count, base),
                mean_rank: (question.kind == Kind::Ranking && base > 0)
                    .then(|| (rank_sum as f64 / base as f64 * 100.0).round() / 100.0),
                removed,
                suppression: None,
            }
        })
        .collect()
}

fn question_result(versions: &[Version], question: &Question, removed: bool) -> QuestionResult {
    let (base, not_shown, skipped) = counts(versions, &question.key, "");
    let (options, rows) = if question.kind == Kind::Grid {
        let rows = all_choices(versions, &question.key, |q| &q.rows)
            .into_iter()
            .map(|(row, row_removed)| {
                let (base, not_shown, skipped) = counts(versions, &question.key, &row.key);
                RowResult {
                    key: row.key.clone(),
                    label: row.label.to_string(),
                    base,
                    not_shown,
                    skipped,
                    small_base: base < SMALL_BASE,
                    removed: row_removed,
                    options: option_results(versions, question, &row.key, base),
                }
            })
            .collect();
        (Vec::new(), rows)
    } else {
        (option_results(versions, question, "", base), Vec::new())
    };
    QuestionResult {
        key: question.key.clone(),
        kind: question.kind,
        prompt: question.prompt.to_string(),
        purpose: question.purpose,
        base,
        not_shown,
        skipped,
        small_base: base < SMALL_BASE,
        removed,
        options,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use crate::domain::validation::from_json;
    use serde_json::json;

    fn answers(q: &Questionnaire, v: serde_json::Value) -> crate::domain::answers::Answers {
        from_json(q, v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn versions_sum_by_key_and_a_question_added_later_counts_earlier_responses_as_not_shown() {
        let first = sample();
        let mut second = sample();
        second.sections[0].questions[0].options.remove(0);
        second.sections[0].questions[0].options.push(Choice {
            key: "unsure".into(),
            label: "Unsure".into(),
            other: false,
            exclusive: false,
        });
        second.routing.clear();
        second.sections[0].questions.insert(
            0,
            serde_json::from_value(json!({"key": "new_q", "kind": "short_text", "prompt": "New", "required": false}))
                .unwrap(),
        );
        let mut t1 = Tally::default();
        let add =
            |t: &mut Tally, q: &Questionnaire, a: serde_json::Value| t.add(q, &answers(q, a), "online", "2026-12-01");
        add(&mut t1, &first, json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"]}));
        add(&mut t1, &first, json!({"support": "disagree", "services": ["none"]}));
        let mut t2 = Tally::default();
        add(
            &mut t2,
            &second,
            json!({"new_q": "Hi", "support": "unsure", "services": ["police"], "rank": ["a","b","c"]}),
        );
        let tallies: Tallies = [(1, t1), (2, t2)].into();
        let report = build("x", &[(1, &first), (2, &second)], &tallies);
        assert_eq!(report.responses, 3);
        let new_q = report.questions.iter().find(|q| q.key == "new_q").unwrap();
        assert_eq!((new_q.base, new_q.not_shown, new_q.skipped), (1, 2, 0));
        let support = report.questions.iter().find(|q| q.key == "support").unwrap();
        assert_eq!(support.base, 3);
        let keys: Vec<(&str, i64, bool)> = support.options.iter().map(|o| (o.key.as_str(), o.n(), o.removed)).collect();
        assert_eq!(keys, [("disagree", 1, false), ("unsure", 1, false), ("agree", 1, true)]);
        for q in &report.questions {
            assert_eq!(q.base + q.not_shown + q.skipped, report.responses, "{}", q.key);
            for r in &q.rows {
                assert_eq!(r.base + r.not_shown + r.skipped, report.responses, "{}.{}", q.key, r.key);
            }
        }
    }
}
