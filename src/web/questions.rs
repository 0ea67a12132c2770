//! Questions as the question macro (templates/components/questions.html) renders them: the same views serve
//! the resident's pages, the officer's preview and the paper data-entry form, so all three show a question
//! the same way. Field names and ids come from `domain::fields`; authored text is resolved to one language
//! here, so templates only ever print strings.

use crate::domain::fields;
use crate::domain::questionnaire::{Kind, Question};
use crate::domain::text::Language;
use crate::domain::validation::{Form, Problem};
use serde::Serialize;

#[derive(Serialize)]
pub struct QuestionView<'a> {
    pub key: &'a str,
    pub kind: Kind,
    pub prompt: &'a str,
    pub hint: Option<&'a str>,
    pub required: bool,
    pub min_selections: Option<i32>,
    pub max_selections: Option<i32>,
    pub max_length: Option<i32>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The id of the first field, and the field's name.
    pub id: String,
    pub name: String,
    pub options: Vec<OptionView<'a>>,
    pub rows: Vec<RowView<'a>>,
    pub value: String,
    pub date: DateView,
    pub other_name: String,
    pub other_id: String,
    pub other_text: String,
    pub error: Option<&'a str>,
    pub error_target: Option<&'a str>,
}

#[derive(Serialize)]
pub struct OptionView<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub other: bool,
    pub exclusive: bool,
    /// This input's id; the first option's is the question's.
    pub id: String,
    pub checked: bool,
    /// Ranking: the select's name and the rank chosen.
    pub rank_name: String,
    pub rank: String,
}

/// A grid row: one fieldset of radios.
#[derive(Serialize)]
pub struct RowView<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub name: String,
    pub options: Vec<OptionView<'a>>,
}

#[derive(Serialize, Default)]
pub struct DateView {
    pub day: String,
    pub month: String,
    pub year: String,
    pub day_name: String,
    pub month_name: String,
    pub year_name: String,
    pub month_id: String,
    pub year_id: String,
}

fn get(form: &Form, field: &str) -> String {
    form.get(field).and_then(|v| v.first()).cloned().unwrap_or_default()
}

/// A question's view with the values `form` holds and the problem found with it, if any.
pub fn view<'a>(question: &'a Question, form: &Form, problem: Option<&'a Problem>, lang: Language) -> QuestionView<'a> {
    let key = question.key.as_str();
    let name = fields::name(key);
    let id = fields::id(key);
    let chosen = form.get(&name).cloned().unwrap_or_default();
    let options = question
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let rank_name = fields::part_name(key, &o.key);
            OptionView {
                key: &o.key,
                label: o.label.get(lang),
                other: o.other,
                exclusive: o.exclusive,
                id: fields::nth_id(&id, i + 1),
                checked: chosen.contains(&o.key),
                rank: get(form, &rank_name),
                rank_name,
            }
        })
        .collect();
    let rows = question
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let row_name = fields::part_name(key, &row.key);
            let row_value = get(form, &row_name);
            let first = fields::row_id(key, r, &row.key);
            RowView {
                key: &row.key,
                label: row.label.get(lang),
                options: question
                    .options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| OptionView {
                        key: &o.key,
                        label: o.label.get(lang),
                        other: false,
                        exclusive: false,
                        id: fields::nth_id(&first, i + 1),
                        checked: row_value == o.key,
                        rank_name: String::new(),
                        rank: String::new(),
                    })
                    .collect(),
                name: row_name,
            }
        })
        .collect();
    let date = if question.kind == Kind::Date {
        let part = |p: &str| fields::part_name(key, p);
        DateView {
            day: get(form, &part("day")),
            month: get(form, &part("month")),
            year: get(form, &part("year")),
            day_name: part("day"),
            month_name: part("month"),
            year_name: part("year"),
            month_id: fields::part_id(key, "month"),
            year_id: fields::part_id(key, "year"),
        }
    } else {
        DateView::default()
    };
    let other_name = fields::other_name(key);
    QuestionView {
        key,
        kind: question.kind,
        prompt: question.prompt.get(lang),
        hint: question.hint.as_ref().map(|h| h.get(lang)),
        required: question.required,
        min_selections: question.min_selections,
        max_selections: question.max_selections,
        max_length: question.max_length(),
        min: question.min,
        max: question.max,
        value: get(form, &name),
        other_text: get(form, &other_name),
        other_id: fields::part_id(key, "other"),
        other_name,
        id,
        name,
        options,
        rows,
        date,
        error: problem.map(|p| p.message.as_str()),
        error_target: problem.map(|p| p.field.as_str()),
    }
}

/// A link in the error summary.
#[derive(Serialize)]
pub struct ErrorLink<'a> {
    pub target: &'a str,
    pub message: &'a str,
}

pub fn error_links(problems: &[Problem]) -> Vec<ErrorLink<'_>> {
    problems.iter().map(|p| ErrorLink { target: &p.field, message: &p.message }).collect()
}
