//! A questionnaire version: sections, questions, options and routing rules, as residents and the API see them,
//! and the rules a questionnaire must keep to be published — on its own, and against the versions before it.
//! A published version is frozen: nothing here mutates one.

use super::text::Text;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
    /// Rows, each answered on one scale: one fieldset of radios per row.
    Grid,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::SingleChoice,
        Kind::MultipleChoice,
        Kind::Scale,
        Kind::ShortText,
        Kind::LongText,
        Kind::Number,
        Kind::Date,
        Kind::Ranking,
        Kind::Grid,
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
            Kind::Grid => "grid",
        }
    }

    /// The kind in words, for officers: "an agree/disagree scale".
    pub fn describe(self) -> &'static str {
        match self {
            Kind::SingleChoice => "single choice (radios)",
            Kind::MultipleChoice => "multiple choice (checkboxes)",
            Kind::Scale => "agree/disagree scale",
            Kind::ShortText => "short text",
            Kind::LongText => "long text",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::Ranking => "ranking",
            Kind::Grid => "grid (rows on one scale)",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether answers are option keys, so results count them per option.
    pub fn has_options(self) -> bool {
        matches!(self, Kind::SingleChoice | Kind::MultipleChoice | Kind::Scale | Kind::Ranking | Kind::Grid)
    }

    /// Whether a routing rule may depend on answers to this kind.
    pub fn routes(self) -> bool {
        matches!(self, Kind::SingleChoice | Kind::MultipleChoice | Kind::Scale)
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

/// What a question is for. Profile and equality monitoring questions describe the respondent rather than
/// their views: cross-tabs break results down by them, and public views suppress their small groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    Opinion,
    Profile,
    EqualityMonitoring,
}

impl Purpose {
    pub fn is_default(&self) -> bool {
        *self == Purpose::Opinion
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Choice {
    /// Stable: results, exports and routing refer to the option by its key, whatever its label becomes.
    #[schema(pattern = "^[a-z0-9_]+$")]
    pub key: String,
    pub label: Text,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Question {
    /// Stable: answers, results and exports refer to the question by its key.
    #[schema(pattern = "^[a-z0-9_]+$")]
    pub key: String,
    pub kind: Kind,
    pub prompt: Text,
    /// Help text shown under the prompt.
    #[serde(default)]
    pub hint: Option<Text>,
    pub required: bool,
    /// The choices; for a grid, the scale every row is answered on.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// A grid's rows (only `key` and `label` apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<Choice>,
    /// Multiple choice: the fewest options a respondent may choose.
    #[serde(default)]
    pub min_selections: Option<i32>,
    /// Multiple choice: the most options a respondent may choose.
    #[serde(default)]
    pub max_selections: Option<i32>,
    /// Text: the most characters; when null, 200 for short text and 5000 for long text.
    #[serde(default)]
    pub max_length: Option<i32>,
    /// Number: the smallest answer allowed.
    #[serde(default)]
    pub min: Option<i64>,
    /// Number: the largest answer allowed.
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Purpose::is_default")]
    pub purpose: Purpose,
}

impl Question {
    pub fn option(&self, key: &str) -> Option<&Choice> {
        self.options.iter().find(|o| o.key == key)
    }

    pub fn row(&self, key: &str) -> Option<&Choice> {
        self.rows.iter().find(|r| r.key == key)
    }

    pub fn other_option(&self) -> Option<&Choice> {
        self.options.iter().find(|o| o.other)
    }

    pub fn max_length(&self) -> Option<i32> {
        self.max_length.or(self.kind.default_max_length())
    }

    /// The keys results are counted under: each grid row, or the question itself (the empty row key).
    pub fn row_keys(&self) -> Vec<&str> {
        if self.kind == Kind::Grid {
            self.rows.iter().map(|r| r.key.as_str()).collect()
        } else {
            vec![""]
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Section {
    #[schema(pattern = "^[a-z0-9_]+$")]
    pub key: String,
    pub title: Text,
    /// Shown above the section's questions, in markdown.
    #[serde(default)]
    pub description: Option<Text>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Section,
    Question,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The target is shown only when the condition holds.
    Show,
    /// The target is skipped when the condition holds.
    Skip,
}

/// Holds when `question` was shown and its answer (or, for multiple choice, any option chosen) is one of
/// `any_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Condition {
    pub question: String,
    pub any_of: Vec<String>,
}

/// A routing rule: `show` shows the target (a section or a question, by key) only when the condition holds;
/// `skip` skips it when the condition holds. Several rules on one target must all allow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub target: Target,
    /// The key of the section or question the rule shows or skips.
    pub key: String,
    pub action: Action,
    pub when: Condition,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Questionnaire {
    pub sections: Vec<Section>,
    #[serde(default)]
    pub routing: Vec<Rule>,
}

/// What one version of a consultation holds: its words and its questionnaire. The slug, dates and results
/// policy belong to the consultation and are not versioned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Content {
    pub title: Text,
    pub summary: Text,
    /// Background, in markdown (rendered through the sanitiser).
    pub body: Text,
    #[serde(flatten)]
    pub questionnaire: Questionnaire,
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

    /// A routing rule in words, naming its target and condition by their text, for officers.
    pub fn describe_rule(&self, rule: &Rule) -> String {
        let target = match rule.target {
            Target::Question => self
                .question(&rule.key)
                .map_or_else(|| format!("question ‘{}’ (deleted)", rule.key), |q| format!("‘{}’", q.prompt)),
            Target::Section => self
                .section(&rule.key)
                .map_or_else(|| format!("section ‘{}’ (deleted)", rule.key), |s| format!("the section ‘{}’", s.title)),
        };
        let verb = match rule.action {
            Action::Show => "Show",
            Action::Skip => "Skip",
        };
        let (source, answers) = match self.question(&rule.when.question) {
            Some(q) => (
                format!("‘{}’", q.prompt),
                rule.when
                    .any_of
                    .iter()
                    .map(|k| q.option(k).map_or_else(|| format!("‘{k}’ (deleted)"), |o| format!("‘{}’", o.label)))
                    .collect::<Vec<_>>(),
            ),
            None => (format!("question ‘{}’ (deleted)", rule.when.question), rule.when.any_of.clone()),
        };
        format!("{verb} {target} when the answer to {source} is {}", answers.join(" or "))
    }

    /// Checks the rules a questionnaire must keep before it can be published; each problem in plain words,
    /// naming what it is about.
    pub fn check(&self) -> Result<(), Vec<String>> {
        self.problems(Readiness::Publish)
    }

    /// Checks the rules even a draft keeps: everything `check` does but that it is complete (a draft may have
    /// no sections yet, or a section with no questions yet).
    pub fn check_draft(&self) -> Result<(), Vec<String>> {
        self.problems(Readiness::Draft)
    }

    fn problems(&self, readiness: Readiness) -> Result<(), Vec<String>> {
        let complete = readiness == Readiness::Publish;
        let mut problems = Vec::new();
        let mut section_keys = HashSet::new();
        let mut seen: HashMap<&str, &Question> = HashMap::new();
        let mut order: HashMap<&str, usize> = HashMap::new();
        if complete && self.sections.is_empty() {
            problems.push("A questionnaire needs at least one section".to_string());
        }
        if self.sections.len() > limits::SECTIONS {
            problems.push(format!("A questionnaire can have at most {} sections", limits::SECTIONS));
        }
        if self.questions().count() > limits::QUESTIONS {
            problems.push(format!("A questionnaire can have at most {} questions", limits::QUESTIONS));
        }
        if self.routing.len() > limits::RULES {
            problems.push(format!("A questionnaire can have at most {} routes", limits::RULES));
        }
        for section in &self.sections {
            if !valid_key(&section.key) || !section_keys.insert(section.key.as_str()) {
                problems.push(format!(
                    "Section key ‘{}’ is not a unique key of lowercase letters, digits and _",
                    section.key
                ));
            }
            if RESERVED_PAGE_KEYS.contains(&section.key.as_str()) {
                problems.push(format!("Section key ‘{}’ is reserved: choose another", section.key));
            }
            if section.title.is_blank() {
                problems.push(format!("Section ‘{}’ needs a title", section.key));
            }
            let named = format!("Section ‘{}’", section.key);
            problems.extend(too_long(&section.title, limits::SECTION_TITLE, &format!("The title of {named}")));
            if let Some(d) = &section.description {
                problems.extend(too_long(d, limits::DESCRIPTION, &format!("The description of {named}")));
            }
            if complete && section.questions.is_empty() {
                problems.push(format!("Section ‘{}’ has no questions", section.title));
            }
            for q in &section.questions {
                if !valid_key(&q.key) || seen.insert(q.key.as_str(), q).is_some() {
                    problems.push(format!(
                        "Question key ‘{}’ is not a unique key of lowercase letters, digits and _",
                        q.key
                    ));
                }
                order.insert(q.key.as_str(), order.len());
                check_question(q, &mut problems);
            }
        }
        for rule in &self.routing {
            let name = self.describe_rule(rule);
            let Some(source) = seen.get(rule.when.question.as_str()) else {
                problems.push(format!("The route “{name}” depends on a question that no longer exists"));
                continue;
            };
            if !source.kind.routes() {
                problems.push(format!(
                    "The route “{name}” must depend on a single choice, multiple choice or scale question"
                ));
            }
            if rule.when.any_of.is_empty() || rule.when.any_of.iter().any(|k| source.option(k).is_none()) {
                problems.push(format!("The route “{name}” names an answer that no longer exists"));
            }
            let source_at = order[rule.when.question.as_str()];
            let target_first = match rule.target {
                Target::Question => order.get(rule.key.as_str()).copied(),
                Target::Section => self
                    .section(&rule.key)
                    .and_then(|s| s.questions.first().and_then(|q| order.get(q.key.as_str()).copied())),
            };
            match target_first {
                None => problems
                    .push(format!("The route “{name}” leads to a {} that no longer exists", target_name(rule.target))),
                Some(at) if at == source_at => {
                    problems.push(format!("The route “{name}” would make a question depend on itself (a loop)"))
                }
                Some(at) if at < source_at => problems.push(format!(
                    "The route “{name}” goes backwards: it must lead to something after the question it depends on"
                )),
                Some(_) => {}
            }
            if rule.target == Target::Section
                && self.section(&rule.key).is_some_and(|s| s.questions.iter().any(|q| q.key == rule.when.question))
            {
                problems.push(format!("The route “{name}” hides the section its own question is in (a loop)"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Checks that this questionnaire keeps the meaning of every key the `earlier` published versions gave out,
    /// as it must once responses exist: a question key keeps its kind, and an option or grid row key keeps its
    /// label (up to case, spacing and punctuation). Otherwise counts under one key would mix two meanings.
    pub fn check_against(&self, earlier: &[(i32, &Questionnaire)]) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for question in self.questions() {
            for (number, before) in earlier {
                let Some(old) = before.question(&question.key) else { continue };
                if old.kind != question.kind {
                    problems.push(format!(
                        "Question ‘{}’ was a {} question in version {number}: its key ‘{}’ must keep that kind \
                         now that there are responses. Give the new question a new key",
                        question.prompt,
                        old.kind.describe(),
                        question.key
                    ));
                    break;
                }
                for (what, now, then) in
                    [("option", &question.options, &old.options), ("row", &question.rows, &old.rows)]
                {
                    for choice in now {
                        let Some(was) = then.iter().find(|c| c.key == choice.key) else { continue };
                        if same_meaning(&was.label.en, &choice.label.en) {
                            continue;
                        }
                        problems.push(format!(
                            "The {what} ‘{}’ of ‘{}’ was ‘{}’ in version {number}: its key ‘{}’ must keep that \
                             meaning now that there are responses. Give the new {what} a new key",
                            choice.label, question.prompt, was.label, choice.key
                        ));
                    }
                }
            }
        }
        problems.dedup();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Labels mean the same when they differ only in case, spacing or punctuation (a corrected typo).
fn same_meaning(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    norm(a) == norm(b)
}

fn target_name(t: Target) -> &'static str {
    match t {
        Target::Section => "section",
        Target::Question => "question",
    }
}

/// The most a questionnaire may hold, so that a pasted or imported definition cannot make a page no one can
/// use (or a request no server should serve). Characters, counted as Unicode scalar values.
pub mod limits {
    pub const TITLE: usize = 200;
    pub const SUMMARY: usize = 1_000;
    pub const BODY: usize = 50_000;
    pub const SECTION_TITLE: usize = 200;
    pub const DESCRIPTION: usize = 5_000;
    pub const PROMPT: usize = 500;
    pub const HINT: usize = 1_000;
    pub const LABEL: usize = 300;
    pub const SECTIONS: usize = 50;
    pub const QUESTIONS: usize = 300;
    pub const OPTIONS: usize = 100;
    pub const ROWS: usize = 50;
    pub const RULES: usize = 300;
}

/// A problem if any language of `text` is longer than `max` characters.
pub fn too_long(text: &Text, max: usize, what: &str) -> Option<String> {
    let longest = std::iter::once(&text.en).chain(text.cy.iter()).map(|t| t.chars().count()).max().unwrap_or(0);
    (longest > max).then(|| format!("{what} must be {max} characters or fewer (it has {longest})"))
}

/// How ready a questionnaire must be: a draft may be unfinished; a version to publish may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Draft,
    Publish,
}

impl Content {
    /// Checks the words of a version as well as its questionnaire, before it is published.
    pub fn check(&self) -> Result<(), Vec<String>> {
        self.problems(Readiness::Publish)
    }

    /// Checks what even a draft keeps (see `Questionnaire::check_draft`).
    pub fn check_draft(&self) -> Result<(), Vec<String>> {
        self.problems(Readiness::Draft)
    }

    fn problems(&self, readiness: Readiness) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.title.is_blank() {
            problems.push("The consultation needs a title".to_string());
        }
        if self.summary.is_blank() {
            problems.push("The consultation needs a summary".to_string());
        }
        problems.extend(too_long(&self.title, limits::TITLE, "The title"));
        problems.extend(too_long(&self.summary, limits::SUMMARY, "The summary"));
        problems.extend(too_long(&self.body, limits::BODY, "The background"));
        if let Err(more) = self.questionnaire.problems(readiness) {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Section keys name pages in addresses (the journey's and the builder's) beside these.
const RESERVED_PAGE_KEYS: [&str; 3] = ["check", "confirmation", "new"];

/// The longest key: keys appear in addresses, field names, HTML ids and export column headers.
pub const MAX_KEY_LENGTH: usize = 64;

/// Keys are short lowercase words joined by underscores, safe in addresses, field names and HTML ids.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LENGTH
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A key made from a label: "Strongly agree" becomes `strongly_agree`. Callers make it unique.
pub fn key_from(label: &str) -> String {
    let mut key = String::new();
    for c in label.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
        if key.len() >= 40 {
            break;
        }
    }
    let key = key.trim_end_matches('_').to_string();
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        format!("k_{key}").trim_end_matches('_').to_string()
    } else {
        key
    }
}

/// `base`, or `base_2`, `base_3`… — the first that `taken` does not hold.
pub fn unique_key(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..).map(|n| format!("{base}_{n}")).find(|k| !taken(k)).expect("some suffix is free")
}

fn check_question(q: &Question, problems: &mut Vec<String>) {
    let name = if q.prompt.is_blank() { format!("‘{}’", q.key) } else { format!("‘{}’", q.prompt) };
    if q.prompt.is_blank() {
        problems.push(format!("Question {name} needs the question text"));
    }
    problems.extend(too_long(&q.prompt, limits::PROMPT, &format!("The text of question ‘{}’", q.key)));
    if let Some(h) = &q.hint {
        problems.extend(too_long(h, limits::HINT, &format!("The hint of question {name}")));
    }
    if q.options.len() > limits::OPTIONS {
        problems.push(format!("Question {name} can have at most {} options", limits::OPTIONS));
    }
    if q.rows.len() > limits::ROWS {
        problems.push(format!("Question {name} can have at most {} rows", limits::ROWS));
    }
    for c in q.options.iter().chain(&q.rows) {
        problems.extend(too_long(&c.label, limits::LABEL, &format!("The label ‘{}’ of question {name}", c.key)));
    }
    if q.kind.has_options() {
        if q.options.len() < 2 {
            problems.push(format!("Question {name} needs at least two options"));
        }
        let mut keys = HashSet::new();
        for o in &q.options {
            if !valid_key(&o.key) || !keys.insert(o.key.as_str()) {
                problems.push(format!("Question {name} has a repeated or invalid option key ‘{}’", o.key));
            }
            if o.label.is_blank() {
                problems.push(format!("Question {name} has an option with no label (key ‘{}’)", o.key));
            }
        }
        if q.options.iter().filter(|o| o.other).count() > 1 {
            problems.push(format!("Question {name} has more than one ‘Other’ option"));
        }
        if q.kind != Kind::MultipleChoice && q.options.iter().any(|o| o.exclusive) {
            problems.push(format!("Only multiple choice questions can have a ‘None of these’ option ({name})"));
        }
        if matches!(q.kind, Kind::Ranking | Kind::Grid) && q.options.iter().any(|o| o.other) {
            problems.push(format!("Question {name} cannot have an ‘Other’ option"));
        }
    } else if !q.options.is_empty() {
        problems.push(format!("Question {name} cannot have options"));
    }
    if q.kind == Kind::Grid {
        if q.rows.is_empty() {
            problems.push(format!("Grid question {name} needs at least one row"));
        }
        let mut keys = HashSet::new();
        for r in &q.rows {
            if !valid_key(&r.key) || !keys.insert(r.key.as_str()) {
                problems.push(format!("Grid question {name} has a repeated or invalid row key ‘{}’", r.key));
            }
            if r.label.is_blank() {
                problems.push(format!("Grid question {name} has a row with no label (key ‘{}’)", r.key));
            }
            if r.other || r.exclusive {
                problems.push(format!("Grid question {name}: rows cannot be ‘Other’ or ‘None of these’"));
            }
        }
    } else if !q.rows.is_empty() {
        problems.push(format!("Question {name} cannot have rows: only grid questions do"));
    }
    if q.kind == Kind::MultipleChoice {
        let choosable = q.options.iter().filter(|o| !o.exclusive).count() as i32;
        if let Some(lo) = q.min_selections {
            if lo < 1 || lo > choosable {
                problems.push(format!(
                    "Question {name}: the minimum number of selections must be between 1 and {choosable}"
                ));
            }
        }
        if let Some(hi) = q.max_selections {
            if hi < 1 || hi > choosable {
                problems.push(format!(
                    "Question {name}: the maximum number of selections must be between 1 and {choosable}"
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (q.min_selections, q.max_selections) {
            if lo > hi {
                problems.push(format!("Question {name}: the minimum number of selections is more than the maximum"));
            }
        }
    } else if q.min_selections.is_some() || q.max_selections.is_some() {
        problems.push(format!("Question {name}: only multiple choice questions have a number of selections"));
    }
    if q.kind == Kind::Number {
        if let (Some(lo), Some(hi)) = (q.min, q.max) {
            if lo > hi {
                problems.push(format!("Question {name}: the smallest number allowed is more than the largest"));
            }
        }
    } else if q.min.is_some() || q.max.is_some() {
        problems.push(format!("Question {name}: only number questions have a range"));
    }
    if matches!(q.kind, Kind::ShortText | Kind::LongText) {
        let ceiling = if q.kind == Kind::ShortText { 500 } else { 20_000 };
        if q.max_length.is_some_and(|m| m < 1 || m > ceiling) {
            problems.push(format!("Question {name}: the character limit must be between 1 and {ceiling}"));
        }
    } else if q.max_length.is_some() {
        problems.push(format!("Question {name}: only text questions have a character limit"));
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
                        {"key": "north", "label": "North"}, {"key": "south", "label": "South"}]},
                    {"key": "ratings", "kind": "grid", "prompt": "Rate our service", "required": false,
                     "rows": [{"key": "speed", "label": "Speed"}, {"key": "manner", "label": "Manner"}],
                     "options": [{"key": "good", "label": "Good"}, {"key": "poor", "label": "Poor"}]}
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
        let problems = q.check().unwrap_err();
        assert!(problems[0].contains("loop") && problems[0].contains("Do you agree?"), "{problems:?}");
        let mut q = sample();
        q.routing[1].when.question = "rank".into();
        q.routing[1].when.any_of = vec!["a".into()];
        q.routing[1].target = Target::Question;
        q.routing[1].key = "support".into();
        let problems = q.check().unwrap_err();
        assert!(problems.iter().any(|p| p.contains("goes backwards")), "{problems:?}");
    }

    #[test]
    fn a_route_to_a_deleted_question_is_named() {
        let mut q = sample();
        q.sections[0].questions.retain(|qq| qq.key != "why_not");
        let problems = q.check().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("question ‘why_not’ (deleted)") && problems[0].contains("no longer exists"));
    }

    #[test]
    fn a_later_version_keeps_the_meaning_of_its_keys() {
        let first = sample();
        let mut next = sample();
        // A corrected label keeps its meaning; a new question and a new option are fine.
        next.sections[0].questions[0].options[0].label = "agree.".into();
        next.sections[0].questions[0].options.push(Choice {
            key: "unsure".into(),
            label: "Not sure".into(),
            other: false,
            exclusive: false,
        });
        assert_eq!(next.check_against(&[(1, &first)]), Ok(()));
        next.sections[0].questions[0].options[1].label = "Strongly agree".into();
        next.sections[1].questions[1].kind = Kind::ShortText;
        let problems = next.check_against(&[(1, &first)]).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("was ‘Disagree’ in version 1"), "{problems:?}");
        assert!(problems[1].contains("was a number question"), "{problems:?}");
    }

    #[test]
    fn keys_are_made_from_labels() {
        assert_eq!(key_from("Strongly agree!"), "strongly_agree");
        assert_eq!(key_from("18 to 24"), "k_18_to_24");
        assert_eq!(key_from("***"), "k");
        assert_eq!(unique_key("agree", |k| k == "agree" || k == "agree_2"), "agree_3");
    }

    #[test]
    fn repeated_keys_are_refused() {
        let mut q = sample();
        q.sections[1].questions[0].key = "support".into();
        assert!(q.check().is_err());
    }
}
