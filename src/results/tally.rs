//! What a set of responses to one questionnaire version adds to the running totals. Pure: the submission
//! writer sums a batch into one `Tally` per version and applies it in the same transaction as the responses,
//! and the full recount builds the same `Tally` from the stored answers, so the two cannot disagree.

use crate::domain::answers::{Answers, Value};
use crate::domain::questionnaire::{Kind, Questionnaire};
use crate::domain::routing;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QuestionCounts {
    pub answered: i64,
    /// Routed past: the question was never shown.
    pub not_shown: i64,
    /// Shown and left blank.
    pub skipped: i64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OptionCounts {
    /// Respondents who chose the option; for ranking, who ranked it first.
    pub count: i64,
    /// Ranking only: the sum of the positions given to the option (1 = first).
    pub rank_sum: i64,
}

/// A question and the row of it counted: the empty row for the question as a whole, a grid's row keys for
/// its rows.
pub type Counted = (String, String);

/// Counts by (question key, row key) and by (question key, row key, option key), for one questionnaire version.
/// Ordered maps, so updates are applied in one fixed order and concurrent writers on PostgreSQL cannot deadlock
/// on the total rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub responses: i64,
    pub questions: BTreeMap<Counted, QuestionCounts>,
    pub options: BTreeMap<(String, String, String), OptionCounts>,
}

impl Tally {
    /// Adds one response, whose answers have been validated against `q`.
    pub fn add(&mut self, q: &Questionnaire, answers: &Answers) {
        let shown = routing::shown(q, answers);
        self.responses += 1;
        for question in q.questions() {
            let is_shown = shown.question(&question.key);
            let answer = answers.get(&question.key).filter(|_| is_shown);
            let mut count = |row: &str, answered: bool| {
                let c = self.questions.entry((question.key.clone(), row.to_string())).or_default();
                match (answered, is_shown) {
                    (true, _) => c.answered += 1,
                    (false, true) => c.skipped += 1,
                    (false, false) => c.not_shown += 1,
                }
            };
            count("", answer.is_some());
            if question.kind == Kind::Grid {
                for row in &question.rows {
                    let answered =
                        matches!(answer.map(|a| &a.value), Some(Value::Grid(rows)) if rows.contains_key(&row.key));
                    count(&row.key, answered);
                }
            }
            let Some(answer) = answer else { continue };
            let mut bump = |row: &str, option: &str, count: i64, rank: i64| {
                let c = self.options.entry((question.key.clone(), row.to_string(), option.to_string())).or_default();
                c.count += count;
                c.rank_sum += rank;
            };
            match &answer.value {
                Value::Choice(k) => bump("", k, 1, 0),
                Value::Choices(ks) => ks.iter().for_each(|k| bump("", k, 1, 0)),
                Value::Ranking(ks) => {
                    for (i, k) in ks.iter().enumerate() {
                        bump("", k, i64::from(i == 0), i as i64 + 1);
                    }
                }
                Value::Grid(rows) => rows.iter().for_each(|(row, k)| bump(row, k, 1, 0)),
                Value::Text(_) | Value::Number(_) | Value::Date(_) => {}
            }
        }
    }

    /// Adds another tally of the same version.
    pub fn merge(&mut self, other: &Tally) {
        self.responses += other.responses;
        for (k, c) in &other.questions {
            let mine = self.questions.entry(k.clone()).or_default();
            mine.answered += c.answered;
            mine.not_shown += c.not_shown;
            mine.skipped += c.skipped;
        }
        for (k, c) in &other.options {
            let mine = self.options.entry(k.clone()).or_default();
            mine.count += c.count;
            mine.rank_sum += c.rank_sum;
        }
    }

    /// The counts of a question (or a grid's row).
    pub fn question(&self, key: &str, row: &str) -> QuestionCounts {
        self.questions.get(&(key.to_string(), row.to_string())).copied().unwrap_or_default()
    }

    pub fn option(&self, key: &str, row: &str, option: &str) -> OptionCounts {
        self.options.get(&(key.to_string(), row.to_string(), option.to_string())).copied().unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.responses == 0
    }
}

/// The tallies of every version of a consultation, by version id.
pub type Tallies = BTreeMap<i64, Tally>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use crate::domain::validation::from_json;
    use serde_json::json;

    #[test]
    fn counts_answered_skipped_and_not_shown_apart() {
        let q = sample();
        let a = from_json(&q, json!({"support": "agree", "services": ["none"]}).as_object().unwrap()).unwrap();
        let mut t = Tally::default();
        t.add(&q, &a);
        assert_eq!(t.question("support", ""), QuestionCounts { answered: 1, not_shown: 0, skipped: 0 });
        assert_eq!(t.question("why_not", ""), QuestionCounts { answered: 0, not_shown: 1, skipped: 0 });
        assert_eq!(t.question("rank", "").not_shown, 1);
        assert_eq!(t.option("services", "", "none").count, 1);

        let b = from_json(
            &q,
            json!({"support": "agree", "services": ["police"], "rank": ["b", "a", "c"],
                   "ratings": {"speed": "good"}})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        t.add(&q, &b);
        assert_eq!(t.question("people", ""), QuestionCounts { answered: 0, not_shown: 1, skipped: 1 });
        assert_eq!(t.option("rank", "", "b"), OptionCounts { count: 1, rank_sum: 1 });
        assert_eq!(t.option("rank", "", "c"), OptionCounts { count: 0, rank_sum: 3 });
        // A grid counts each row apart, and the question as a whole.
        assert_eq!(t.question("ratings", ""), QuestionCounts { answered: 1, not_shown: 1, skipped: 0 });
        assert_eq!(t.question("ratings", "speed"), QuestionCounts { answered: 1, not_shown: 1, skipped: 0 });
        assert_eq!(t.question("ratings", "manner"), QuestionCounts { answered: 0, not_shown: 1, skipped: 1 });
        assert_eq!(t.option("ratings", "speed", "good").count, 1);
    }
}
