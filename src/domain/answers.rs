//! A resident's answers: one typed value per answered question, how each is stored as text, and how it reads
//! back for the check-your-answers page.

use super::questionnaire::{Kind, Question};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of one answered question. Option keys are kept as given; validation checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// single choice and scale: one option key
    Choice(String),
    /// multiple choice: the chosen option keys, in questionnaire order
    Choices(Vec<String>),
    /// ranking: every option key, most preferred first
    Ranking(Vec<String>),
    Text(String),
    Number(i64),
    Date(NaiveDate),
    /// grid: the option chosen for each row answered, by row key
    Grid(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub value: Value,
    /// The "please specify" text of an "Other" option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
}

/// Answers by question key. Ordered so that a response's fingerprint does not depend on input order.
pub type Answers = BTreeMap<String, Answer>;

impl Value {
    /// The option keys this value selects, for routing and counting.
    pub fn option_keys(&self) -> &[String] {
        match self {
            Value::Choice(k) => std::slice::from_ref(k),
            Value::Choices(ks) | Value::Ranking(ks) => ks,
            // A grid's answers are per row: routing never depends on them.
            _ => &[],
        }
    }

    /// How the value is kept in the `answers.value` column.
    pub fn to_stored(&self) -> String {
        match self {
            Value::Choice(k) | Value::Text(k) => k.clone(),
            Value::Choices(ks) | Value::Ranking(ks) => serde_json::to_string(ks).expect("strings serialise"),
            Value::Number(n) => n.to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::Grid(rows) => serde_json::to_string(rows).expect("strings serialise"),
        }
    }

    /// As `from_stored`, taking the stored text, which a choice or a text keeps as it is (no copy).
    pub fn from_stored_text(kind: Kind, stored: String) -> Option<Value> {
        match kind {
            Kind::SingleChoice | Kind::Scale => Some(Value::Choice(stored)),
            Kind::ShortText | Kind::LongText => Some(Value::Text(stored)),
            _ => Value::from_stored(kind, &stored),
        }
    }

    /// Reads a stored value back, given the kind of its question.
    pub fn from_stored(kind: Kind, stored: &str) -> Option<Value> {
        Some(match kind {
            Kind::SingleChoice | Kind::Scale => Value::Choice(stored.to_string()),
            Kind::MultipleChoice => Value::Choices(serde_json::from_str(stored).ok()?),
            Kind::Ranking => Value::Ranking(serde_json::from_str(stored).ok()?),
            Kind::ShortText | Kind::LongText => Value::Text(stored.to_string()),
            Kind::Number => Value::Number(stored.parse().ok()?),
            Kind::Date => Value::Date(NaiveDate::parse_from_str(stored, "%Y-%m-%d").ok()?),
            Kind::Grid => Value::Grid(serde_json::from_str(stored).ok()?),
        })
    }

    /// The value as the API takes it, so that a stored response can be compared with a replayed one.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Choice(k) | Value::Text(k) => k.clone().into(),
            Value::Choices(ks) | Value::Ranking(ks) => ks.clone().into(),
            Value::Number(n) => (*n).into(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string().into(),
            Value::Grid(rows) => serde_json::to_value(rows).expect("strings serialise"),
        }
    }
}

/// The answer in words, one line per item, for check-your-answers.
pub fn describe(question: &Question, answer: &Answer) -> Vec<String> {
    let label = |k: &String| question.option(k).map_or_else(|| k.clone(), |o| o.label.to_string());
    let mut lines: Vec<String> = match &answer.value {
        Value::Choice(k) => vec![label(k)],
        Value::Choices(ks) => ks.iter().map(label).collect(),
        Value::Ranking(ks) => ks.iter().enumerate().map(|(i, k)| format!("{}. {}", i + 1, label(k))).collect(),
        Value::Text(t) => vec![t.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Date(d) => vec![d.format("%-d %B %Y").to_string()],
        Value::Grid(rows) => question
            .rows
            .iter()
            .filter_map(|r| rows.get(&r.key).map(|o| format!("{}: {}", r.label, label(o))))
            .collect(),
    };
    if let Some(other) = &answer.other {
        lines.push(format!("Other: {other}"));
    }
    lines
}

/// A canonical JSON form of a whole response, used to recognise a replay of the same submission.
pub fn canonical_json(answers: &Answers) -> String {
    let mut map = serde_json::Map::new();
    for (key, answer) in answers {
        map.insert(key.clone(), answer.value.to_json());
        if let Some(other) = &answer.other {
            map.insert(format!("{key}.other"), other.clone().into());
        }
    }
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_read_back() {
        let cases = [
            (Kind::Scale, Value::Choice("agree".into())),
            (Kind::MultipleChoice, Value::Choices(vec!["a".into(), "b".into()])),
            (Kind::Ranking, Value::Ranking(vec!["b".into(), "a".into()])),
            (Kind::LongText, Value::Text("Hello, \"world\"".into())),
            (Kind::Number, Value::Number(-4)),
            (Kind::Date, Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())),
            (Kind::Grid, Value::Grid([("speed".to_string(), "good".to_string())].into())),
        ];
        for (kind, value) in cases {
            assert_eq!(Value::from_stored(kind, &value.to_stored()), Some(value));
        }
    }
}
