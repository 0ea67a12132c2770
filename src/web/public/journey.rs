//! The resident's journey: start, one page of questions at a time, check your answers, submit, confirmation.
//! Answers in progress live server-side under the token in a cookie scoped to the consultation, so they survive
//! a refresh and a browser restart; every POST carries the journey's CSRF token and ends in a 303.

use super::not_open;
use crate::domain::answers::{describe, Answers};
use crate::domain::fields;
use crate::domain::journey::{pages, to_form, Page, PageDef, Progress};
use crate::domain::phase::Phase;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::reference::new_token;
use crate::domain::text::Language;
use crate::domain::validation::{self, Form, Problem};
use crate::email::compose::is_address;
use crate::models::{consultation::Consultation, journey, now, response, version::Loaded};
use crate::submissions::{JourneySave, Outcome, Receipt, Submission};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::public::respondents::{address_field, already_responded, ask_address};
use crate::web::questions::{error_links, view, QuestionView};
use crate::web::render::{markdown, page, page_with_status};
use crate::web::routes::{Access, Router};
use crate::web::{form, AppState};
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use std::sync::Arc;

pub(super) const COOKIE: &str = "hys_journey";

pub fn routes(r: &mut Router) {
    r.get("/consultations/{slug}/respond", Access::Public, web::get().to(start))
        .get("/consultations/{slug}/respond/check", Access::Public, web::get().to(check))
        .post("/consultations/{slug}/respond/check", Access::Public, web::post().to(submit))
        .get("/consultations/{slug}/respond/confirmation", Access::Public, web::get().to(confirmation))
        .get("/consultations/{slug}/respond/{page}", Access::Public, web::get().to(show_page))
        .post("/consultations/{slug}/respond/{page}", Access::Public, web::post().to(save_page));
}

pub(super) fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

pub(super) fn page_url(slug: &str, page: &Page) -> String {
    match page {
        Page::Questions(key) => format!("/consultations/{slug}/respond/{key}"),
        Page::Check => format!("/consultations/{slug}/respond/check"),
    }
}

/// The consultation, the resident's live journey in it (if any) and the version it answers: the journey's, or
/// the live one for a resident who has not saved an answer yet.
pub(super) struct Context {
    pub(super) consultation: Consultation,
    pub(super) journey: Option<journey::Journey>,
    pub(super) version: Arc<Loaded>,
}

impl Context {
    pub(super) fn questionnaire(&self) -> &Questionnaire {
        &self.version.content.questionnaire
    }

    /// Whether the resident may answer: always, unless each person responds once, when only a journey begun
    /// from a confirmed address may.
    fn confirmed(&self) -> bool {
        !self.consultation.one_response_per_person || self.journey.as_ref().is_some_and(|j| j.respondent.is_some())
    }

    /// The progress so far: none until the first page is saved (nothing is stored before then).
    pub(super) fn progress(&self) -> Progress {
        self.journey.as_ref().map(journey::Journey::progress).unwrap_or_default()
    }
}

pub(super) async fn load(state: &AppState, slug: &str, request: &HttpRequest) -> Result<Context, AppError> {
    let (consultation, live) = state.consultation(slug).await?;
    let token = request.cookie(COOKIE).map(|c| c.value().to_string());
    let id = consultation.id;
    let journey = match token {
        Some(token) => state.db(move |conn| Ok(journey::find(conn, &token, id, now())?)).await?,
        None => None,
    };
    let version = match &journey {
        Some(j) if j.version_id != live.id => state.version(j.version_id).await?,
        _ => live,
    };
    Ok(Context { consultation, journey, version })
}

/// The start link: to the first page not yet answered. Nothing is stored until the resident saves an answer.
/// Where each person responds once, a resident without a confirmed journey is asked for their address first.
async fn start(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let c = &ctx.consultation;
    if c.phase(now()) != Phase::Open {
        return Ok(not_open(&state, c, &ctx.version, StatusCode::OK));
    }
    if !ctx.confirmed() {
        // Only this page has a form here: a plain start sets no cookie at all.
        let csrf = CsrfToken::extract(&request).await?;
        return Ok(ask_address(&state, c, &ctx.version, &csrf.0, "", StatusCode::OK));
    }
    let progress = match &ctx.journey {
        Some(j) if j.reference.is_none() => j.progress(),
        _ => Progress::default(),
    };
    Ok(see_other(page_url(&slug, &progress.next(ctx.questionnaire()))))
}

/// Where to send a resident instead of the page they asked for, if anywhere.
fn gate(state: &AppState, ctx: &Context, slug: &str, post: bool) -> Option<HttpResponse> {
    let c = &ctx.consultation;
    if c.phase(now()) != Phase::Open {
        return Some(not_open(state, c, &ctx.version, if post { StatusCode::CONFLICT } else { StatusCode::OK }));
    }
    match &ctx.journey {
        Some(j) if j.reference.is_some() => Some(see_other(format!("/consultations/{slug}/respond/confirmation"))),
        _ if !ctx.confirmed() => Some(see_other(format!("/consultations/{slug}/respond"))),
        _ => None,
    }
}

async fn show_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let ctx = load(&state, &slug, &request).await?;
    if let Some(elsewhere) = gate(&state, &ctx, &slug, false) {
        return Ok(elsewhere);
    }
    let q = ctx.questionnaire();
    let progress = ctx.progress();
    let all = pages(q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    if !progress.may_visit(q, &Page::Questions(key.clone())) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    let form = to_form(q, &progress.answers);
    let saved = super::save::has_link(&state, &ctx).await?;
    Ok(render_page(&ctx, &progress, def, &form, &[], &csrf.0, saved, StatusCode::OK))
}

async fn save_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let form = form::read(&request, &state, body).await?;
    let ctx = load(&state, &slug, &request).await?;
    if let Some(elsewhere) = gate(&state, &ctx, &slug, true) {
        return Ok(elsewhere);
    }
    let q = ctx.questionnaire();
    let mut progress = ctx.progress();
    let all = pages(q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    if !progress.may_visit(q, &Page::Questions(key.clone())) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    let shown = progress.shown(q);
    let (given, problems) = validation::from_form(&def.questions, |k| shown.question(k), &form);
    let saving = super::save::pressed(&form);
    if !problems.is_empty() && !saving {
        let csrf = form.get(crate::web::csrf::FIELD).and_then(|v| v.first()).cloned().unwrap_or_default();
        let saved = super::save::has_link(&state, &ctx).await?;
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(render_page(&ctx, &progress, def, &form, &problems, &csrf, saved, status));
    }
    let location = if saving {
        // "Save and come back later" keeps the answers on this page that are valid and leaves out the rest
        // (a half-typed date, a number out of range) without showing errors: the resident is leaving, not
        // finishing the page. The page stays unfinished, so the link opens it again, and its errors show
        // when they press "Continue".
        progress.keep(q, def, given, problems.is_empty());
        super::save::ask_url(&slug)
    } else {
        progress.record(q, def, given);
        page_url(&slug, &progress.next(q))
    };
    let at = now();
    let days = state.settings.site.journey_days;
    // Never sooner than a link sent to the resident promises (see `models::return_link::insert`).
    let expires = ctx.journey.as_ref().map_or(at, |j| j.expires_at).max(at + chrono::Duration::days(days));
    let mut response = see_other(location);
    let (token, begins) = match &ctx.journey {
        Some(j) => (j.token.clone(), false),
        // The first answer saved: the journey begins now, and with it the cookie.
        None => (new_token(), true),
    };
    let save = JourneySave {
        consultation_id: ctx.consultation.id,
        token: token.clone(),
        version_id: ctx.version.id,
        begins,
        progress: journey::progress_json(&progress),
        at,
        expires_at: expires,
    };
    state.submitter.save_journey(save).await?;
    if begins {
        set_cookie(&state, &mut response, &slug, token, time::Duration::days(days))?;
    }
    Ok(response)
}

/// Gives the browser the journey's cookie, scoped to the consultation: on the first answer saved, or on
/// another device from a link sent by email.
pub(super) fn set_cookie(
    state: &AppState,
    response: &mut HttpResponse,
    slug: &str,
    token: String,
    max_age: time::Duration,
) -> Result<(), AppError> {
    let cookie = Cookie::build(COOKIE, token)
        .path(format!("/consultations/{slug}"))
        .http_only(true)
        .secure(state.settings.site.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish();
    response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.into()))
}

/// What a page of questions shows, for the resident's journey and the officer's preview alike.
pub struct QuestionPage<'a> {
    pub consultation_title: &'a str,
    pub section_title: &'a str,
    pub description: Option<String>,
    pub questions: Vec<QuestionView<'a>>,
    pub problems: &'a [Problem],
    pub back: String,
    pub action: String,
    pub csrf: &'a str,
    /// Hidden fields the form carries beside the answers (the preview's answers so far).
    pub hidden: Vec<(&'static str, String)>,
    /// Shown as a banner: this is a preview and nothing is stored. A preview offers no saving for later.
    pub preview: bool,
    /// Where to delete the answers saved with a link sent by email, when the journey has one.
    pub delete_saved: Option<String>,
}

pub fn render_question_page(p: QuestionPage, status: StatusCode) -> HttpResponse {
    let single = p.questions.len() == 1;
    let heading = if single { p.questions[0].prompt.to_string() } else { p.section_title.to_string() };
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", p.consultation_title);
    tctx.insert("heading", &heading);
    tctx.insert("section_title", p.section_title);
    tctx.insert("single", &single);
    tctx.insert("description_html", &p.description);
    tctx.insert("questions", &p.questions);
    tctx.insert("errors", &error_links(p.problems));
    tctx.insert("back", &p.back);
    tctx.insert("action", &p.action);
    tctx.insert("csrf", p.csrf);
    tctx.insert("hidden", &p.hidden);
    tctx.insert("preview", &p.preview);
    tctx.insert("delete_saved", &p.delete_saved);
    page_with_status(status, "public/question_page.html", tctx)
}

/// The views of a page's questions that routing shows, each with its problem.
pub fn page_questions<'a>(
    def: &PageDef<'a>,
    progress: &Progress,
    q: &Questionnaire,
    form: &Form,
    problems: &'a [Problem],
) -> Vec<QuestionView<'a>> {
    let shown = progress.shown(q);
    def.questions
        .iter()
        .filter(|question| shown.question(&question.key))
        .map(|question| view(question, form, problems.iter().find(|p| p.question == question.key), Language::English))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render_page(
    ctx: &Context,
    progress: &Progress,
    def: &PageDef,
    form: &Form,
    problems: &[Problem],
    csrf: &str,
    saved: bool,
    status: StatusCode,
) -> HttpResponse {
    let q = ctx.questionnaire();
    let c = &ctx.consultation;
    let back = match progress.previous(q, &Page::Questions(def.key.clone())) {
        Some(key) => page_url(&c.slug, &Page::Questions(key)),
        None => format!("/consultations/{}", c.slug),
    };
    render_question_page(
        QuestionPage {
            consultation_title: ctx.version.content.title.as_str(),
            section_title: def.section.title.as_str(),
            description: def
                .section
                .description
                .as_ref()
                .filter(|_| def.first_of_section)
                .map(|d| markdown(d.as_str())),
            questions: page_questions(def, progress, q, form, problems),
            problems,
            back,
            action: page_url(&c.slug, &Page::Questions(def.key.clone())),
            csrf,
            hidden: Vec::new(),
            preview: false,
            delete_saved: saved.then(|| super::save::delete_url(&c.slug)),
        },
        status,
    )
}

#[derive(Serialize)]
pub struct SummaryRow {
    key: String,
    prompt: String,
    answer: Vec<String>,
    change: String,
}

#[derive(Serialize)]
pub struct SummarySection {
    title: String,
    rows: Vec<SummaryRow>,
}

/// Check-your-answers: each shown question's answer in words, by section, with a link to change it.
pub fn summary(q: &Questionnaire, answers: &Answers, change_url: impl Fn(&str) -> String) -> Vec<SummarySection> {
    let shown = crate::domain::routing::shown(q, answers);
    let mut sections: Vec<SummarySection> = Vec::new();
    for def in pages(q) {
        let rows: Vec<SummaryRow> = def
            .questions
            .iter()
            .filter(|question| shown.question(&question.key))
            .map(|question| SummaryRow {
                key: question.key.clone(),
                prompt: question.prompt.to_string(),
                answer: answers.get(&question.key).map(|a| describe(question, a)).unwrap_or_default(),
                change: format!("{}#{}", change_url(&def.key), fields::id(&question.key)),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        match sections.last_mut() {
            Some(s) if s.title == def.section.title.as_str() => s.rows.extend(rows),
            _ => sections.push(SummarySection { title: def.section.title.to_string(), rows }),
        }
    }
    sections
}

/// The copy of a response's answers that its receipt carries: the check-your-answers summary, without the
/// Change links, as JSON for the outbox payload (`templates/email/receipt.*` read it as `m.answers`).
pub fn receipt_copy(q: &Questionnaire, answers: &Answers) -> serde_json::Value {
    let sections: Vec<serde_json::Value> = summary(q, answers, |_| String::new())
        .into_iter()
        .map(|s| {
            let rows: Vec<serde_json::Value> =
                s.rows.into_iter().map(|r| serde_json::json!({ "prompt": r.prompt, "answer": r.answer })).collect();
            serde_json::json!({ "title": s.title, "rows": rows })
        })
        .collect();
    serde_json::Value::Array(sections)
}

async fn check(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    if let Some(elsewhere) = gate(&state, &ctx, &slug, false) {
        return Ok(elsewhere);
    }
    let q = ctx.questionnaire();
    let progress = ctx.progress();
    if ctx.journey.is_none() || !progress.may_visit(q, &Page::Check) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    Ok(render_check(&ctx, &progress, &csrf.0, "", StatusCode::OK))
}

/// The check-your-answers page, with the receipt address given and its problem, if any (`email` empty and
/// the status 200 when there is none).
fn render_check(ctx: &Context, progress: &Progress, csrf: &str, email: &str, status: StatusCode) -> HttpResponse {
    let q = ctx.questionnaire();
    let slug = &ctx.consultation.slug;
    let back = progress.previous(q, &Page::Check).map(|key| page_url(slug, &Page::Questions(key)));
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", slug);
    tctx.insert("sections", &summary(q, &progress.answers, |page| page_url(slug, &Page::Questions(page.to_string()))));
    tctx.insert("back", &back);
    tctx.insert("csrf", csrf);
    tctx.insert("receipt", &true);
    address_field(&mut tctx, email, status);
    page_with_status(status, "public/check.html", tctx)
}

async fn submit(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(&request, &state, body).await?;
    let ctx = load(&state, &slug, &request).await?;
    if let Some(elsewhere) = gate(&state, &ctx, &slug, true) {
        return Ok(elsewhere);
    }
    let q = ctx.questionnaire();
    let progress = ctx.progress();
    let Some(j) = ctx.journey.clone() else {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    };
    if !progress.may_visit(q, &Page::Check) || !complete(q, &progress.answers) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    let email = form::value(&form, "email");
    if !email.is_empty() && !is_address(&email) {
        let csrf = form::value(&form, crate::web::csrf::FIELD);
        return Ok(render_check(&ctx, &progress, &csrf, &email, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let receipt = (!email.is_empty()).then(|| Receipt { to: email, answers: receipt_copy(q, &progress.answers) });
    let submission = Submission {
        consultation_id: ctx.consultation.id,
        version: ctx.version.clone(),
        channel: response::Channel::Online,
        entered_by: None,
        idempotency_key: format!("journey:{}", j.token),
        answers: progress.answers,
        journey: Some(j.token),
        receipt,
        respondent: j.respondent.clone(),
    };
    match state.submitter.submit(submission).await {
        // Stored, and the journey marked submitted in the same transaction. The journey's key stored with other
        // answers is its own response, sent from another tab before these changes: that one stands.
        Ok(Outcome::Created { .. } | Outcome::Replayed { .. } | Outcome::KeyReused) => {}
        Ok(Outcome::NotOpen(_)) => return Ok(not_open(&state, &ctx.consultation, &ctx.version, StatusCode::CONFLICT)),
        Ok(Outcome::AlreadyResponded) => return Ok(already_responded(&ctx.consultation, &ctx.version)),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(format!("/consultations/{slug}/respond/confirmation")))
}

/// Whether a journey's answers make a whole valid response (they were checked page by page; this is the last
/// word before storing).
fn complete(q: &Questionnaire, answers: &Answers) -> bool {
    let shown = crate::domain::routing::shown(q, answers);
    validation::check_complete(q, answers, &shown).is_empty()
        && answers.iter().all(|(key, a)| q.question(key).is_some_and(|question| validation::check(question, a).is_ok()))
}

async fn confirmation(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let Some(reference) = ctx.journey.as_ref().and_then(|j| j.reference.clone()) else {
        return Ok(see_other(format!("/consultations/{slug}/respond")));
    };
    let key = crate::submissions::receipt_key(ctx.consultation.id, &reference);
    let receipt = state.db(move |conn| Ok(crate::models::outbox::has(conn, &key)?)).await?;
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", ctx.version.content.title.as_str());
    tctx.insert("slug", &ctx.consultation.slug);
    tctx.insert("reference", &reference);
    tctx.insert("receipt", &receipt);
    tctx.insert("closes", &ctx.consultation.closes_at.map(|t| state.local_time(t)));
    tctx.insert("results_public", &ctx.consultation.results_visible_to(crate::auth::Viewer::Public));
    Ok(page("public/confirmation.html", tctx))
}
