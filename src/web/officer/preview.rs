//! The preview: each page of the questionnaire exactly as a resident will see it — the same template, the
//! same validation and routing — with nothing stored. The answers so far travel in a hidden field of the
//! page's form instead of a journey row.

use super::consultations::working;
use super::page;
use crate::domain::journey::{pages, to_form, Page, Progress};
use crate::domain::validation;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::Identity;
use crate::web::public::journey::{page_questions, render_question_page, summary, QuestionPage};
use crate::web::render::markdown;
use crate::web::routes::{Access, Router, BUILDERS};
use crate::web::{form, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The hidden field the answers so far travel in.
const PROGRESS: &str = "_preview";

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/{slug}/preview", b, web::get().to(index))
        .get("/officer/consultations/{slug}/preview/{page}", b, web::get().to(show))
        .post("/officer/consultations/{slug}/preview/{page}", b, web::post().to(answer));
}

fn url(slug: &str, page: &str) -> String {
    format!("/officer/consultations/{slug}/preview/{page}")
}

/// The pages of the questionnaire, to start the preview at any of them.
async fn index(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &super::consultations::heading(&w));
    ctx.insert(
        "pages",
        &pages(q)
            .iter()
            .map(|p| {
                let text = if p.questions.len() == 1 {
                    p.questions[0].prompt.to_string()
                } else {
                    p.section.title.to_string()
                };
                serde_json::json!({"url": url(&slug, &p.key), "text": text})
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("is_draft", &w.latest.is_draft());
    Ok(page(&who, &csrf, StatusCode::OK, "officer/consultation/preview.html", ctx))
}

/// A page with no answers given yet (the start of a preview, or a jump to a page from the list).
async fn show(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let w = working(&state, &who, &slug).await?;
    let progress = Progress::default();
    render(
        &w.content,
        &slug,
        &key,
        &progress,
        &to_form(&w.content.questionnaire, &progress.answers),
        &[],
        &csrf.0,
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render(
    content: &crate::domain::questionnaire::Content,
    slug: &str,
    key: &str,
    progress: &Progress,
    form: &validation::Form,
    problems: &[validation::Problem],
    csrf: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let q = &content.questionnaire;
    let all = pages(q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    let back = match progress.previous(q, &Page::Questions(def.key.clone())) {
        Some(previous) => url(slug, &previous),
        None => format!("/officer/consultations/{slug}/preview"),
    };
    let mut response = render_question_page(
        QuestionPage {
            consultation_title: content.title.as_str(),
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
            action: url(slug, key),
            csrf,
            hidden: vec![(PROGRESS, serde_json::to_string(progress).expect("progress serialises"))],
            preview: true,
            delete_saved: None,
        },
        status,
    );
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Checks a page's answers as the journey does; shows the next page, or what check your answers would show.
async fn answer(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, key) = path.into_inner();
    let form = form::read(&request, &state, body).await?;
    let w = working(&state, &who, &slug).await?;
    let q = &w.content.questionnaire;
    let mut progress: Progress =
        form.get(PROGRESS).and_then(|v| v.first()).and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    if key == "check" {
        return Ok(end(&w, &who, &csrf));
    }
    let all = pages(q);
    let def = all.iter().find(|p| p.key == key).ok_or(AppError::NotFound)?;
    let shown = progress.shown(q);
    let (given, problems) = validation::from_form(&def.questions, |k| shown.question(k), &form);
    if !problems.is_empty() {
        return render(&w.content, &slug, &key, &progress, &form, &problems, &csrf.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
    progress.record(q, def, given);
    match progress.next(q) {
        Page::Questions(next) => {
            render(&w.content, &slug, &next, &progress, &to_form(q, &progress.answers), &[], &csrf.0, StatusCode::OK)
        }
        Page::Check => {
            let mut ctx = tera::Context::new();
            ctx.insert("consultation_title", w.content.title.as_str());
            ctx.insert("slug", &slug);
            ctx.insert("sections", &summary(q, &progress.answers, |page| url(&slug, page)));
            ctx.insert("back", &progress.previous(q, &Page::Check).map(|p| url(&slug, &p)));
            ctx.insert("csrf", &csrf.0);
            ctx.insert("preview", &true);
            ctx.insert("action", &url(&slug, "check"));
            ctx.insert("hidden", &vec![(PROGRESS, serde_json::to_string(&progress).expect("progress serialises"))]);
            Ok(page(&who, &csrf, StatusCode::OK, "public/check.html", ctx))
        }
    }
}

/// Where a resident would be told their response was submitted: the preview ends, nothing stored.
fn end(w: &super::consultations::Working, who: &Identity, csrf: &CsrfToken) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &super::consultations::heading(w));
    page(who, csrf, StatusCode::OK, "officer/consultation/preview_end.html", ctx)
}
