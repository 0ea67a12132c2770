//! Turning what a resident or an API client sent into typed answers, and every rule an answer must keep.
//! One set of rules serves both the HTML pages and the JSON API; only the parsing of their inputs differs.

use super::answers::{Answer, Answers, Value};
use super::fields;
use super::questionnaire::{Kind, Question, Questionnaire, Target};
use super::routing::{self, Shown};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, HashSet};

/// The most characters an "Other (please specify)" text may have.
pub const OTHER_MAX_LENGTH: usize = 200;

/// One thing wrong with one question's answer. `field` is the id of the HTML field to link to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub question: String,
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(q: &Question, message: impl Into<String>) -> Problem {
        Problem { question: q.key.clone(), field: fields::id(&q.key), message: message.into() }
    }

    fn on_field(q: &Question, field: String, message: impl Into<String>) -> Problem {
        Problem { question: q.key.clone(), field, message: message.into() }
    }

    fn on_other(q: &Question, message: impl Into<String>) -> Problem {
        Problem::on_field(q, fields::part_id(&q.key, "other"), message)
    }
}

/// Checks one typed answer against its question's rules.
pub fn check(q: &Question, answer: &Answer) -> Result<(), Problem> {
    match (&answer.value, q.kind) {
        (Value::Choice(k), Kind::SingleChoice | Kind::Scale) => {
            if q.option(k).is_none() {
                return Err(Problem::new(q, format!("Select one of the options for ‘{}’", q.prompt)));
            }
        }
        (Value::Choices(ks), Kind::MultipleChoice) => check_choices(q, ks)?,
        (Value::Ranking(ks), Kind::Ranking) => {
            let distinct: HashSet<&String> = ks.iter().collect();
            if ks.len() != q.options.len() || distinct.len() != ks.len() || ks.iter().any(|k| q.option(k).is_none()) {
                return Err(Problem::new(q, rank_message(q)));
            }
        }
        (Value::Text(t), Kind::ShortText | Kind::LongText) => check_text(q, t).map_err(|m| Problem::new(q, m))?,
        (Value::Number(n), Kind::Number) => {
            if q.min.is_some_and(|lo| *n < lo) || q.max.is_some_and(|hi| *n > hi) {
                return Err(Problem::new(q, number_message(q)));
            }
        }
        (Value::Date(d), Kind::Date) => {
            if !(1900..=2100).contains(&d.year()) {
                return Err(Problem::new(q, "Year must be between 1900 and 2100"));
            }
        }
        (Value::Grid(rows), Kind::Grid) => check_grid(q, rows)?,
        _ => return Err(Problem::new(q, format!("Answer is the wrong type for a {} question", q.kind.as_str()))),
    }
    let chose_other = q.other_option().is_some_and(|o| answer.value.option_keys().contains(&o.key));
    match (&answer.other, chose_other) {
        (Some(text), true) => {
            if text.chars().count() > OTHER_MAX_LENGTH {
                return Err(Problem::on_other(
                    q,
                    format!("Details of ‘Other’ must be {OTHER_MAX_LENGTH} characters or fewer"),
                ));
            }
            if has_control_chars(text) {
                return Err(Problem::on_other(q, "Details of ‘Other’ must not contain control characters"));
            }
        }
        (None, true) => return Err(Problem::on_other(q, "Give details of ‘Other’, or choose a different option")),
        (Some(_), false) => {
            return Err(Problem::on_other(q, "Select ‘Other’ if you want to give details, or clear the details"))
        }
        (None, false) => {}
    }
    Ok(())
}

fn check_choices(q: &Question, ks: &[String]) -> Result<(), Problem> {
    if ks.iter().any(|k| q.option(k).is_none()) {
        return Err(Problem::new(q, format!("Select from the options for ‘{}’", q.prompt)));
    }
    if ks.iter().collect::<HashSet<_>>().len() != ks.len() {
        return Err(Problem::new(q, "Select each option only once"));
    }
    if ks.len() > 1 && ks.iter().any(|k| q.option(k).is_some_and(|o| o.exclusive)) {
        let none = q.options.iter().find(|o| o.exclusive).map_or("", |o| o.label.as_str());
        return Err(Problem::new(q, format!("Select ‘{none}’ on its own, or choose other options")));
    }
    let n = ks.len() as i32;
    match (q.min_selections, q.max_selections) {
        (Some(lo), Some(hi)) if n < lo || n > hi => {
            Err(Problem::new(q, format!("Select between {lo} and {hi} options")))
        }
        (Some(lo), None) if n < lo => Err(Problem::new(q, format!("Select at least {lo} options"))),
        (None, Some(hi)) if n > hi => Err(Problem::new(q, format!("Select no more than {hi} options"))),
        _ => Ok(()),
    }
}

fn check_grid(q: &Question, rows: &BTreeMap<String, String>) -> Result<(), Problem> {
    if rows.keys().any(|r| q.row(r).is_none()) || rows.values().any(|o| q.option(o).is_none()) {
        return Err(Problem::new(q, format!("Select from the options for each row of ‘{}’", q.prompt)));
    }
    if q.required {
        if let Some((i, missing)) = q.rows.iter().enumerate().find(|(_, r)| !rows.contains_key(&r.key)) {
            return Err(Problem::on_field(
                q,
                fields::row_id(&q.key, i, &missing.key),
                format!("Select an answer for ‘{}’ in ‘{}’", missing.label, q.prompt),
            ));
        }
    }
    Ok(())
}

fn check_text(q: &Question, text: &str) -> Result<(), String> {
    if let Some(max) = q.max_length() {
        if text.chars().count() > max as usize {
            return Err(format!("Answer must be {max} characters or fewer"));
        }
    }
    if has_control_chars(text) {
        return Err("Answer must not contain control characters".into());
    }
    Ok(())
}

/// NUL and other control characters have no place in an answer (PostgreSQL refuses NUL in text).
fn has_control_chars(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn rank_message(q: &Question) -> String {
    format!("Give each option a different number from 1 to {}", q.options.len())
}

fn number_message(q: &Question) -> String {
    match (q.min, q.max) {
        (Some(lo), Some(hi)) => format!("Enter a whole number between {lo} and {hi}"),
        (Some(lo), None) => format!("Enter a whole number of {lo} or more"),
        (None, Some(hi)) => format!("Enter a whole number of {hi} or fewer"),
        (None, None) => "Enter a whole number, like 4".into(),
    }
}

fn required_message(q: &Question) -> String {
    let verb = match q.kind {
        Kind::SingleChoice | Kind::Scale | Kind::MultipleChoice | Kind::Grid => "Select an answer for",
        Kind::Ranking => "Rank the options for",
        _ => "Enter an answer for",
    };
    format!("{verb} ‘{}’", q.prompt)
}

/// Checks what routing and requiredness demand of a whole set of answers: every question shown and required is
/// answered, and no question routed past has an answer.
pub fn check_complete(q: &Questionnaire, answers: &Answers, shown: &Shown) -> Vec<Problem> {
    let mut problems = Vec::new();
    for question in q.questions() {
        let answered = answers.contains_key(&question.key);
        if shown.question(&question.key) {
            if question.required && !answered {
                problems.push(Problem::new(question, required_message(question)));
            }
        } else if answered {
            problems.push(Problem::new(question, "This question is not asked given the other answers: leave it out"));
        }
    }
    problems
}

/// Parses and checks a whole response given as API JSON (`{"<key>": value, "<key>.other": "text"}`).
pub fn from_json(
    q: &Questionnaire,
    input: &serde_json::Map<String, serde_json::Value>,
) -> Result<Answers, Vec<Problem>> {
    let mut problems = Vec::new();
    for key in input.keys() {
        let known = match key.strip_suffix(".other") {
            Some(base) => q.question(base).is_some_and(|qq| qq.other_option().is_some()),
            None => q.question(key).is_some(),
        };
        if !known {
            problems.push(Problem {
                question: key.clone(),
                field: fields::id(key),
                message: "There is no such question".into(),
            });
        }
    }
    let mut answers = Answers::new();
    for question in q.questions() {
        let other = match input.get(&format!("{}.other", question.key)) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(_) => {
                problems.push(Problem::on_other(question, "Details of ‘Other’ must be a string"));
                continue;
            }
        };
        let value = match input.get(&question.key) {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match json_value(question, v) {
                Ok(v) => v,
                Err(message) => {
                    problems.push(Problem::new(question, message));
                    continue;
                }
            },
        };
        match value {
            Some(value) => {
                let answer = Answer { value, other };
                match check(question, &answer) {
                    Ok(()) => {
                        answers.insert(question.key.clone(), answer);
                    }
                    Err(p) => problems.push(p),
                }
            }
            None if other.is_some() => {
                problems.push(Problem::on_other(question, "Details of ‘Other’ were given without an answer"))
            }
            None => {}
        }
    }
    // Requiredness and routing are judged on the answers that parsed, except where they hang on an answer that
    // did not: whether those questions are asked cannot be known until it is put right.
    let failed: HashSet<String> = problems.iter().map(|p| p.question.clone()).collect();
    let undecidable = |key: &str| {
        failed.contains(key)
            || q.routing.iter().any(|r| {
                failed.contains(&r.when.question)
                    && match r.target {
                        Target::Question => r.key == key,
                        Target::Section => {
                            q.section(&r.key).is_some_and(|s| s.questions.iter().any(|qq| qq.key == key))
                        }
                    }
            })
    };
    let complete = check_complete(q, &answers, &routing::shown(q, &answers));
    problems.extend(complete.into_iter().filter(|p| !undecidable(&p.question)));
    if problems.is_empty() {
        Ok(answers)
    } else {
        Err(problems)
    }
}

/// One JSON value as the kind expects it; `Ok(None)` for an empty answer (a blank string or an empty list).
fn json_value(q: &Question, v: &serde_json::Value) -> Result<Option<Value>, String> {
    use serde_json::Value as J;
    let strings = |v: &J| -> Result<Vec<String>, String> {
        v.as_array()
            .ok_or("must be a list of option keys")?
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| "must be a list of option keys".to_string()))
            .collect()
    };
    Ok(match q.kind {
        Kind::SingleChoice | Kind::Scale => {
            Some(Value::Choice(v.as_str().ok_or("must be an option key (a string)")?.to_string()))
        }
        Kind::MultipleChoice => Some(strings(v)?).filter(|ks| !ks.is_empty()).map(Value::Choices),
        Kind::Ranking => Some(strings(v)?).filter(|ks| !ks.is_empty()).map(Value::Ranking),
        Kind::ShortText | Kind::LongText => text_value(v.as_str().ok_or("must be a string")?),
        Kind::Number => Some(Value::Number(v.as_i64().ok_or("must be a whole number")?)),
        Kind::Date => {
            let s = v.as_str().ok_or("must be a date as YYYY-MM-DD")?;
            Some(Value::Date(
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "must be a real date as YYYY-MM-DD")?,
            ))
        }
        Kind::Grid => {
            let rows = v.as_object().ok_or("must be an object from row keys to option keys")?;
            let mut chosen = BTreeMap::new();
            for (row, option) in rows {
                match option {
                    J::Null => {}
                    J::String(o) => {
                        chosen.insert(row.clone(), o.clone());
                    }
                    _ => return Err("must be an object from row keys to option keys".into()),
                }
            }
            Some(chosen).filter(|c| !c.is_empty()).map(Value::Grid)
        }
    })
}

/// A text answer, trimmed, with browsers' CRLF line breaks counted as one character each; none when blank.
fn text_value(raw: &str) -> Option<Value> {
    Some(raw.trim().replace("\r\n", "\n")).filter(|t| !t.is_empty()).map(Value::Text)
}

/// The fields of a submitted HTML form, by name, each with every value sent.
pub type Form = BTreeMap<String, Vec<String>>;

fn first<'a>(form: &'a Form, name: &str) -> &'a str {
    form.get(name).and_then(|v| v.first()).map_or("", |s| s.trim())
}

/// Parses the answers to one page's questions from its form. Returns the answers given and the problems found;
/// requiredness is checked too, since a page holds only questions that routing shows.
pub fn from_form(questions: &[&Question], shown: impl Fn(&str) -> bool, form: &Form) -> (Answers, Vec<Problem>) {
    parse_form(questions, shown, form, true)
}

/// Parses a whole questionnaire given on one form (an officer keying in a paper response), applying routing
/// as the answers decide it: answers to questions routed past are left out, as they would not have been
/// asked online, and requiredness is judged on the questions shown. Returns the answers, the problems (in
/// questionnaire order) and how many answers routing left out.
pub fn from_whole_form(q: &Questionnaire, form: &Form) -> (Answers, Vec<Problem>, usize) {
    let all: Vec<&Question> = q.questions().collect();
    let (mut answers, mut problems) = parse_form(&all, |_| true, form, false);
    let shown = routing::shown(q, &answers);
    let given = answers.len();
    answers.retain(|key, _| shown.question(key));
    problems.retain(|p| shown.question(&p.question));
    let failed: HashSet<String> = problems.iter().map(|p| p.question.clone()).collect();
    problems.extend(check_complete(q, &answers, &shown).into_iter().filter(|p| !failed.contains(&p.question)));
    let order: Vec<&str> = q.questions().map(|question| question.key.as_str()).collect();
    problems.sort_by_key(|p| order.iter().position(|k| *k == p.question).unwrap_or(usize::MAX));
    let left_out = given - answers.len();
    (answers, problems, left_out)
}

fn parse_form(
    questions: &[&Question],
    shown: impl Fn(&str) -> bool,
    form: &Form,
    required: bool,
) -> (Answers, Vec<Problem>) {
    let mut answers = Answers::new();
    let mut problems = Vec::new();
    for q in questions.iter().copied().filter(|q| shown(&q.key)) {
        match form_value(q, form) {
            Err(FormError::Whole(message)) => problems.push(Problem::new(q, message)),
            Err(FormError::OnField(field, message)) => problems.push(Problem::on_field(q, field, message)),
            Ok(None) if q.required && required => problems.push(Problem::new(q, required_message(q))),
            Ok(None) => {
                if !first(form, &fields::other_name(&q.key)).is_empty() && q.other_option().is_some() {
                    problems
                        .push(Problem::on_other(q, "Select ‘Other’ if you want to give details, or clear the details"));
                }
            }
            Ok(Some(value)) => {
                let other = Some(first(form, &fields::other_name(&q.key)).to_string()).filter(|s| !s.is_empty());
                let answer = Answer { value, other };
                match check(q, &answer) {
                    Ok(()) => {
                        answers.insert(q.key.clone(), answer);
                    }
                    Err(p) => problems.push(p),
                }
            }
        }
    }
    (answers, problems)
}

/// What is wrong with a form value: the message, and the field it is about when that is not the question's
/// first (GOV.UK links a missing month to the month field).
enum FormError {
    Whole(String),
    OnField(String, String),
}

impl From<String> for FormError {
    fn from(message: String) -> Self {
        FormError::Whole(message)
    }
}

impl From<&str> for FormError {
    fn from(message: &str) -> Self {
        FormError::Whole(message.to_string())
    }
}

fn form_value(q: &Question, form: &Form) -> Result<Option<Value>, FormError> {
    let name = fields::name(&q.key);
    Ok(match q.kind {
        Kind::SingleChoice | Kind::Scale => {
            let values = form.get(&name).map(Vec::as_slice).unwrap_or_default();
            if values.len() > 1 {
                return Err(format!("Select only one option for ‘{}’", q.prompt).into());
            }
            Some(first(form, &name).to_string()).filter(|s| !s.is_empty()).map(Value::Choice)
        }
        Kind::MultipleChoice => {
            let chosen: Vec<String> =
                form.get(&name).into_iter().flatten().filter(|s| !s.is_empty()).cloned().collect();
            // Keep questionnaire order, whatever order the browser sent.
            let mut ordered: Vec<String> =
                q.options.iter().filter(|o| chosen.contains(&o.key)).map(|o| o.key.clone()).collect();
            if ordered.len() != chosen.len() {
                ordered = chosen;
            }
            Some(ordered).filter(|c| !c.is_empty()).map(Value::Choices)
        }
        Kind::ShortText | Kind::LongText => text_value(first(form, &name)),
        Kind::Number => {
            let raw = first(form, &name);
            if raw.is_empty() {
                None
            } else {
                Some(Value::Number(raw.parse().map_err(|_| number_message(q))?))
            }
        }
        Kind::Date => {
            let part = |p: &str| first(form, &fields::part_name(&q.key, p)).to_string();
            let (d, m, y) = (part("day"), part("month"), part("year"));
            if d.is_empty() && m.is_empty() && y.is_empty() {
                return Ok(None);
            }
            let missing: Vec<&str> = [("day", &d), ("month", &m), ("year", &y)]
                .iter()
                .filter(|(_, v)| v.is_empty())
                .map(|(n, _)| *n)
                .collect();
            if !missing.is_empty() {
                let field = match missing[0] {
                    "day" => fields::id(&q.key),
                    part => fields::part_id(&q.key, part),
                };
                return Err(FormError::OnField(field, format!("Date must include a {}", missing.join(" and a "))));
            }
            let date = match (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) {
                (Ok(d), Ok(m), Ok(y)) if y >= 1000 => NaiveDate::from_ymd_opt(y, m, d),
                _ => None,
            };
            Some(Value::Date(date.ok_or("Enter a real date, for example 27 3 2007")?))
        }
        Kind::Ranking => {
            let ranks: Vec<(String, String)> = q
                .options
                .iter()
                .map(|o| (o.key.clone(), first(form, &fields::part_name(&q.key, &o.key)).to_string()))
                .collect();
            if ranks.iter().all(|(_, r)| r.is_empty()) {
                return Ok(None);
            }
            let mut by_rank: Vec<(usize, String)> = Vec::new();
            for (key, rank) in ranks {
                let rank: usize = rank.parse().map_err(|_| rank_message(q))?;
                by_rank.push((rank, key));
            }
            by_rank.sort();
            if by_rank.iter().enumerate().any(|(i, (rank, _))| *rank != i + 1) {
                return Err(rank_message(q).into());
            }
            Some(Value::Ranking(by_rank.into_iter().map(|(_, k)| k).collect()))
        }
        Kind::Grid => {
            let mut chosen = BTreeMap::new();
            for (i, row) in q.rows.iter().enumerate() {
                let values = form.get(&fields::part_name(&q.key, &row.key)).map(Vec::as_slice).unwrap_or_default();
                if values.len() > 1 {
                    return Err(FormError::OnField(
                        fields::row_id(&q.key, i, &row.key),
                        format!("Select only one option for ‘{}’", row.label),
                    ));
                }
                if let Some(v) = values.first().map(|v| v.trim()).filter(|v| !v.is_empty()) {
                    chosen.insert(row.key.clone(), v.to_string());
                }
            }
            Some(chosen).filter(|c| !c.is_empty()).map(Value::Grid)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Answers, Vec<Problem>> {
        from_json(&sample(), v.as_object().unwrap())
    }

    #[test]
    fn a_complete_response_parses() {
        let a = parse(json!({"support": "agree", "services": ["police", "other"], "services.other": "Coastguard",
            "rank": ["c", "a", "b"], "people": 3, "visit": "2020-02-29"}))
        .unwrap();
        assert_eq!(a["rank"].value, Value::Ranking(vec!["c".into(), "a".into(), "b".into()]));
        assert_eq!(a["services"].other.as_deref(), Some("Coastguard"));
    }

    #[test]
    fn each_rule_names_its_question() {
        let cases = [
            (json!({"support": "maybe", "services": ["police"], "rank": ["a","b","c"]}), "support"),
            (json!({"support": "agree", "services": ["police", "none"], "rank": ["a","b","c"]}), "services"),
            (
                json!({"support": "agree", "services": ["police", "ambulance", "coast"], "rank": ["a","b","c"]}),
                "services",
            ),
            (json!({"support": "agree", "services": ["police"], "rank": ["a","a","c"]}), "rank"),
            (json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "people": 21}), "people"),
            (json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "people": "3"}), "people"),
            (
                json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "visit": "2021-02-29"}),
                "visit",
            ),
            (
                json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "why_not": "routed past"}),
                "why_not",
            ),
            (
                json!({"support": "disagree", "services": ["police"], "rank": ["a","b","c"], "why_not": "x".repeat(21)}),
                "why_not",
            ),
            (json!({"services": ["police"], "rank": ["a","b","c"]}), "support"),
            (json!({"support": "agree", "services": ["other"], "rank": ["a","b","c"]}), "services"),
            (json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "nope": 1}), "nope"),
            (json!({"support": "agree", "services": ["none"], "rank": ["a","b","c"]}), "rank"),
        ];
        for (input, key) in cases {
            let problems = parse(input.clone()).unwrap_err();
            assert!(problems.iter().any(|p| p.question == key), "{input}: {problems:?}");
        }
    }

    #[test]
    fn form_values_parse_like_json() {
        let q = sample();
        let mut form = Form::new();
        form.insert("q.rank.a".into(), vec!["2".into()]);
        form.insert("q.rank.b".into(), vec!["3".into()]);
        form.insert("q.rank.c".into(), vec!["1".into()]);
        form.insert("q.people".into(), vec![" 7 ".into()]);
        form.insert("q.visit.day".into(), vec!["1".into()]);
        form.insert("q.visit.month".into(), vec!["6".into()]);
        form.insert("q.visit.year".into(), vec!["1980".into()]);
        let details: Vec<&Question> = q.sections[1].questions.iter().collect();
        let (answers, problems) = from_form(&details, |_| true, &form);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(answers["rank"].value, Value::Ranking(vec!["c".into(), "a".into(), "b".into()]));
        assert_eq!(answers["people"].value, Value::Number(7));
        form.insert("q.visit.month".into(), vec!["13".into()]);
        let (_, problems) = from_form(&details, |_| true, &form);
        assert_eq!(problems[0].message, "Enter a real date, for example 27 3 2007");
    }
}
