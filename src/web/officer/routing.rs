//! Building routing rules by choosing: first the question a rule depends on, then its answers (checkbox
//! answers included), whether to show or skip, and which later question or section. A rule that would lead
//! backwards, loop, or point at something deleted is refused with a message naming it.

use super::consultations::{heading, working, Working};
use super::forms::Fields;
use super::{page, see_other};
use crate::domain::builder;
use crate::domain::questionnaire::{Action, Condition, Questionnaire, Rule, Target};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::{actor, Identity};
use crate::web::routes::{Access, Router, BUILDERS};
use crate::web::{form, AppState};
use crate::workspace;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/{slug}/routing", b, web::get().to(list))
        .get("/officer/consultations/{slug}/routing/new", b, web::get().to(new_rule))
        .post("/officer/consultations/{slug}/routing", b, web::post().to(add_rule))
        .post("/officer/consultations/{slug}/routing/{index}/delete", b, web::post().to(delete_rule));
}

#[derive(Serialize)]
struct RuleLine {
    index: usize,
    text: String,
}

async fn list(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(&w));
    ctx.insert(
        "rules",
        &q.routing
            .iter()
            .enumerate()
            .map(|(index, r)| RuleLine { index, text: q.describe_rule(r) })
            .collect::<Vec<_>>(),
    );
    ctx.insert("revision", &w.revision);
    ctx.insert("can_add", &q.questions().any(|qq| qq.kind.routes()));
    Ok(page(&who, &csrf, StatusCode::OK, "officer/consultation/routing.html", ctx))
}

#[derive(Deserialize)]
pub struct Source {
    question: Option<String>,
}

/// The choices of the second step: the source question's answers, and what comes after it.
fn render_rule(w: &Working, who: &Identity, csrf: &CsrfToken, fields: &Fields, status: StatusCode) -> HttpResponse {
    let q = &w.content.questionnaire;
    let source = q.question(&fields.value("question")).filter(|s| s.kind.routes());
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(&["question", "answers", "action", "target"]));
    ctx.insert("errors", &fields.summary());
    ctx.insert("revision", &fields.value("revision"));
    ctx.insert(
        "sources",
        &q.questions()
            .filter(|qq| qq.kind.routes())
            .map(|qq| serde_json::json!({"value": qq.key, "label": qq.prompt.as_str()}))
            .collect::<Vec<_>>(),
    );
    let chosen = fields.values("answers");
    ctx.insert("source", &source.map(|s| serde_json::json!({"key": s.key, "prompt": s.prompt.as_str()})));
    ctx.insert(
        "answers",
        &source
            .map(|s| {
                s.options
                    .iter()
                    .map(|o| serde_json::json!({"value": o.key, "label": o.label.as_str(), "checked": chosen.contains(&o.key)}))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    ctx.insert("targets", &source.map(|s| targets_after(q, &s.key)).unwrap_or_default());
    ctx.insert(
        "action_choices",
        &serde_json::json!([{"value": "show", "label": "Show it (and only then)"}, {"value": "skip", "label": "Skip it"}]),
    );
    page(who, csrf, status, "officer/consultation/rule.html", ctx)
}

/// What a rule on `source` may lead to: the questions after it, and the sections after its own.
fn targets_after(q: &Questionnaire, source: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut after = false;
    for section in &q.sections {
        let holds_source = section.questions.iter().any(|qq| qq.key == source);
        if after && !holds_source {
            out.push(serde_json::json!({"value": format!("section:{}", section.key), "label": format!("The section ‘{}’", section.title)}));
        }
        for question in &section.questions {
            if after {
                out.push(serde_json::json!({"value": format!("question:{}", question.key), "label": format!("The question ‘{}’", question.prompt)}));
            }
            if question.key == source {
                after = true;
            }
        }
    }
    out
}

async fn new_rule(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    query: web::Query<Source>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    fields.set("revision", w.revision.to_string());
    fields.set("action", "show");
    if let Some(question) = query.into_inner().question {
        if w.content.questionnaire.question(&question).is_some_and(|q| q.kind.routes()) {
            fields.set("question", question);
        } else {
            fields.error("question", "Select the question the route depends on");
            return Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY));
        }
    }
    Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::OK))
}

async fn add_rule(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let source = fields.value("question");
    if q.question(&source).is_none_or(|s| !s.kind.routes()) {
        fields.error("question", "Select the question the route depends on");
        return Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let answers: Vec<String> = fields.values("answers").into_iter().filter(|a| !a.is_empty()).collect();
    if answers.is_empty() {
        fields.error("answers", "Select the answers that make the route apply");
    }
    let action = match fields.value("action").as_str() {
        "show" => Some(Action::Show),
        "skip" => Some(Action::Skip),
        _ => {
            fields.error("action", "Select whether to show or skip");
            None
        }
    };
    let target = fields.value("target");
    let target = match target.split_once(':') {
        Some(("section", key)) => Some((Target::Section, key.to_string())),
        Some(("question", key)) => Some((Target::Question, key.to_string())),
        _ => {
            fields.error("target", "Select what the route shows or skips");
            None
        }
    };
    let (Some(action), Some((target, key)), false) = (action, target, fields.has_errors()) else {
        return Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let rule = Rule { target, key, action, when: Condition { question: source, any_of: answers } };
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    let revision: i32 = fields.value("revision").parse().unwrap_or(-1);
    let done = state
        .db(move |conn| {
            Ok(workspace::edit(conn, &actor, &c, revision, "route added", |content| {
                Ok(builder::add_rule(&mut content.questionnaire, rule)?)
            }))
        })
        .await?;
    match done {
        Ok(_) => Ok(see_other(format!("/officer/consultations/{slug}/routing"))),
        Err(workspace::Error::Invalid(problems)) => {
            problems.into_iter().for_each(|p| fields.error("target", p));
            Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(workspace::Error::Conflict) => {
            fields.error("target", "Someone else changed this questionnaire since you opened this page: check the routes and add yours again");
            Ok(render_rule(&w, &who, &csrf, &fields, StatusCode::CONFLICT))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_rule(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, index) = path.into_inner();
    let fields = Fields::from(form::read(&request, &state, body).await?);
    let index: usize = index.parse().map_err(|_| AppError::NotFound)?;
    let w = working(&state, &who, &slug).await?;
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    let revision: i32 = fields.value("revision").parse().unwrap_or(-1);
    state
        .db(move |conn| {
            Ok(workspace::edit(conn, &actor, &c, revision, "route deleted", |content| {
                Ok(builder::delete_rule(&mut content.questionnaire, index)?)
            })?)
        })
        .await?;
    Ok(see_other(format!("/officer/consultations/{slug}/routing")))
}
