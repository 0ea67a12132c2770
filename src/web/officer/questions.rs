//! Editing a draft's sections and questions: add, change, move up or down, delete. Every form carries the
//! draft's revision (see `workspace::edit`); every change goes through `domain::builder`.

use super::consultations::{heading, working, Working};
use super::forms::Fields;
use super::question_form::{self, COMMON};
use super::{page, see_other};
use crate::domain::builder::{self, Direction};
use crate::domain::questionnaire::{limits, unique_key, valid_key, Kind, Question, Section};
use crate::domain::text::Text;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::{actor, Identity};
use crate::web::routes::{Access, Router, BUILDERS};
use crate::web::{form, AppState};
use crate::workspace;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/{slug}/sections/new", b, web::get().to(new_section))
        .post("/officer/consultations/{slug}/sections", b, web::post().to(add_section))
        .get("/officer/consultations/{slug}/sections/{key}", b, web::get().to(edit_section))
        .post("/officer/consultations/{slug}/sections/{key}", b, web::post().to(save_section))
        .post("/officer/consultations/{slug}/sections/{key}/move", b, web::post().to(move_section))
        .get("/officer/consultations/{slug}/sections/{key}/delete", b, web::get().to(confirm_delete_section))
        .post("/officer/consultations/{slug}/sections/{key}/delete", b, web::post().to(delete_section))
        .get("/officer/consultations/{slug}/sections/{key}/questions/new", b, web::get().to(new_question))
        .post("/officer/consultations/{slug}/sections/{key}/questions", b, web::post().to(add_question))
        .get("/officer/consultations/{slug}/questions/{key}", b, web::get().to(edit_question))
        .post("/officer/consultations/{slug}/questions/{key}", b, web::post().to(save_question))
        .post("/officer/consultations/{slug}/questions/{key}/move", b, web::post().to(move_question))
        .get("/officer/consultations/{slug}/questions/{key}/delete", b, web::get().to(confirm_delete_question))
        .post("/officer/consultations/{slug}/questions/{key}/delete", b, web::post().to(delete_question));
}

fn overview(slug: &str) -> String {
    format!("/officer/consultations/{slug}")
}

/// Shows a workspace error on the form: invalid edits against `field`, a conflict as a message to reload.
fn refused(fields: &mut Fields, field: &str, e: workspace::Error) -> Result<(), AppError> {
    match e {
        workspace::Error::Invalid(problems) => {
            problems.into_iter().for_each(|p| fields.error(field, p));
            Ok(())
        }
        workspace::Error::Conflict => {
            fields.error(
                field,
                "Someone else changed this questionnaire since you opened this page. Your change was not saved: go \
                 back to the questionnaire, check it and make your change again.",
            );
            Ok(())
        }
        e => Err(e.into()),
    }
}

/// Runs an edit of the draft, as the officer's form asked at its revision.
async fn edit<T: Send + 'static>(
    state: &AppState,
    who: &Identity,
    request: &HttpRequest,
    w: &Working,
    revision: &str,
    what: &'static str,
    change: impl FnOnce(&mut crate::domain::questionnaire::Questionnaire) -> Result<T, builder::Refused> + Send + 'static,
) -> Result<Result<T, workspace::Error>, AppError> {
    let actor = actor(who, request);
    let c = w.consultation.clone();
    let revision: i32 = revision.parse().unwrap_or(-1);
    state
        .db(move |conn| {
            Ok(workspace::edit(conn, &actor, &c, revision, what, |content| Ok(change(&mut content.questionnaire)?))
                .map(|(out, _)| out))
        })
        .await
}

// ---------------------------------------------------------------------------------------------------------
// Sections

const SECTION: &[&str] = &["title", "description", "key"];

fn render_section(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    editing: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(SECTION));
    ctx.insert("errors", &fields.summary());
    ctx.insert("revision", &fields.value("revision"));
    ctx.insert("editing", &editing);
    page(who, csrf, status, "officer/consultation/section.html", ctx)
}

async fn new_section(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    fields.set("revision", w.revision.to_string());
    Ok(render_section(&w, &who, &csrf, &fields, None, StatusCode::OK))
}

/// Reads a section's fields; its key is made from the title when left blank.
fn read_section(
    fields: &mut Fields,
    q: &crate::domain::questionnaire::Questionnaire,
    current: Option<&str>,
) -> Option<(String, Text, Option<Text>)> {
    let title = fields.required("title", "Enter the section's title");
    fields.at_most("title", limits::SECTION_TITLE, "The title");
    let description = fields.at_most("description", limits::DESCRIPTION, "The description");
    let taken = |k: &str| Some(k) != current && (q.section(k).is_some() || q.question(k).is_some());
    let key = match fields.value("key") {
        k if k.is_empty() => unique_key(&crate::domain::questionnaire::key_from(&title), taken),
        k => k,
    };
    if !valid_key(&key) || ["check", "confirmation", "new"].contains(&key.as_str()) {
        fields
            .error("key", "The key must be lowercase letters, digits and underscores (not check, confirmation or new)");
    } else if taken(&key) {
        fields.error("key", format!("The key ‘{key}’ is used by another section or question: choose another"));
    }
    (!fields.has_errors()).then(|| (key, title.into(), Some(description).filter(|d| !d.is_empty()).map(Text::from)))
}

async fn add_section(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let Some((key, title, description)) = read_section(&mut fields, &w.content.questionnaire, None) else {
        return Ok(render_section(&w, &who, &csrf, &fields, None, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let section = Section { key, title, description, questions: Vec::new() };
    let done = edit(&state, &who, &request, &w, &fields.value("revision"), "section added", |q| {
        builder::add_section(q, section)
    })
    .await?;
    match done {
        Ok(()) => Ok(see_other(overview(&slug))),
        Err(e) => {
            refused(&mut fields, "title", e)?;
            Ok(render_section(&w, &who, &csrf, &fields, None, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

async fn edit_section(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    let section = w.content.questionnaire.section(&key).ok_or(AppError::NotFound)?;
    let mut fields = Fields::default();
    fields.set("title", section.title.as_str());
    fields.set("description", section.description.as_ref().map(|d| d.as_str().to_string()).unwrap_or_default());
    fields.set("key", key.clone());
    fields.set("revision", w.revision.to_string());
    Ok(render_section(&w, &who, &csrf, &fields, Some(&key), StatusCode::OK))
}

async fn save_section(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let old = w.content.questionnaire.section(&key).ok_or(AppError::NotFound)?.clone();
    let Some((new_key, mut title, mut description)) = read_section(&mut fields, &w.content.questionnaire, Some(&key))
    else {
        return Ok(render_section(&w, &who, &csrf, &fields, Some(&key), StatusCode::UNPROCESSABLE_ENTITY));
    };
    title.cy = old.title.cy.clone();
    if let (Some(d), Some(was)) = (&mut description, &old.description) {
        d.cy = was.cy.clone();
    }
    let done = edit(&state, &who, &request, &w, &fields.value("revision"), "section changed", move |q| {
        builder::edit_section(q, &key, &new_key, title, description)
    })
    .await?;
    match done {
        Ok(()) => Ok(see_other(overview(&slug))),
        Err(e) => {
            refused(&mut fields, "title", e)?;
            Ok(render_section(&w, &who, &csrf, &fields, Some(&old.key), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// A reorder or delete button's error has no form of its own: it is shown on the overview's page as the error
/// page would, naming what went wrong.
fn refusal_page(e: workspace::Error) -> AppError {
    AppError::Workspace(e)
}

async fn move_section(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let fields = Fields::from(form::read(&request, &state, body).await?);
    // Another organisation's consultation is not found, whatever the form says.
    let w = working(&state, &who, &slug).await?;
    let direction = direction(&fields)?;
    edit(&state, &who, &request, &w, &fields.value("revision"), "section moved", move |q| {
        builder::move_section(q, &key, direction)
    })
    .await?
    .map_err(refusal_page)?;
    Ok(see_other(format!("{}#sections", overview(&slug))))
}

fn direction(fields: &Fields) -> Result<Direction, AppError> {
    match fields.value("direction").as_str() {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        _ => Err(AppError::BadRequest("Choose to move it up or down.".into())),
    }
}

fn render_delete(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    what: &str,
    name: &str,
    action: &str,
    also: Vec<String>,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("what", what);
    ctx.insert("name", name);
    ctx.insert("action", action);
    ctx.insert("also", &also);
    ctx.insert("revision", &w.revision);
    page(who, csrf, StatusCode::OK, "officer/consultation/delete_part.html", ctx)
}

async fn confirm_delete_section(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let section = q.section(&key).ok_or(AppError::NotFound)?;
    let keys: Vec<&str> = section.questions.iter().map(|qq| qq.key.as_str()).collect();
    let mut also: Vec<String> = section.questions.iter().map(|qq| format!("The question ‘{}’", qq.prompt)).collect();
    also.extend(
        builder::routes_touching(q, &keys, Some(&key))
            .into_iter()
            .map(|r| format!("The route “{}”", q.describe_rule(r))),
    );
    let action = format!("/officer/consultations/{slug}/sections/{key}/delete");
    Ok(render_delete(&w, &who, &csrf, "section", section.title.as_str(), &action, also))
}

async fn delete_section(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    edit(&state, &who, &request, &w, &fields.value("revision"), "section deleted", move |q| {
        builder::delete_section(q, &key)
    })
    .await?
    .map_err(refusal_page)?;
    Ok(see_other(overview(&slug)))
}

// ---------------------------------------------------------------------------------------------------------
// Questions

#[derive(Deserialize)]
pub struct KindChoice {
    kind: Option<String>,
    /// Sent by the kind form, so that choosing nothing is told apart from arriving at the page.
    chosen: Option<String>,
}

/// The question form for `kind`: its fields, the option and row lines, and which sections it can be in.
fn render_question(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    action: &str,
    editing: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let kind = Kind::parse(&fields.value("kind"));
    let mut names: Vec<&str> = COMMON.to_vec();
    names.extend_from_slice(kind.map(question_form::fields_of).unwrap_or_default());
    names.extend_from_slice(&[
        "min_selections",
        "max_selections",
        "max_length",
        "min",
        "max",
        "other",
        "other_label",
        "none",
        "none_label",
    ]);
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(&names));
    ctx.insert("errors", &fields.summary());
    ctx.insert("revision", &fields.value("revision"));
    ctx.insert("kind", &kind.map(Kind::as_str));
    ctx.insert("kind_name", &kind.map(Kind::describe));
    ctx.insert("has_options", &kind.is_some_and(Kind::has_options));
    ctx.insert("options", &question_form::rows(fields, "option"));
    ctx.insert("grid_rows", &question_form::rows(fields, "row"));
    ctx.insert("action", action);
    ctx.insert("editing", &editing);
    ctx.insert(
        "required_choices",
        &serde_json::json!([
            {"value": "yes", "label": "Yes, it is required"},
            {"value": "no", "label": "No, it is optional (marked ‘optional’)"}
        ]),
    );
    ctx.insert(
        "purpose_choices",
        &serde_json::json!([
            {"value": "opinion", "label": "Residents' views"},
            {"value": "profile", "label": "Who is responding",
             "hint": "Like respondent type, age band or area: results can be broken down by it."},
            {"value": "equality_monitoring", "label": "Equality monitoring",
             "hint": "Reported only in suppressed aggregates. Make it optional."}
        ]),
    );
    ctx.insert(
        "kinds",
        &Kind::ALL
            .iter()
            .map(|k| serde_json::json!({"value": k.as_str(), "label": capitalised(k.describe())}))
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "sections",
        &w.content
            .questionnaire
            .sections
            .iter()
            .map(|s| serde_json::json!({"value": s.key, "label": s.title.as_str()}))
            .collect::<Vec<_>>(),
    );
    page(who, csrf, status, "officer/consultation/question.html", ctx)
}

async fn new_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    query: web::Query<KindChoice>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, section) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    w.content.questionnaire.section(&section).ok_or(AppError::NotFound)?;
    let mut fields = Fields::default();
    fields.set("revision", w.revision.to_string());
    fields.set("section", section.clone());
    let action = format!("/officer/consultations/{slug}/sections/{section}/questions");
    let query = query.into_inner();
    let kind = match (query.kind, query.chosen) {
        (None, Some(_)) => Some(String::new()),
        (kind, _) => kind,
    };
    match kind.as_deref().map(Kind::parse) {
        // First, what kind of question.
        None => {
            let mut ctx = tera::Context::new();
            ctx.insert("consultation", &heading(&w));
            ctx.insert("section", &section);
            ctx.insert("errors", &Vec::<()>::new());
            ctx.insert(
                "kinds",
                &Kind::ALL
                    .iter()
                    .map(|k| serde_json::json!({"value": k.as_str(), "label": capitalised(k.describe())}))
                    .collect::<Vec<_>>(),
            );
            ctx.insert("form", &fields.view(&["kind"]));
            Ok(page(&who, &csrf, StatusCode::OK, "officer/consultation/question_kind.html", ctx))
        }
        Some(None) => {
            let mut ctx = tera::Context::new();
            ctx.insert("consultation", &heading(&w));
            ctx.insert("section", &section);
            fields.error("kind", "Select what kind of question to add");
            ctx.insert("errors", &fields.summary());
            ctx.insert(
                "kinds",
                &Kind::ALL
                    .iter()
                    .map(|k| serde_json::json!({"value": k.as_str(), "label": capitalised(k.describe())}))
                    .collect::<Vec<_>>(),
            );
            ctx.insert("form", &fields.view(&["kind"]));
            Ok(page(&who, &csrf, StatusCode::UNPROCESSABLE_ENTITY, "officer/consultation/question_kind.html", ctx))
        }
        Some(Some(kind)) => {
            question_form::to_fields(&question_form::starting(kind), &mut fields);
            fields.set("key", "");
            Ok(render_question(&w, &who, &csrf, &fields, &action, None, StatusCode::OK))
        }
    }
}

async fn add_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, section) = path.into_inner();
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let action = format!("/officer/consultations/{slug}/sections/{section}/questions");
    let button = fields.value("action");
    if question_form::rearrange(&mut fields, &button) || button == "refresh" {
        return Ok(render_question(&w, &who, &csrf, &fields, &action, None, StatusCode::OK));
    }
    let q = &w.content.questionnaire;
    let Some(question) = question_form::from_fields(&mut fields, |k| q.question(k).is_some() || q.section(k).is_some())
    else {
        return Ok(render_question(&w, &who, &csrf, &fields, &action, None, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let done = edit(&state, &who, &request, &w, &fields.value("revision"), "question added", move |q| {
        builder::add_question(q, &section, question)
    })
    .await?;
    match done {
        Ok(()) => Ok(see_other(format!("{}#sections", overview(&slug)))),
        Err(e) => {
            refused(&mut fields, "prompt", e)?;
            Ok(render_question(&w, &who, &csrf, &fields, &action, None, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

fn section_of<'a>(w: &'a Working, key: &str) -> Option<&'a Section> {
    w.content.questionnaire.sections.iter().find(|s| s.questions.iter().any(|q| q.key == key))
}

async fn edit_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    let question = w.content.questionnaire.question(&key).ok_or(AppError::NotFound)?;
    let mut fields = Fields::default();
    question_form::to_fields(question, &mut fields);
    fields.set("section", section_of(&w, &key).map(|s| s.key.clone()).unwrap_or_default());
    fields.set("revision", w.revision.to_string());
    let action = format!("/officer/consultations/{slug}/questions/{key}");
    Ok(render_question(&w, &who, &csrf, &fields, &action, Some(&key), StatusCode::OK))
}

async fn save_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let old: Question = w.content.questionnaire.question(&key).ok_or(AppError::NotFound)?.clone();
    let action = format!("/officer/consultations/{slug}/questions/{key}");
    let button = fields.value("action");
    if question_form::rearrange(&mut fields, &button) || button == "refresh" {
        return Ok(render_question(&w, &who, &csrf, &fields, &action, Some(&key), StatusCode::OK));
    }
    let q = &w.content.questionnaire;
    let section = match fields.value("section") {
        s if q.section(&s).is_some() => s,
        _ => {
            fields.error("section", "Select the section the question is in");
            String::new()
        }
    };
    let taken = |k: &str| k != key && (q.question(k).is_some() || q.section(k).is_some());
    let Some(mut question) = question_form::from_fields(&mut fields, taken).filter(|_| !section.is_empty()) else {
        return Ok(render_question(&w, &who, &csrf, &fields, &action, Some(&key), StatusCode::UNPROCESSABLE_ENTITY));
    };
    builder::keep_translations(&old, &mut question);
    let done = edit(&state, &who, &request, &w, &fields.value("revision"), "question changed", move |q| {
        builder::replace_question(q, &key, &section, question)
    })
    .await?;
    match done {
        Ok(()) => Ok(see_other(format!("{}#sections", overview(&slug)))),
        Err(e) => {
            refused(&mut fields, "prompt", e)?;
            Ok(render_question(&w, &who, &csrf, &fields, &action, Some(&old.key), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

async fn move_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let fields = Fields::from(form::read(&request, &state, body).await?);
    // Another organisation's consultation is not found, whatever the form says.
    let w = working(&state, &who, &slug).await?;
    let direction = direction(&fields)?;
    edit(&state, &who, &request, &w, &fields.value("revision"), "question moved", move |q| {
        builder::move_question(q, &key, direction)
    })
    .await?
    .map_err(refusal_page)?;
    Ok(see_other(format!("{}#sections", overview(&slug))))
}

async fn confirm_delete_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let question = q.question(&key).ok_or(AppError::NotFound)?;
    let also = builder::routes_touching(q, &[key.as_str()], None)
        .into_iter()
        .map(|r| format!("The route “{}”", q.describe_rule(r)))
        .collect();
    let action = format!("/officer/consultations/{slug}/questions/{key}/delete");
    Ok(render_delete(&w, &who, &csrf, "question", question.prompt.as_str(), &action, also))
}

async fn delete_question(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    edit(&state, &who, &request, &w, &fields.value("revision"), "question deleted", move |q| {
        builder::delete_question(q, &key)
    })
    .await?
    .map_err(refusal_page)?;
    Ok(see_other(format!("{}#sections", overview(&slug))))
}

/// "Single choice (radios)" for a list of kinds, from the words used mid-sentence.
fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
