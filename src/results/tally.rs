//! What a set of responses adds to the running totals. Pure: the submission writer sums a batch into one
//! `Tally` and applies it in the same transaction as the responses.

use crate::domain::answers::{Answers, Value};
use crate::domain::questionnaire::Questionnaire;
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

/// Counts by question key and by (question key, option key). Ordered maps, so updates are applied in one fixed
/// order and concurrent writers on PostgreSQL cannot deadlock on the total rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub responses: i64,
    pub questions: BTreeMap<String, QuestionCounts>,
    pub options: BTreeMap<(String, String), OptionCounts>,
}

impl Tally {
    /// Adds one response, whose answers have been validated against `q`.
    pub fn add(&mut self, q: &Questionnaire, answers: &Answers) {
        let shown = routing::shown(q, answers);
        self.responses += 1;
        for question in q.questions() {
            let counts = self.questions.entry(question.key.clone()).or_default();
            let Some(answer) = answers.get(&question.key).filter(|_| shown.question(&question.key)) else {
                if shown.question(&question.key) {
                    counts.skipped += 1;
                } else {
                    counts.not_shown += 1;
                }
                continue;
            };
            counts.answered += 1;
            let mut bump = |option: &String, count: i64, rank: i64| {
                let c = self.options.entry((question.key.clone(), option.clone())).or_default();
                c.count += count;
                c.rank_sum += rank;
            };
            match &answer.value {
                Value::Choice(k) => bump(k, 1, 0),
                Value::Choices(ks) => ks.iter().for_each(|k| bump(k, 1, 0)),
                Value::Ranking(ks) => {
                    for (i, k) in ks.iter().enumerate() {
                        bump(k, i64::from(i == 0), i as i64 + 1);
                    }
                }
                Value::Text(_) | Value::Number(_) | Value::Date(_) => {}
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.responses == 0
    }
}

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
        assert_eq!(t.questions["support"], QuestionCounts { answered: 1, not_shown: 0, skipped: 0 });
        assert_eq!(t.questions["why_not"], QuestionCounts { answered: 0, not_shown: 1, skipped: 0 });
        assert_eq!(t.questions["rank"].not_shown, 1);
        assert_eq!(t.options[&("services".into(), "none".into())].count, 1);

        let b = from_json(
            &q,
            json!({"support": "agree", "services": ["police"], "rank": ["b", "a", "c"]}).as_object().unwrap(),
        )
        .unwrap();
        t.add(&q, &b);
        assert_eq!(t.questions["people"], QuestionCounts { answered: 0, not_shown: 1, skipped: 1 });
        assert_eq!(t.options[&("rank".into(), "b".into())], OptionCounts { count: 1, rank_sum: 1 });
        assert_eq!(t.options[&("rank".into(), "c".into())], OptionCounts { count: 0, rank_sum: 3 });
    }
}
