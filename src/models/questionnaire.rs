//! Questionnaire versions and their sections, questions, options and routing rules. A version is written once,
//! when it is published, and never changed afterwards: responses record the version they answered.

use super::totals;
use crate::db::schema::{options, questionnaire_versions, questions, routing_rules, sections};
use crate::db::DbConnection;
use crate::domain::questionnaire::{Action, Choice, Condition, Kind, Question, Questionnaire, Rule, Section, Target};
use diesel::prelude::*;

#[derive(Queryable)]
struct SectionRow {
    id: i64,
    _consultation_id: i64,
    _version_id: i64,
    _position: i32,
    key: String,
    title: String,
    description: Option<String>,
}

#[derive(Queryable)]
struct QuestionRow {
    id: i64,
    _consultation_id: i64,
    _version_id: i64,
    section_id: i64,
    _position: i32,
    key: String,
    kind: String,
    prompt: String,
    hint: Option<String>,
    required: bool,
    min_selections: Option<i32>,
    max_selections: Option<i32>,
    max_length: Option<i32>,
    min_value: Option<i64>,
    max_value: Option<i64>,
}

#[derive(Queryable)]
struct OptionRow {
    _id: i64,
    _consultation_id: i64,
    question_id: i64,
    _position: i32,
    key: String,
    label: String,
    is_other: bool,
    is_exclusive: bool,
}

#[derive(Queryable)]
struct RuleRow {
    _id: i64,
    _consultation_id: i64,
    _version_id: i64,
    _position: i32,
    target_kind: String,
    target_key: String,
    action: String,
    when_question: String,
    when_any_of: String,
}

/// Loads a version whole. Published versions never change, so callers may cache the result by version id.
pub fn load(conn: &mut DbConnection, version_id: i64) -> QueryResult<Questionnaire> {
    let section_rows: Vec<SectionRow> =
        sections::table.filter(sections::version_id.eq(version_id)).order(sections::position).load(conn)?;
    let question_rows: Vec<QuestionRow> =
        questions::table.filter(questions::version_id.eq(version_id)).order(questions::position).load(conn)?;
    let option_rows: Vec<OptionRow> = options::table
        .inner_join(questions::table)
        .filter(questions::version_id.eq(version_id))
        .select(options::all_columns)
        .order(options::position)
        .load(conn)?;
    let rule_rows: Vec<RuleRow> = routing_rules::table
        .filter(routing_rules::version_id.eq(version_id))
        .order(routing_rules::position)
        .load(conn)?;

    let corrupt =
        |what: &str| diesel::result::Error::DeserializationError(format!("stored questionnaire: bad {what}").into());
    let mut sections_out = Vec::new();
    for s in section_rows {
        let mut qs = Vec::new();
        for q in question_rows.iter().filter(|q| q.section_id == s.id) {
            qs.push(Question {
                key: q.key.clone(),
                kind: Kind::parse(&q.kind).ok_or_else(|| corrupt("kind"))?,
                prompt: q.prompt.clone(),
                hint: q.hint.clone(),
                required: q.required,
                options: option_rows
                    .iter()
                    .filter(|o| o.question_id == q.id)
                    .map(|o| Choice {
                        key: o.key.clone(),
                        label: o.label.clone(),
                        other: o.is_other,
                        exclusive: o.is_exclusive,
                    })
                    .collect(),
                min_selections: q.min_selections,
                max_selections: q.max_selections,
                max_length: q.max_length,
                min: q.min_value,
                max: q.max_value,
            });
        }
        sections_out.push(Section { key: s.key, title: s.title, description: s.description, questions: qs });
    }
    let mut routing = Vec::new();
    for r in rule_rows {
        routing.push(Rule {
            target: match r.target_kind.as_str() {
                "section" => Target::Section,
                "question" => Target::Question,
                _ => return Err(corrupt("routing target")),
            },
            key: r.target_key,
            action: match r.action.as_str() {
                "show" => Action::Show,
                "skip" => Action::Skip,
                _ => return Err(corrupt("routing action")),
            },
            when: Condition {
                question: r.when_question,
                any_of: serde_json::from_str(&r.when_any_of).map_err(|_| corrupt("routing condition"))?,
            },
        });
    }
    Ok(Questionnaire { sections: sections_out, routing })
}

/// Stores `q` as the consultation's next published version and makes sure every question and option has its
/// running-total row. The caller has checked `q` and holds the write transaction.
pub fn publish(conn: &mut DbConnection, consultation_id: i64, q: &Questionnaire) -> QueryResult<i64> {
    let now = super::now();
    let number: i32 = questionnaire_versions::table
        .filter(questionnaire_versions::consultation_id.eq(consultation_id))
        .select(diesel::dsl::max(questionnaire_versions::number))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        + 1;
    let version_id: i64 = diesel::insert_into(questionnaire_versions::table)
        .values((
            questionnaire_versions::consultation_id.eq(consultation_id),
            questionnaire_versions::number.eq(number),
            questionnaire_versions::published_at.eq(Some(now)),
            questionnaire_versions::created_at.eq(now),
        ))
        .returning(questionnaire_versions::id)
        .get_result(conn)?;
    let mut question_position = 0;
    for (section_position, s) in q.sections.iter().enumerate() {
        let section_id: i64 = diesel::insert_into(sections::table)
            .values((
                sections::consultation_id.eq(consultation_id),
                sections::version_id.eq(version_id),
                sections::position.eq(section_position as i32),
                sections::key.eq(&s.key),
                sections::title.eq(&s.title),
                sections::description.eq(&s.description),
            ))
            .returning(sections::id)
            .get_result(conn)?;
        for question in &s.questions {
            question_position += 1;
            let question_id: i64 = diesel::insert_into(questions::table)
                .values((
                    questions::consultation_id.eq(consultation_id),
                    questions::version_id.eq(version_id),
                    questions::section_id.eq(section_id),
                    questions::position.eq(question_position),
                    questions::key.eq(&question.key),
                    questions::kind.eq(question.kind.as_str()),
                    questions::prompt.eq(&question.prompt),
                    questions::hint.eq(&question.hint),
                    questions::required.eq(question.required),
                    questions::min_selections.eq(question.min_selections),
                    questions::max_selections.eq(question.max_selections),
                    questions::max_length.eq(question.max_length),
                    questions::min_value.eq(question.min),
                    questions::max_value.eq(question.max),
                ))
                .returning(questions::id)
                .get_result(conn)?;
            for (option_position, o) in question.options.iter().enumerate() {
                diesel::insert_into(options::table)
                    .values((
                        options::consultation_id.eq(consultation_id),
                        options::question_id.eq(question_id),
                        options::position.eq(option_position as i32),
                        options::key.eq(&o.key),
                        options::label.eq(&o.label),
                        options::is_other.eq(o.other),
                        options::is_exclusive.eq(o.exclusive),
                    ))
                    .execute(conn)?;
            }
        }
    }
    for (position, r) in q.routing.iter().enumerate() {
        diesel::insert_into(routing_rules::table)
            .values((
                routing_rules::consultation_id.eq(consultation_id),
                routing_rules::version_id.eq(version_id),
                routing_rules::position.eq(position as i32),
                routing_rules::target_kind.eq(match r.target {
                    Target::Section => "section",
                    Target::Question => "question",
                }),
                routing_rules::target_key.eq(&r.key),
                routing_rules::action.eq(match r.action {
                    Action::Show => "show",
                    Action::Skip => "skip",
                }),
                routing_rules::when_question.eq(&r.when.question),
                routing_rules::when_any_of.eq(serde_json::to_string(&r.when.any_of).expect("strings serialise")),
            ))
            .execute(conn)?;
    }
    totals::ensure_rows(conn, consultation_id, q)?;
    super::consultation::set_current_version(conn, consultation_id, version_id)?;
    Ok(version_id)
}
