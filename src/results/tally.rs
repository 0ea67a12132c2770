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

/// A cross-tab cell: among those in the group (`by` key, its option), the question, row and option counted
/// (option '' for those who answered the question: the cell's base).
pub type Cell = (String, String, String, String, String);

/// The `by` key of the group each response's channel puts it in.
pub const CHANNEL: &str = ".channel";

/// Counts by (question key, row key), by (question key, row key, option key), by number given, by cross-tab
/// cell and by (day, channel), for one questionnaire version. Ordered maps, so updates are applied in one fixed
/// order and concurrent writers on PostgreSQL cannot deadlock on the total rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub responses: i64,
    pub questions: BTreeMap<Counted, QuestionCounts>,
    pub options: BTreeMap<(String, String, String), OptionCounts>,
    /// Number questions: how many gave each value.
    pub values: BTreeMap<(String, i64), i64>,
    /// Every question by every single choice question and by channel.
    pub cross: BTreeMap<Cell, i64>,
    /// Responses by the day (YYYY-MM-DD, in the council's zone) and channel they came in.
    pub days: BTreeMap<(String, String), i64>,
}

impl Tally {
    /// Adds one response, whose answers have been validated against `q`, that came by `channel` on `day`.
    pub fn add(&mut self, q: &Questionnaire, answers: &Answers, channel: &str, day: &str) {
        let shown = routing::shown(q, answers);
        self.responses += 1;
        *self.days.entry((day.to_string(), channel.to_string())).or_default() += 1;
        // The groups this response is in, for the cross-tabs: its channel, and its answer to each single choice
        // question it was asked.
        let mut groups: Vec<(&str, &str)> = vec![(CHANNEL, channel)];
        for question in q.questions().filter(|qq| qq.kind == Kind::SingleChoice && shown.question(&qq.key)) {
            if let Some(Value::Choice(k)) = answers.get(&question.key).map(|a| &a.value) {
                groups.push((&question.key, k));
            }
        }
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
            // What the answer counts for: (row, option, count, rank); option '' marks the row as answered.
            let mut counted: Vec<(&str, &str, i64, i64)> = vec![("", "", 0, 0)];
            match &answer.value {
                Value::Choice(k) => counted.push(("", k, 1, 0)),
                Value::Choices(ks) => counted.extend(ks.iter().map(|k| ("", k.as_str(), 1, 0))),
                Value::Ranking(ks) => counted
                    .extend(ks.iter().enumerate().map(|(i, k)| ("", k.as_str(), i64::from(i == 0), i as i64 + 1))),
                Value::Grid(rows) => {
                    for (row, k) in rows {
                        counted.push((row, "", 0, 0));
                        counted.push((row, k, 1, 0));
                    }
                }
                Value::Number(n) => *self.values.entry((question.key.clone(), *n)).or_default() += 1,
                Value::Text(_) | Value::Date(_) => {}
            }
            for (row, option, n, rank) in &counted {
                if !option.is_empty() {
                    let c =
                        self.options.entry((question.key.clone(), row.to_string(), option.to_string())).or_default();
                    c.count += n;
                    c.rank_sum += rank;
                }
                // Cross-tabs count who answered (the base) and who chose each option; for ranking, who ranked it
                // first.
                let in_cell = if option.is_empty() { 1 } else { *n };
                if in_cell == 0 {
                    continue;
                }
                for (by, by_option) in groups.iter().filter(|(by, _)| *by != question.key) {
                    let cell = (
                        by.to_string(),
                        by_option.to_string(),
                        question.key.clone(),
                        row.to_string(),
                        option.to_string(),
                    );
                    *self.cross.entry(cell).or_default() += in_cell;
                }
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
        for (k, n) in &other.values {
            *self.values.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &other.cross {
            *self.cross.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &other.days {
            *self.days.entry(k.clone()).or_default() += n;
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

/// Moves the responses by day and channel into the latest version's tally, where the stored totals (which do
/// not keep them per version) put them.
pub fn days_in_latest(tallies: &mut Tallies) {
    let mut days: BTreeMap<(String, String), i64> = BTreeMap::new();
    for t in tallies.values_mut() {
        for (k, n) in std::mem::take(&mut t.days) {
            *days.entry(k).or_default() += n;
        }
    }
    if let Some((_, latest)) = tallies.iter_mut().next_back() {
        latest.days = days;
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
        t.add(&q, &a, "online", "2026-12-01");
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
        t.add(&q, &b, "paper", "2026-12-02");
        assert_eq!(t.question("people", ""), QuestionCounts { answered: 0, not_shown: 1, skipped: 1 });
        assert_eq!(t.option("rank", "", "b"), OptionCounts { count: 1, rank_sum: 1 });
        assert_eq!(t.option("rank", "", "c"), OptionCounts { count: 0, rank_sum: 3 });
        // A grid counts each row apart, and the question as a whole.
        assert_eq!(t.question("ratings", ""), QuestionCounts { answered: 1, not_shown: 1, skipped: 0 });
        assert_eq!(t.question("ratings", "speed"), QuestionCounts { answered: 1, not_shown: 1, skipped: 0 });
        assert_eq!(t.question("ratings", "manner"), QuestionCounts { answered: 0, not_shown: 1, skipped: 1 });
        assert_eq!(t.option("ratings", "speed", "good").count, 1);
        // Cross-tabs: by channel, and by the single choice questions answered (none here).
        let cell = |by: &str, o: &str, q: &str, row: &str, opt: &str| {
            t.cross.get(&(by.into(), o.into(), q.into(), row.into(), opt.into())).copied().unwrap_or(0)
        };
        assert_eq!(cell(CHANNEL, "online", "support", "", ""), 1);
        assert_eq!(cell(CHANNEL, "online", "support", "", "agree"), 1);
        assert_eq!(cell(CHANNEL, "paper", "rank", "", "b"), 1, "ranked first");
        assert_eq!(cell(CHANNEL, "paper", "rank", "", "a"), 0);
        assert_eq!(cell(CHANNEL, "paper", "ratings", "speed", "good"), 1);
        assert_eq!(t.days[&("2026-12-02".to_string(), "paper".to_string())], 1);
    }

    #[test]
    fn single_choice_answers_make_groups() {
        let q = sample();
        let a = from_json(
            &q,
            json!({"support": "agree", "services": ["police", "coast"], "rank": ["a", "b", "c"], "area": "north",
                   "people": 4})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        let mut t = Tally::default();
        t.add(&q, &a, "api", "2026-12-01");
        let cell = |q: &str, opt: &str| {
            t.cross.get(&("area".into(), "north".into(), q.into(), "".into(), opt.into())).copied()
        };
        assert_eq!(cell("services", ""), Some(1));
        assert_eq!(cell("services", "coast"), Some(1));
        assert_eq!(cell("area", ""), None, "a question is not broken down by itself");
        assert_eq!(t.values[&("people".to_string(), 4)], 1);
    }
}
