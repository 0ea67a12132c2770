//! The question editor's form: a question shown as fields and read back, with every problem against the field
//! it is about. Options (and a grid's rows) are rows of label and key fields; "Add another option" and
//! "Remove" are buttons that show the form again with nothing saved, so the editor needs no JavaScript.

use super::forms::Fields;
use crate::domain::questionnaire::{key_from, limits, unique_key, valid_key, Choice, Kind, Purpose, Question};
use crate::domain::text::Text;
use serde::Serialize;

/// The scale a new scale or grid question starts with.
const AGREE_SCALE: [&str; 5] =
    ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree"];

/// The fields of a question kind's form beyond the common ones.
pub fn fields_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::MultipleChoice => &["min_selections", "max_selections", "other", "other_label", "none", "none_label"],
        Kind::SingleChoice => &["other", "other_label"],
        Kind::ShortText | Kind::LongText => &["max_length"],
        Kind::Number => &["min", "max"],
        _ => &[],
    }
}

/// The common fields of every question's form.
pub const COMMON: &[&str] = &["kind", "prompt", "hint", "key", "required", "purpose", "section"];

/// Fills the form from a question (to edit it), or with a new question's starting options.
pub fn to_fields(q: &Question, fields: &mut Fields) {
    fields.set("kind", q.kind.as_str());
    fields.set("prompt", q.prompt.as_str());
    fields.set("hint", q.hint.as_ref().map(|h| h.as_str().to_string()).unwrap_or_default());
    fields.set("key", q.key.clone());
    fields.set("required", if q.required { "yes" } else { "no" });
    fields.set("purpose", purpose_name(q.purpose));
    let ordinary: Vec<&Choice> = q.options.iter().filter(|o| !o.other && !o.exclusive).collect();
    set_rows(fields, "option", &ordinary);
    set_rows(fields, "row", &q.rows.iter().collect::<Vec<_>>());
    if let Some(o) = q.options.iter().find(|o| o.other) {
        fields.set("other", "yes");
        fields.set("other_label", o.label.as_str());
    }
    if let Some(o) = q.options.iter().find(|o| o.exclusive) {
        fields.set("none", "yes");
        fields.set("none_label", o.label.as_str());
    }
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    fields.set("min_selections", number(q.min_selections.map(i64::from)));
    fields.set("max_selections", number(q.max_selections.map(i64::from)));
    fields.set("max_length", number(q.max_length.map(i64::from)));
    fields.set("min", number(q.min));
    fields.set("max", number(q.max));
}

/// A new question of `kind`: choice kinds start with options to edit (an agree scale for scales and grids).
pub fn starting(kind: Kind) -> Question {
    // A blank line has a blank key, so that saving makes the key from the label the officer types.
    let choice = |label: &str| Choice {
        key: if label.is_empty() { String::new() } else { key_from(label) },
        label: label.into(),
        other: false,
        exclusive: false,
    };
    let options: Vec<Choice> = match kind {
        Kind::Scale | Kind::Grid => AGREE_SCALE.iter().map(|l| choice(l)).collect(),
        Kind::SingleChoice | Kind::MultipleChoice | Kind::Ranking => vec![choice(""), choice("")],
        _ => Vec::new(),
    };
    Question {
        key: String::new(),
        kind,
        prompt: Text::default(),
        hint: None,
        required: true,
        options,
        rows: if kind == Kind::Grid { vec![choice(""), choice("")] } else { Vec::new() },
        min_selections: None,
        max_selections: None,
        max_length: None,
        min: None,
        max: None,
        purpose: Purpose::Opinion,
    }
}

fn set_rows(fields: &mut Fields, what: &str, choices: &[&Choice]) {
    fields.set(&format!("{what}_count"), choices.len().to_string());
    for (i, c) in choices.iter().enumerate() {
        fields.set(&format!("{what}_{i}_label"), c.label.as_str());
        fields.set(&format!("{what}_{i}_key"), c.key.clone());
    }
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Opinion => "opinion",
        Purpose::Profile => "profile",
        Purpose::EqualityMonitoring => "equality_monitoring",
    }
}

/// One option (or row) line of the editor.
#[derive(Serialize)]
pub struct ChoiceRow {
    pub index: usize,
    /// The line's number as officers count, from 1.
    pub number: usize,
    pub label: super::forms::FieldView,
    pub key: super::forms::FieldView,
}

/// The option (or row) lines the form shows.
pub fn rows(fields: &Fields, what: &str) -> Vec<ChoiceRow> {
    let count: usize = fields.value(&format!("{what}_count")).parse().unwrap_or(0).min(limits::OPTIONS);
    (0..count)
        .map(|i| ChoiceRow {
            index: i,
            number: i + 1,
            label: fields.field(&format!("{what}_{i}_label")),
            key: fields.field(&format!("{what}_{i}_key")),
        })
        .collect()
}

/// Applies an editor button that changes the form without saving: "Add another option", "Remove".
/// Returns whether the action was one.
pub fn rearrange(fields: &mut Fields, action: &str) -> bool {
    for what in ["option", "row"] {
        let count_name = format!("{what}_count");
        let count: usize = fields.value(&count_name).parse().unwrap_or(0);
        if action == format!("add_{what}") {
            fields.set(&count_name, (count + 1).min(limits::OPTIONS).to_string());
            return true;
        }
        if let Some(i) = action.strip_prefix(&format!("remove_{what}_")).and_then(|i| i.parse::<usize>().ok()) {
            if i < count {
                for j in i..count - 1 {
                    let (label, key) = (
                        fields.value(&format!("{what}_{}_label", j + 1)),
                        fields.value(&format!("{what}_{}_key", j + 1)),
                    );
                    fields.set(&format!("{what}_{j}_label"), label);
                    fields.set(&format!("{what}_{j}_key"), key);
                }
                fields.set(&count_name, (count - 1).to_string());
            }
            return true;
        }
    }
    false
}

/// Reads a question from the form, recording each problem against its field. `taken` says whether a key is
/// used by another question or section.
pub fn from_fields(fields: &mut Fields, taken: impl Fn(&str) -> bool) -> Option<Question> {
    let kind = Kind::parse(&fields.value("kind"));
    if kind.is_none() {
        fields.error("kind", "Select what kind of question this is");
    }
    let prompt = fields.required("prompt", "Enter the question");
    fields.at_most("prompt", limits::PROMPT, "The question");
    let hint = fields.at_most("hint", limits::HINT, "The hint");
    let key = match fields.value("key") {
        k if k.is_empty() => unique_key(&key_from(&prompt), &taken),
        k => k,
    };
    if !valid_key(&key) {
        fields.error("key", "The key must be 1 to 64 lowercase letters, digits and underscores, like support_plan");
    } else if taken(&key) {
        fields.error("key", format!("The key ‘{key}’ is used by another question or section: choose another"));
    }
    let required = match fields.value("required").as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            fields.error("required", "Select whether residents must answer this question");
            false
        }
    };
    let purpose = match fields.value("purpose").as_str() {
        "" | "opinion" => Purpose::Opinion,
        "profile" => Purpose::Profile,
        "equality_monitoring" => Purpose::EqualityMonitoring,
        _ => {
            fields.error("purpose", "Select what the question is for");
            Purpose::Opinion
        }
    };
    let kind = kind?;
    let mut options = if kind.has_options() { choices(fields, "option", "option") } else { Vec::new() };
    if kind.has_options() && options.len() < 2 {
        fields.error("option_0_label", "Give at least two options");
    }
    let special = |fields: &mut Fields, flag: &str, label_field: &str, default: &str, key: &str| -> Option<Choice> {
        (fields.value(flag) == "yes").then(|| {
            let label = match fields.value(label_field) {
                l if l.is_empty() => default.to_string(),
                l => l,
            };
            Choice { key: key.to_string(), label: label.into(), other: false, exclusive: false }
        })
    };
    if matches!(kind, Kind::SingleChoice | Kind::MultipleChoice) {
        if let Some(mut other) = special(fields, "other", "other_label", "Other", "other") {
            other.key = unique_key("other", |k| options.iter().any(|o| o.key == k));
            other.other = true;
            options.push(other);
        }
    }
    if kind == Kind::MultipleChoice {
        if let Some(mut none) = special(fields, "none", "none_label", "None of these", "none") {
            none.key = unique_key("none", |k| options.iter().any(|o| o.key == k));
            none.exclusive = true;
            options.push(none);
        }
    }
    let rows = if kind == Kind::Grid { choices(fields, "row", "row") } else { Vec::new() };
    if kind == Kind::Grid && rows.is_empty() {
        fields.error("row_0_label", "Give at least one row");
    }
    let mut number = |name: &str, what: &str| -> Option<i64> {
        let raw = fields.value(name);
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                fields.error(name, format!("{what} must be a whole number, like 3"));
                None
            }
        }
    };
    let (mut min_selections, mut max_selections, mut max_length, mut min, mut max) = (None, None, None, None, None);
    match kind {
        Kind::MultipleChoice => {
            min_selections = number("min_selections", "The fewest options to select").map(|n| n as i32);
            max_selections = number("max_selections", "The most options to select").map(|n| n as i32);
        }
        Kind::ShortText | Kind::LongText => max_length = number("max_length", "The character limit").map(|n| n as i32),
        Kind::Number => {
            min = number("min", "The smallest number allowed");
            max = number("max", "The largest number allowed");
        }
        _ => {}
    }
    let question = Question {
        key,
        kind,
        prompt: prompt.into(),
        hint: Some(hint).filter(|h| !h.is_empty()).map(Text::from),
        required,
        options,
        rows,
        min_selections,
        max_selections,
        max_length,
        min,
        max,
        purpose,
    };
    // The rules a question keeps on its own, as the questionnaire checks them, against the form.
    let mut alone = crate::domain::questionnaire::Questionnaire::default();
    alone.sections.push(crate::domain::questionnaire::Section {
        key: "s".into(),
        title: "S".into(),
        description: None,
        questions: vec![question.clone()],
    });
    if let Err(problems) = alone.check() {
        // "At least two options" is already said against the first option, in the editor's own words.
        let already = fields.has_errors();
        for p in problems.into_iter().filter(|p| !already || !p.contains("at least two options")) {
            let field = field_for(&p);
            fields.error(field, p);
        }
    }
    (!fields.has_errors()).then_some(question)
}

/// The field a questionnaire problem about one question belongs to.
fn field_for(problem: &str) -> &'static str {
    if problem.contains("selections") {
        "min_selections"
    } else if problem.contains("character limit") {
        "max_length"
    } else if problem.contains("number allowed") || problem.contains("range") {
        "min"
    } else if problem.contains("row") {
        "row_0_label"
    } else if problem.contains("option") || problem.contains("label") {
        "option_0_label"
    } else if problem.contains("hint") {
        "hint"
    } else {
        "prompt"
    }
}

/// The option (or row) lines read back: blank lines are dropped; a blank key is made from the label.
fn choices(fields: &mut Fields, what: &str, noun: &str) -> Vec<Choice> {
    let count: usize = fields.value(&format!("{what}_count")).parse().unwrap_or(0).min(limits::OPTIONS);
    let mut out: Vec<Choice> = Vec::new();
    for i in 0..count {
        let label_name = format!("{what}_{i}_label");
        let key_name = format!("{what}_{i}_key");
        let label = fields.at_most(&label_name, limits::LABEL, &format!("The {noun} label"));
        let given = fields.value(&key_name);
        if label.is_empty() && given.is_empty() {
            continue;
        }
        if label.is_empty() {
            fields.error(&label_name, format!("Enter the label of {noun} {}", i + 1));
            continue;
        }
        let key = match given {
            k if k.is_empty() => unique_key(&key_from(&label), |k| out.iter().any(|o| o.key == k)),
            k => k,
        };
        if !valid_key(&key) {
            fields.error(
                &key_name,
                format!("The key of {noun} {} must be lowercase letters, digits and underscores", i + 1),
            );
        } else if out.iter().any(|o| o.key == key) {
            fields.error(&key_name, format!("The key ‘{key}’ is used by another {noun}: each needs its own"));
        }
        out.push(Choice { key, label: label.into(), other: false, exclusive: false });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_choice_question_starts_with_blank_lines_whose_keys_come_from_the_labels_typed() {
        for kind in [Kind::SingleChoice, Kind::MultipleChoice, Kind::Ranking, Kind::Grid] {
            let q = starting(kind);
            let mut fields = Fields::default();
            to_fields(&q, &mut fields);
            for (i, label) in ["Yes", "No"].iter().enumerate() {
                if kind != Kind::Grid {
                    assert_eq!(fields.value(&format!("option_{i}_key")), "", "{kind:?}");
                    fields.set(&format!("option_{i}_label"), *label);
                }
                fields.set(&format!("row_{i}_label"), *label);
            }
            fields.set("prompt", "Do you agree?");
            fields.set("required", "yes");
            let question = from_fields(&mut fields, |_| false);
            assert!(!fields.has_errors(), "{kind:?}: {:?}", fields.summary());
            let question = question.unwrap();
            if kind != Kind::Grid {
                assert_eq!(question.options.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["yes", "no"]);
            }
        }
    }
}
