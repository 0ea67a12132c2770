//! The resident's journey: start, one page of questions at a time, check your answers, submit, confirmation.
//! Answers in progress live server-side under the token in a cookie scoped to the consultation, so they survive
//! a refresh and a browser restart; every POST carries the journey's CSRF token and ends in a 303.

use super::{form, not_open};
use crate::domain::answers::{describe, Answers};
use crate::domain::journey::{pages, to_form, Page, PageDef, Progress};
use crate::domain::phase::Phase;
use crate::domain::questionnaire::{Question, Questionnaire};
use crate::domain::reference::new_token;
use crate::domain::validation::{self, Form, Problem};
use crate::models::{consultation::Consultation, journey, now, response};
use crate::submissions::{Outcome, Submission, SubmitError};
use crate::web::error::AppError;
use crate::web::render::{markdown, page, page_with_status};
use crate::web::AppState;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use std::sync::Arc;

const COOKIE: &str = "hys_journey";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultations/{slug}/respond", web::get().to(start))
        .route("/consultations/{slug}/respond/check", web::get().to(check))
        .route("/consultations/{slug}/respond/check", web::post().to(submit))
        .route("/consultations/{slug}/respond/confirmation", web::get().to(confirmation))
        .route("/consultations/{slug}/respond/{page}", web::get().to(show_page))
        .route("/consultations/{slug}/respond/{page}", web::post().to(save_page));
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

fn page_url(slug: &str, page: &Page) -> String {
    match page {
        Page::Questions(key) => format!("/consultations/{slug}/respond/{key}"),
        Page::Check => format!("/consultations/{slug}/respond/check"),
    }
}

/// The consultation, the resident's live journey in it (if any) and that journey's questionnaire version.
struct Context {
    consultation: Consultation,
    journey: Option<journey::Journey>,
    questionnaire: Arc<Questionnaire>,
}

async fn load(state: &AppState, slug: &str, request: &HttpRequest) -> Result<Context, AppError> {
    let (consultation, current) = state.consultation(slug).await?;
    let token = request.cookie(COOKIE).map(|c| c.value().to_string());
    let id = consultation.id;
    let journey = match token {
        Some(token) => state.db(move |conn| Ok(journey::find(conn, &token, id, now())?)).await?,
        None => None,
    };
    let questionnaire = match &journey {
        Some(j) if Some(j.version_id) != consultation.current_version_id => state.questionnaire(j.version_id).await?,
        _ => current,
    };
    Ok(Context { consultation, journey, questionnaire })
}

async fn start(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let c = &ctx.consultation;
    if c.phase(now()) != Phase::Open {
        return Ok(not_open(&state, c, StatusCode::OK));
    }
    if let Some(j) = ctx.journey.filter(|j| j.reference.is_none()) {
        return Ok(see_other(page_url(&slug, &j.progress().next(&ctx.questionnaire))));
    }
    let token = new_token();
    let at = now();
    let days = state.settings.site.journey_days;
    let new = (token.clone(), c.id, c.current_version_id.unwrap_or_default(), new_token());
    state
        .db(move |conn| {
            Ok(journey::insert(
                conn,
                &journey::NewJourney {
                    token: &new.0,
                    consultation_id: new.1,
                    version_id: new.2,
                    answers: "{}",
                    csrf_token: &new.3,
                    created_at: at,
                    updated_at: at,
                    expires_at: at + chrono::Duration::days(days),
                },
            )?)
        })
        .await?;
    let cookie = Cookie::build(COOKIE, token)
        .path(format!("/consultations/{slug}"))
        .http_only(true)
        .secure(state.settings.site.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(days))
        .finish();
    let first = Progress::default().next(&ctx.questionnaire);
    let mut response = see_other(page_url(&slug, &first));
    response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

/// The journey a page may work on, or where to send the resident instead.
enum Gate {
    Go(journey::Journey),
    Elsewhere(HttpResponse),
}

fn gate(state: &AppState, ctx: &Context, slug: &str, post: bool) -> Gate {
    let c = &ctx.consultation;
    if c.phase(now()) != Phase::Open {
        return Gate::Elsewhere(not_open(state, c, if post { StatusCode::CONFLICT } else { StatusCode::OK }));
    }
    match &ctx.journey {
        None => Gate::Elsewhere(see_other(format!("/consultations/{slug}/respond"))),
        Some(j) if j.reference.is_some() => {
            Gate::Elsewhere(see_other(format!("/consultations/{slug}/respond/confirmation")))
        }
        Some(j) => Gate::Go(j.clone()),
    }
}

fn check_csrf(j: &journey::Journey, form: &Form) -> Result<(), AppError> {
    let sent = form.get("_csrf").and_then(|v| v.first()).map_or("", String::as_str);
    // Both are our own random hex tokens of one length; compare every byte so timing reveals nothing.
    let same = sent.len() == j.csrf_token.len()
        && sent.bytes().zip(j.csrf_token.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(AppError::Forbidden("This form has expired. Go back to the page, refresh it and try again.".into()))
    }
}

async fn show_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let ctx = load(&state, &slug, &request).await?;
    let j = match gate(&state, &ctx, &slug, false) {
        Gate::Go(j) => j,
        Gate::Elsewhere(r) => return Ok(r),
    };
    let q = &ctx.questionnaire;
    let progress = j.progress();
    let all = pages(q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    let here = Page::Questions(key.clone());
    if !progress.may_visit(q, &here) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    let form = to_form(q, &progress.answers);
    Ok(render_page(&ctx, &j, &progress, def, &form, &[], StatusCode::OK))
}

async fn save_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let form = form::read(body).await?;
    let ctx = load(&state, &slug, &request).await?;
    let j = match gate(&state, &ctx, &slug, true) {
        Gate::Go(j) => j,
        Gate::Elsewhere(r) => return Ok(r),
    };
    check_csrf(&j, &form)?;
    let q = ctx.questionnaire.clone();
    let mut progress = j.progress();
    let all = pages(&q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    if !progress.may_visit(&q, &Page::Questions(key.clone())) {
        return Ok(see_other(page_url(&slug, &progress.next(&q))));
    }
    let shown = progress.shown(&q);
    let (given, problems) = validation::from_form(&def.questions, |k| shown.question(k), &form);
    if !problems.is_empty() {
        return Ok(render_page(&ctx, &j, &progress, def, &form, &problems, StatusCode::UNPROCESSABLE_ENTITY));
    }
    progress.record(&q, def, given);
    let next = progress.next(&q);
    let at = now();
    let expires = at + chrono::Duration::days(state.settings.site.journey_days);
    let token = j.token.clone();
    state.db(move |conn| Ok(journey::save_progress(conn, &token, &progress, at, expires)?)).await?;
    Ok(see_other(page_url(&slug, &next)))
}

/// One question as the question macro reads it (see templates/components/questions.html).
#[derive(Serialize)]
struct QuestionView<'a> {
    #[serde(flatten)]
    question: &'a Question,
    options: Vec<OptionView<'a>>,
    id: String,
    value: String,
    date: DateView,
    other_text: String,
    error: Option<&'a str>,
    error_target: Option<&'a str>,
}

#[derive(Serialize)]
struct OptionView<'a> {
    key: &'a str,
    label: &'a str,
    other: bool,
    exclusive: bool,
    checked: bool,
    rank: String,
}

#[derive(Serialize)]
struct DateView {
    day: String,
    month: String,
    year: String,
}

fn question_view<'a>(question: &'a Question, form: &Form, problem: Option<&'a Problem>) -> QuestionView<'a> {
    let name = format!("q.{}", question.key);
    let get = |field: &str| form.get(field).and_then(|v| v.first()).cloned().unwrap_or_default();
    let chosen = form.get(&name).cloned().unwrap_or_default();
    QuestionView {
        question,
        options: question
            .options
            .iter()
            .map(|o| OptionView {
                key: &o.key,
                label: &o.label,
                other: o.other,
                exclusive: o.exclusive,
                checked: chosen.contains(&o.key),
                rank: get(&format!("{name}.{}", o.key)),
            })
            .collect(),
        id: validation::field_id(&question.key),
        value: get(&name),
        date: DateView {
            day: get(&format!("{name}.day")),
            month: get(&format!("{name}.month")),
            year: get(&format!("{name}.year")),
        },
        other_text: get(&format!("{name}.other")),
        error: problem.map(|p| p.message.as_str()),
        error_target: problem.map(|p| p.field.as_str()),
    }
}

#[derive(Serialize)]
struct ErrorLink<'a> {
    target: &'a str,
    message: &'a str,
}

fn render_page(
    ctx: &Context,
    j: &journey::Journey,
    progress: &Progress,
    def: &PageDef,
    form: &Form,
    problems: &[Problem],
    status: StatusCode,
) -> HttpResponse {
    let q = &ctx.questionnaire;
    let c = &ctx.consultation;
    let shown = progress.shown(q);
    let questions: Vec<QuestionView> = def
        .questions
        .iter()
        .filter(|question| shown.question(&question.key))
        .map(|question| question_view(question, form, problems.iter().find(|p| p.question == question.key)))
        .collect();
    let single = questions.len() == 1;
    let heading = if single { questions[0].question.prompt.clone() } else { def.section.title.clone() };
    let back = match progress.previous(q, &Page::Questions(def.key.clone())) {
        Some(key) => page_url(&c.slug, &Page::Questions(key)),
        None => format!("/consultations/{}", c.slug),
    };
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", &c.title);
    tctx.insert("slug", &c.slug);
    tctx.insert("heading", &heading);
    tctx.insert("section_title", &def.section.title);
    tctx.insert("single", &single);
    tctx.insert("description_html", &def.section.description.as_deref().filter(|_| def.first_of_section).map(markdown));
    tctx.insert("questions", &questions);
    tctx.insert(
        "errors",
        &problems.iter().map(|p| ErrorLink { target: &p.field, message: &p.message }).collect::<Vec<_>>(),
    );
    tctx.insert("back", &back);
    tctx.insert("action", &page_url(&c.slug, &Page::Questions(def.key.clone())));
    tctx.insert("csrf", &j.csrf_token);
    page_with_status(status, "public/question_page.html", tctx)
}

#[derive(Serialize)]
struct SummaryRow {
    key: String,
    prompt: String,
    answer: Vec<String>,
    change: String,
}

#[derive(Serialize)]
struct SummarySection {
    title: String,
    rows: Vec<SummaryRow>,
}

async fn check(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ctx = load(&state, &slug, &request).await?;
    let j = match gate(&state, &ctx, &slug, false) {
        Gate::Go(j) => j,
        Gate::Elsewhere(r) => return Ok(r),
    };
    let q = &ctx.questionnaire;
    let progress = j.progress();
    if !progress.may_visit(q, &Page::Check) {
        return Ok(see_other(page_url(&slug, &progress.next(q))));
    }
    Ok(render_check(&ctx, &j, &progress))
}

fn render_check(ctx: &Context, j: &journey::Journey, progress: &Progress) -> HttpResponse {
    let q = &ctx.questionnaire;
    let slug = &ctx.consultation.slug;
    let shown = progress.shown(q);
    let mut sections: Vec<SummarySection> = Vec::new();
    for def in pages(q) {
        let rows: Vec<SummaryRow> = def
            .questions
            .iter()
            .filter(|question| shown.question(&question.key))
            .map(|question| SummaryRow {
                key: question.key.clone(),
                prompt: question.prompt.clone(),
                answer: progress.answers.get(&question.key).map(|a| describe(question, a)).unwrap_or_default(),
                change: format!(
                    "{}#{}",
                    page_url(slug, &Page::Questions(def.key.clone())),
                    validation::field_id(&question.key)
                ),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        match sections.last_mut() {
            Some(s) if s.title == def.section.title => s.rows.extend(rows),
            _ => sections.push(SummarySection { title: def.section.title.clone(), rows }),
        }
    }
    let back = progress.previous(q, &Page::Check).map(|key| page_url(slug, &Page::Questions(key)));
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", &ctx.consultation.title);
    tctx.insert("slug", slug);
    tctx.insert("sections", &sections);
    tctx.insert("back", &back);
    tctx.insert("csrf", &j.csrf_token);
    page("public/check.html", tctx)
}

async fn submit(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form = form::read(body).await?;
    let ctx = load(&state, &slug, &request).await?;
    let j = match gate(&state, &ctx, &slug, true) {
        Gate::Go(j) => j,
        Gate::Elsewhere(r) => return Ok(r),
    };
    check_csrf(&j, &form)?;
    let q = ctx.questionnaire.clone();
    let progress = j.progress();
    if !progress.may_visit(&q, &Page::Check) || !complete(&q, &progress.answers) {
        return Ok(see_other(page_url(&slug, &progress.next(&q))));
    }
    let submission = Submission {
        consultation_id: ctx.consultation.id,
        version_id: j.version_id,
        questionnaire: q,
        channel: response::Channel::Online,
        idempotency_key: format!("journey:{}", j.token),
        answers: progress.answers,
    };
    let key = submission.idempotency_key.clone();
    let reference = match state.submitter.submit(submission).await {
        Ok(Outcome::Created { reference } | Outcome::Replayed { reference }) => reference,
        // Stored before, but the journey was not marked (the process stopped between the two): the stored
        // response stands.
        Ok(Outcome::KeyReused) => {
            let id = ctx.consultation.id;
            state
                .db(move |conn| Ok(response::find_by_key(conn, id, &key)?))
                .await?
                .map(|(reference, _)| reference)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a reused journey key has no response")))?
        }
        Ok(Outcome::NotOpen(_)) => return Ok(not_open(&state, &ctx.consultation, StatusCode::CONFLICT)),
        Err(SubmitError::Overloaded) => return Err(AppError::Overloaded),
        Err(SubmitError::Storage(e)) => return Err(AppError::Internal(e)),
    };
    let token = j.token.clone();
    state.db(move |conn| Ok(journey::mark_submitted(conn, &token, &reference, now())?)).await?;
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
    let mut tctx = tera::Context::new();
    tctx.insert("consultation_title", &ctx.consultation.title);
    tctx.insert("slug", &ctx.consultation.slug);
    tctx.insert("reference", &reference);
    tctx.insert("closes", &ctx.consultation.closes_at.map(|t| state.local_time(t)));
    tctx.insert(
        "results_public",
        &crate::auth::Visibility::parse(&ctx.consultation.results_visibility).allows(crate::auth::Viewer::Public),
    );
    Ok(page("public/confirmation.html", tctx))
}
