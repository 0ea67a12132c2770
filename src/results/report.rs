//! The results report: running totals joined to the questionnaire, with percentages of each question's base and
//! their 95% intervals. The API, the live stream and the results page all serve this one shape.

use super::stats::{percent, wilson95, SMALL_BASE};
use super::tally::Tally;
use crate::domain::questionnaire::{Kind, Questionnaire};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub consultation: String,
    pub responses: i64,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuestionResult {
    pub key: String,
    pub kind: Kind,
    pub prompt: String,
    /// How many answered: the denominator of every percentage.
    pub base: i64,
    pub not_shown: i64,
    pub skipped: i64,
    /// The base is under 30: treat percentages with caution.
    pub small_base: bool,
    pub options: Vec<OptionResult>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OptionResult {
    pub key: String,
    pub label: String,
    /// Respondents choosing the option (for ranking: ranking it first).
    pub count: i64,
    /// `count` as a percentage of the base; null when the base is 0.
    pub percent: Option<f64>,
    /// Wilson score 95% interval of `percent`; null when the base is 0.
    pub ci95: Option<[f64; 2]>,
    /// Ranking only: the average position given (1 = first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_rank: Option<f64>,
}

pub fn build(slug: &str, q: &Questionnaire, t: &Tally) -> Report {
    let questions = q
        .questions()
        .map(|question| {
            let counts = t.questions.get(&question.key).copied().unwrap_or_default();
            let base = counts.answered;
            let options = question
                .options
                .iter()
                .map(|o| {
                    let c = t.options.get(&(question.key.clone(), o.key.clone())).copied().unwrap_or_default();
                    OptionResult {
                        key: o.key.clone(),
                        label: o.label.clone(),
                        count: c.count,
                        percent: percent(c.count, base),
                        ci95: wilson95(c.count, base),
                        mean_rank: (question.kind == Kind::Ranking && base > 0)
                            .then(|| (c.rank_sum as f64 / base as f64 * 100.0).round() / 100.0),
                    }
                })
                .collect();
            QuestionResult {
                key: question.key.clone(),
                kind: question.kind,
                prompt: question.prompt.clone(),
                base,
                not_shown: counts.not_shown,
                skipped: counts.skipped,
                small_base: base < SMALL_BASE,
                options,
            }
        })
        .collect();
    Report { consultation: slug.to_string(), responses: t.responses, questions }
}
