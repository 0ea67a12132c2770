//! Keying in paper, email and event responses: every question of the live questionnaire on one page, built
//! by the same question macro, checked by the same rules, with routing applied on save. The response records
//! its channel and who keyed it, and counts like any other. After each save the page comes back blank with
//! the first field focused, so the next form is typed straight away.

use super::consultations::{heading, working, Working};
use super::page;
use crate::domain::phase::Phase;
use crate::domain::reference::new_token;
use crate::domain::text::Language;
use crate::domain::validation::{self, Form, Problem};
use crate::models::now;
use crate::models::response::Channel;
use crate::submissions::{Outcome, Submission};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::{actor, Identity};
use crate::web::questions::{error_links, view};
use crate::web::routes::{Access, Router, BUILDERS};
use crate::web::{form, AppState};
use crate::workspace;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/{slug}/paper", b, web::get().to(blank)).post(
        "/officer/consultations/{slug}/paper",
        b,
        web::post().to(save),
    );
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
    channel: Option<String>,
}

/// The channels an officer keys responses for, in the order the form offers them.
const CHANNELS: [Channel; 3] = [Channel::Paper, Channel::Email, Channel::Event];

#[derive(Serialize)]
struct SectionView<'a> {
    title: &'a str,
    questions: Vec<crate::web::questions::QuestionView<'a>>,
}

#[allow(clippy::too_many_arguments)]
fn render(
    w: &Working,
    live: &crate::models::version::Loaded,
    who: &Identity,
    csrf: &CsrfToken,
    form: &Form,
    problems: &[Problem],
    saved: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let q = &live.content.questionnaire;
    let sections: Vec<SectionView> = q
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title.as_str(),
            questions: s
                .questions
                .iter()
                .map(|question| {
                    view(question, form, problems.iter().find(|p| p.question == question.key), Language::English)
                })
                .collect(),
        })
        .collect();
    let channel = form.get("channel").and_then(|v| v.first()).cloned().unwrap_or_else(|| "paper".into());
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("sections", &sections);
    ctx.insert("errors", &error_links(problems));
    ctx.insert("saved", &saved);
    ctx.insert("entry", &form.get("entry").and_then(|v| v.first()).cloned().unwrap_or_else(new_token));
    ctx.insert("channel", &channel);
    ctx.insert(
        "channels",
        &CHANNELS
            .iter()
            .map(|c| serde_json::json!({"value": c.as_str(), "label": channel_label(*c)}))
            .collect::<Vec<_>>(),
    );
    ctx.insert("open", &(w.consultation.phase(now()) == Phase::Open));
    page(who, csrf, status, "officer/consultation/paper.html", ctx)
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Paper => "Paper form",
        Channel::Email => "Email or letter",
        Channel::Event => "At an event",
        Channel::Online => "Online",
        Channel::Api => "Through the API",
    }
}

async fn live_of(state: &AppState, w: &Working) -> Result<std::sync::Arc<crate::models::version::Loaded>, AppError> {
    let id = w.consultation.live_version_id.ok_or(AppError::NotFound)?;
    state.version(id).await
}

async fn blank(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    query: web::Query<Saved>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let live = live_of(&state, &w).await?;
    let query = query.into_inner();
    let mut form = Form::new();
    if let Some(channel) = query.channel.filter(|c| Channel::parse(c).is_some_and(Channel::is_keyed)) {
        form.insert("channel".into(), vec![channel]);
    }
    let saved = query.saved.filter(|r| r.len() <= 20);
    Ok(render(&w, &live, &who, &csrf, &form, &[], saved.as_deref(), StatusCode::OK))
}

async fn save(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, body).await?;
    let w = working(&state, &who, &slug).await?;
    let live = live_of(&state, &w).await?;
    let channel = form.get("channel").and_then(|v| v.first()).and_then(|c| Channel::parse(c)).filter(|c| c.is_keyed());
    let (answers, mut problems, _) = validation::from_whole_form(&live.content.questionnaire, &form);
    if channel.is_none() {
        problems.insert(
            0,
            Problem {
                question: "channel".into(),
                field: "f-channel".into(),
                message: "Select how the response reached you".into(),
            },
        );
    }
    let entry = form.get("entry").and_then(|v| v.first()).cloned().unwrap_or_default();
    if entry.len() != 32 || !entry.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest("This form has expired. Go back, refresh the page and try again.".into()));
    }
    if !problems.is_empty() {
        return Ok(render(&w, &live, &who, &csrf, &form, &problems, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let channel = channel.expect("checked above");
    let submission = Submission {
        consultation_id: w.consultation.id,
        version: live.clone(),
        channel,
        entered_by: Some(who.user_id),
        // One key per form shown, so that pressing save twice keys the response once.
        idempotency_key: format!("entry:{entry}"),
        answers,
        journey: None,
        receipt: None,
        respondent: None,
    };
    let reference = match state.submitter.submit(submission).await {
        Ok(Outcome::Created { reference }) => {
            let (actor, c, r) = (actor(&who, &request), w.consultation.clone(), reference.clone());
            state.db(move |conn| Ok(workspace::record_keyed_response(conn, &actor, &c, &r, channel.as_str())?)).await?;
            reference
        }
        Ok(Outcome::Replayed { reference }) => reference,
        Ok(Outcome::KeyReused) => {
            return Err(AppError::BadRequest(
                "This form was already saved with other answers. Start the next form.".into(),
            ))
        }
        // A keyed response carries no respondent, so it cannot be a second one from an address.
        Ok(Outcome::AlreadyResponded) => {
            return Err(AppError::Internal(anyhow::anyhow!("a keyed response was refused as a second one")))
        }
        Ok(Outcome::NotOpen(_)) => {
            return Err(AppError::Workspace(workspace::Error::invalid(
                "The consultation is not open: it takes no responses",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(super::see_other(format!("/officer/consultations/{slug}/paper?saved={reference}&channel={}", channel.as_str())))
}
