//! A questionnaire version: sections, questions, options and routing rules, as residents and the API see them.
//! A published version is frozen: nothing here mutates one.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SingleChoice,
    MultipleChoice,
    Scale,
    ShortText,
    LongText,
    Number,
    Date,
    Ranking,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::SingleChoice,
        Kind::MultipleChoice,
        Kind::Scale,
        Kind::ShortText,
        Kind::LongText,
        Kind::Number,
        Kind::Date,
        Kind::Ranking,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SingleChoice => "single_choice",
            Kind::MultipleChoice => "multiple_choice",
            Kind::Scale => "scale",
            Kind::ShortText => "short_text",
            Kind::LongText => "long_text",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::Ranking => "ranking",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether answers are option keys, so results count them per option.
    pub fn has_options(self) -> bool {
        matches!(self, Kind::SingleChoice | Kind::MultipleChoice | Kind::Scale | Kind::Ranking)
    }

    /// The character limit when the questionnaire sets none.
    pub fn default_max_length(self) -> Option<i32> {
        match self {
            Kind::ShortText => Some(200),
            Kind::LongText => Some(5000),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub key: String,
    pub label: String,
    /// "Other (please specify)": choosing it asks for a text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub other: bool,
    /// "None of these": cannot be combined with other options.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclusive: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub key: String,
    pub kind: Kind,
    pub prompt: String,
    #[serde(default)]
    pub hint: Option<String>,
    pub required: bool,
    #[serde(default)]
    pub options: Vec<Choice>,
    #[serde(default)]
    pub min_selections: Option<i32>,
    #[serde(default)]
    pub max_selections: Option<i32>,
    #[serde(default)]
    pub max_length: Option<i32>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

impl Question {
    pub fn option(&self, key: &str) -> Option<&Choice> {
        self.options.iter().find(|o| o.key == key)
    }

    pub fn other_option(&self) -> Option<&Choice> {
        self.options.iter().find(|o| o.other)
    }

    pub fn max_length(&self) -> Option<i32> {
        self.max_length.or(self.kind.default_max_length())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Section,
    Question,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The target is shown only when the condition holds.
    Show,
    /// The target is skipped when the condition holds.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub question: String,
    pub any_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub target: Target,
    pub key: String,
    pub action: Action,
    pub when: Condition,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Questionnaire {
    pub sections: Vec<Section>,
    #[serde(default)]
    pub routing: Vec<Rule>,
}

impl Questionnaire {
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().find(|q| q.key == key)
    }

    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }

    /// Checks the rules a questionnaire must keep before it can be published; each problem in plain words.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut section_keys = HashSet::new();
        let mut seen: HashMap<&str, &Question> = HashMap::new();
        let mut order: HashMap<&str, usize> = HashMap::new();
        if self.sections.is_empty() {
            problems.push("A questionnaire needs at least one section".to_string());
        }
        for section in &self.sections {
            if !valid_key(&section.key) || !section_keys.insert(section.key.as_str()) {
                problems.push(format!("Section key '{}' is not a unique key", section.key));
            }
            if RESERVED_PAGE_KEYS.contains(&section.key.as_str()) {
                problems.push(format!("Section key '{}' is reserved", section.key));
            }
            if section.questions.is_empty() {
                problems.push(format!("Section '{}' has no questions", section.key));
            }
            for q in &section.questions {
                if !valid_key(&q.key) || seen.insert(q.key.as_str(), q).is_some() {
                    problems.push(format!("Question key '{}' is not a unique key", q.key));
                }
                order.insert(q.key.as_str(), order.len());
                check_question(q, &mut problems);
            }
        }
        for (i, rule) in self.routing.iter().enumerate() {
            let Some(source) = seen.get(rule.when.question.as_str()) else {
                problems.push(format!("Routing rule {} refers to an unknown question", i + 1));
                continue;
            };
            if !matches!(source.kind, Kind::SingleChoice | Kind::MultipleChoice | Kind::Scale) {
                problems.push(format!("Routing rule {} must depend on a choice question", i + 1));
            }
            if rule.when.any_of.is_empty() || rule.when.any_of.iter().any(|k| source.option(k).is_none()) {
                problems.push(format!("Routing rule {} names an unknown option", i + 1));
            }
            let source_at = order[rule.when.question.as_str()];
            let target_first = match rule.target {
                Target::Question => order.get(rule.key.as_str()).copied(),
                Target::Section => self
                    .section(&rule.key)
                    .and_then(|s| s.questions.first().and_then(|q| order.get(q.key.as_str()).copied())),
            };
            match target_first {
                None => {
                    problems.push(format!("Routing rule {} targets an unknown {}", i + 1, target_name(rule.target)))
                }
                Some(at) if at <= source_at => problems
                    .push(format!("Routing rule {} must target something after the question it depends on", i + 1)),
                Some(_) => {}
            }
            if rule.target == Target::Section
                && self.section(&rule.key).is_some_and(|s| s.questions.iter().any(|q| q.key == rule.when.question))
            {
                problems.push(format!("Routing rule {} hides the section of its own question", i + 1));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn target_name(t: Target) -> &'static str {
    match t {
        Target::Section => "section",
        Target::Question => "question",
    }
}

/// Section keys name pages in addresses beside these.
const RESERVED_PAGE_KEYS: [&str; 2] = ["check", "confirmation"];

/// Keys are short lowercase words joined by underscores, safe in addresses, field names and HTML ids.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_question(q: &Question, problems: &mut Vec<String>) {
    let name = &q.key;
    if q.kind.has_options() {
        if q.options.len() < 2 {
            problems.push(format!("Question '{name}' needs at least two options"));
        }
        let mut keys = HashSet::new();
        for o in &q.options {
            if !valid_key(&o.key) || !keys.insert(o.key.as_str()) {
                problems.push(format!("Question '{name}' has a repeated or invalid option key '{}'", o.key));
            }
        }
        if q.options.iter().filter(|o| o.other).count() > 1 {
            problems.push(format!("Question '{name}' has more than one 'Other' option"));
        }
        if q.kind != Kind::MultipleChoice && q.options.iter().any(|o| o.exclusive) {
            problems.push(format!("Only multiple choice questions can have a 'None of these' option ('{name}')"));
        }
        if q.kind == Kind::Ranking && q.options.iter().any(|o| o.other) {
            problems.push(format!("Ranking question '{name}' cannot have an 'Other' option"));
        }
    } else if !q.options.is_empty() {
        problems.push(format!("Question '{name}' cannot have options"));
    }
    if let (Some(lo), Some(hi)) = (q.min_selections, q.max_selections) {
        if lo > hi {
            problems.push(format!("Question '{name}': minimum selections exceed the maximum"));
        }
    }
    if let (Some(lo), Some(hi)) = (q.min, q.max) {
        if lo > hi {
            problems.push(format!("Question '{name}': the minimum exceeds the maximum"));
        }
    }
    if q.max_length.is_some_and(|m| m < 1) {
        problems.push(format!("Question '{name}': the character limit must be positive"));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small questionnaire with every kind and both kinds of routing, for tests across the domain.
    pub fn sample() -> Questionnaire {
        serde_json::from_value(serde_json::json!({
            "sections": [
                {"key": "views", "title": "Your views", "questions": [
                    {"key": "support", "kind": "scale", "prompt": "Do you agree?", "required": true, "options": [
                        {"key": "agree", "label": "Agree"}, {"key": "disagree", "label": "Disagree"}]},
                    {"key": "why_not", "kind": "long_text", "prompt": "Why not?", "required": false, "max_length": 20},
                    {"key": "services", "kind": "multiple_choice", "prompt": "Which services?", "required": true,
                     "max_selections": 2, "options": [
                        {"key": "police", "label": "Police"}, {"key": "ambulance", "label": "Ambulance"},
                        {"key": "coast", "label": "Coastguard"}, {"key": "other", "label": "Other", "other": true},
                        {"key": "none", "label": "None of these", "exclusive": true}]}
                ]},
                {"key": "details", "title": "Details", "questions": [
                    {"key": "rank", "kind": "ranking", "prompt": "Rank these", "required": true, "options": [
                        {"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}]},
                    {"key": "people", "kind": "number", "prompt": "How many?", "required": false, "min": 1, "max": 20},
                    {"key": "visit", "kind": "date", "prompt": "When?", "required": false},
                    {"key": "name", "kind": "short_text", "prompt": "Organisation", "required": false},
                    {"key": "area", "kind": "single_choice", "prompt": "Area", "required": false, "options": [
                        {"key": "north", "label": "North"}, {"key": "south", "label": "South"}]}
                ]}
            ],
            "routing": [
                {"target": "question", "key": "why_not", "action": "show",
                 "when": {"question": "support", "any_of": ["disagree"]}},
                {"target": "section", "key": "details", "action": "skip",
                 "when": {"question": "services", "any_of": ["none"]}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn sample_is_valid() {
        assert_eq!(sample().check(), Ok(()));
    }

    #[test]
    fn routing_must_point_forwards() {
        let mut q = sample();
        q.routing[0].key = "support".into();
        assert!(q.check().unwrap_err()[0].contains("after the question"));
    }

    #[test]
    fn repeated_keys_are_refused() {
        let mut q = sample();
        q.sections[1].questions[0].key = "support".into();
        assert!(q.check().is_err());
    }
}
