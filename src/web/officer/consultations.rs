//! A consultation's pages in the workspace: make one (or import one), its overview, its words, its times and
//! results policy, publishing, the lifecycle actions, duplicating, exporting and deleting.

use super::forms::Fields;
use super::{page, see_other};
use crate::auth::Visibility;
use crate::domain::definition::{self, slug_from};
use crate::domain::phase::Stage;
use crate::domain::questionnaire::{limits, Content};
use crate::models::consultation::{Consultation, EmailRules, Schedule};
use crate::models::{now, organisation, response, version};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::identity::{actor, Identity};
use crate::web::render::markdown;
use crate::web::routes::{Access, Router, BUILDERS};
use crate::web::{form, AppState};
use crate::workspace::{self, RETENTION_DAYS};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn routes(r: &mut Router) {
    let b = Access::Pages(BUILDERS);
    r.get("/officer/consultations/new", b, web::get().to(new_form))
        .post("/officer/consultations", b, web::post().to(create))
        .get("/officer/import", b, web::get().to(import_form))
        .post("/officer/import", b, web::post().to(import))
        .get("/officer/consultations/{slug}", b, web::get().to(overview))
        .get("/officer/consultations/{slug}/details", b, web::get().to(details_form))
        .post("/officer/consultations/{slug}/details", b, web::post().to(details_save))
        .get("/officer/consultations/{slug}/schedule", b, web::get().to(schedule_form))
        .post("/officer/consultations/{slug}/schedule", b, web::post().to(schedule_save))
        .get("/officer/consultations/{slug}/publish", b, web::get().to(publish_form))
        .post("/officer/consultations/{slug}/publish", b, web::post().to(publish))
        .get("/officer/consultations/{slug}/lifecycle/{action}", b, web::get().to(lifecycle_form))
        .post("/officer/consultations/{slug}/lifecycle/{action}", b, web::post().to(lifecycle))
        .get("/officer/consultations/{slug}/duplicate", b, web::get().to(duplicate_form))
        .post("/officer/consultations/{slug}/duplicate", b, web::post().to(duplicate))
        .get("/officer/consultations/{slug}/export", b, web::get().to(export));
}

/// A consultation and the version officers work on (its draft, else its live version).
pub struct Working {
    pub consultation: Consultation,
    pub latest: version::Version,
    pub content: Content,
    /// What the edit forms carry, so that two officers' edits cannot overwrite each other unseen.
    pub revision: i32,
}

pub async fn working(state: &AppState, who: &Identity, slug: &str) -> Result<Working, AppError> {
    let c = state.consultation_for(who, slug).await?;
    let copy = c.clone();
    let latest = state.db(move |conn| Ok(workspace::latest(conn, &copy)?)).await?;
    let content = latest.content()?;
    let revision = workspace::revision_of(&latest);
    Ok(Working { consultation: c, latest, content, revision })
}

/// The parts of a consultation every workspace page's heading shows.
#[derive(Serialize)]
pub struct Heading {
    pub slug: String,
    pub title: String,
    pub stage: &'static str,
    pub stage_label: &'static str,
}

pub fn heading(w: &Working) -> Heading {
    let stage = w.consultation.stage(now());
    Heading {
        slug: w.consultation.slug.clone(),
        title: w.content.title.to_string(),
        stage: stage.as_str(),
        stage_label: stage.label(),
    }
}

fn overview_url(slug: &str) -> String {
    format!("/officer/consultations/{slug}")
}

/// A workspace error shown on the form that caused it: the problems against `field`, or a conflict.
pub fn refused(fields: &mut Fields, field: &str, e: workspace::Error) -> Result<(), AppError> {
    match e {
        workspace::Error::Invalid(problems) => {
            for p in problems {
                fields.error(field, p);
            }
            Ok(())
        }
        workspace::Error::Conflict => {
            fields.error(
                field,
                "Someone else changed this questionnaire since you opened this page. Your change was not saved: \
                 check the questionnaire and make it again.",
            );
            Ok(())
        }
        workspace::Error::SlugTaken(slug) => {
            fields.error("slug", format!("The web address name ‘{slug}’ is already used: choose another"));
            Ok(())
        }
        workspace::Error::NotClosed => {
            fields.error(field, "The consultation has not closed: you can publish its results once it has");
            Ok(())
        }
        workspace::Error::Database(e) => Err(e.into()),
    }
}

/// The slug the officer gave (checked), or one made from the title that no consultation has yet.
async fn chosen_slug(state: &AppState, fields: &mut Fields, title: &str) -> Result<String, AppError> {
    let given = fields.value("slug");
    if !given.is_empty() {
        if let Err(p) = definition::check_slug(&given) {
            fields.error("slug", p);
        }
        return Ok(given);
    }
    let base = slug_from(title);
    state.db(move |conn| Ok(crate::models::consultation::free_slug(conn, &base)?)).await
}

// ---------------------------------------------------------------------------------------------------------
// Making a consultation

async fn new_form(state: web::Data<AppState>, who: Identity, csrf: CsrfToken) -> Result<HttpResponse, AppError> {
    let fields = Fields::default();
    render_new(&state, &who, &csrf, &fields, StatusCode::OK).await
}

async fn render_new(
    state: &AppState,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let organisations = match who.scope() {
        None => state.db(|conn| Ok(organisation::all(conn)?)).await?,
        Some(_) => Vec::new(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("form", &fields.view(&["title", "slug", "summary", "organisation"]));
    ctx.insert("errors", &fields.summary());
    ctx.insert(
        "organisations",
        &organisations
            .iter()
            .map(|o| serde_json::json!({"value": o.id.to_string(), "label": o.name}))
            .collect::<Vec<_>>(),
    );
    Ok(page(who, csrf, status, "officer/consultation/new.html", ctx))
}

async fn create(
    state: web::Data<AppState>,
    who: Identity,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let title = fields.required("title", "Enter a title");
    fields.at_most("title", limits::TITLE, "The title");
    let summary = fields.required("summary", "Enter a summary of what the consultation is about");
    fields.at_most("summary", limits::SUMMARY, "The summary");
    let slug = chosen_slug(&state, &mut fields, &title).await?;
    let organisation_id = match (who.scope(), fields.value("organisation").parse::<i64>()) {
        (Some(own), _) => Some(own),
        (None, Ok(chosen)) => Some(chosen),
        (None, Err(_)) => {
            fields.error("organisation", "Select the organisation running the consultation");
            None
        }
    };
    if fields.has_errors() {
        return render_new(&state, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let def = definition::Definition {
        slug: slug.clone(),
        opens_at: None,
        closes_at: None,
        results_visibility: Visibility::Officers.as_str().into(),
        content: Content { title: title.into(), summary: summary.into(), ..Content::default() },
    };
    let actor = actor(&who, &request);
    let org = organisation_id.expect("checked above");
    let made = state
        .db(move |conn| {
            Ok(match organisation::find(conn, org)? {
                None => Err(workspace::Error::invalid("Select the organisation running the consultation")),
                Some(_) => workspace::create(conn, &actor, org, &def, "consultation.create"),
            })
        })
        .await?;
    match made {
        Ok(c) => Ok(see_other(overview_url(&c.slug))),
        Err(e) => {
            refused(&mut fields, "title", e)?;
            render_new(&state, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn import_form(state: web::Data<AppState>, who: Identity, csrf: CsrfToken) -> Result<HttpResponse, AppError> {
    render_import(&state, &who, &csrf, &Fields::default(), StatusCode::OK).await
}

async fn render_import(
    state: &AppState,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let organisations = match who.scope() {
        None => state.db(|conn| Ok(organisation::all(conn)?)).await?,
        Some(_) => Vec::new(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("form", &fields.view(&["definition", "organisation"]));
    ctx.insert("errors", &fields.summary());
    ctx.insert(
        "organisations",
        &organisations
            .iter()
            .map(|o| serde_json::json!({"value": o.id.to_string(), "label": o.name}))
            .collect::<Vec<_>>(),
    );
    Ok(page(who, csrf, status, "officer/consultation/import.html", ctx))
}

/// Imports a definition from the file chosen (or, failing that, pasted into the form).
async fn import(
    state: web::Data<AppState>,
    who: Identity,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let upload = form::read_upload(&request, &state, body, definition::MAX_BYTES + 64 * 1024).await?;
    let mut fields = Fields::from(upload.fields);
    let json = match upload.file {
        file if !file.is_empty() => file,
        _ => fields.required("definition", "Choose a definition file, or paste its JSON").into_bytes(),
    };
    let organisation_id = match (who.scope(), fields.value("organisation").parse::<i64>()) {
        (Some(own), _) => Some(own),
        (None, Ok(chosen)) => Some(chosen),
        (None, Err(_)) => {
            fields.error("organisation", "Select the organisation running the consultation");
            None
        }
    };
    if fields.has_errors() {
        return render_import(&state, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let actor = actor(&who, &request);
    let org = organisation_id.expect("checked above");
    let made = state.db(move |conn| Ok(workspace::import(conn, &actor, org, &json))).await?;
    match made {
        Ok(c) => Ok(see_other(overview_url(&c.slug))),
        Err(workspace::Error::SlugTaken(slug)) => {
            fields.error("definition", format!("slug: ‘{slug}’ is already used by another consultation: change it"));
            render_import(&state, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => {
            refused(&mut fields, "definition", e)?;
            render_import(&state, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The overview

#[derive(Serialize)]
struct QuestionLine {
    key: String,
    prompt: String,
    kind: &'static str,
    required: bool,
    first: bool,
    last: bool,
}

#[derive(Serialize)]
struct SectionLine {
    key: String,
    title: String,
    first: bool,
    last: bool,
    questions: Vec<QuestionLine>,
}

pub fn section_lines(content: &Content) -> Vec<serde_json::Value> {
    let sections = &content.questionnaire.sections;
    sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let line = SectionLine {
                key: s.key.clone(),
                title: s.title.to_string(),
                first: i == 0,
                last: i + 1 == sections.len(),
                questions: s
                    .questions
                    .iter()
                    .enumerate()
                    .map(|(j, q)| QuestionLine {
                        key: q.key.clone(),
                        prompt: q.prompt.to_string(),
                        kind: q.kind.describe(),
                        required: q.required,
                        first: j == 0,
                        last: j + 1 == s.questions.len(),
                    })
                    .collect(),
            };
            serde_json::to_value(line).expect("lines serialise")
        })
        .collect()
}

async fn overview(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let c = w.consultation.clone();
    let (responses, warnings, live_number) = state
        .db(move |conn| {
            let responses = response::count(conn, c.id)?;
            let warnings = match (c.opens_at, c.closes_at) {
                (Some(o), Some(cl)) => workspace::warnings(conn, o, cl)?,
                _ => Vec::new(),
            };
            let live = match c.live_version_id {
                Some(id) => Some(version::find(conn, id)?.number),
                None => None,
            };
            Ok((responses, warnings, live))
        })
        .await?;
    let c = &w.consultation;
    let stage = c.stage(now());
    let q = &w.content.questionnaire;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(&w));
    ctx.insert("opens", &c.opens_at.map(|t| state.local_time(t)));
    ctx.insert("closes", &c.closes_at.map(|t| state.local_time(t)));
    ctx.insert("visibility", c.visibility().describe());
    ctx.insert("summary", w.content.summary.as_str());
    ctx.insert("responses", &responses);
    ctx.insert("warnings", &warnings.iter().map(|w| w.message()).collect::<Vec<_>>());
    ctx.insert("live_version", &live_number);
    ctx.insert("draft_version", &w.latest.is_draft().then_some(w.latest.number));
    ctx.insert("sections", &section_lines(&w.content));
    ctx.insert("routes", &q.routing.iter().map(|r| q.describe_rule(r)).collect::<Vec<_>>());
    ctx.insert("revision", &w.revision);
    ctx.insert("ready", &w.content.check().is_ok());
    ctx.insert("can_open_early", &(stage == Stage::Scheduled));
    ctx.insert("can_close", &(stage == Stage::Open));
    ctx.insert("can_extend", &(matches!(stage, Stage::Open | Stage::Closed | Stage::Scheduled)));
    ctx.insert("can_archive", &(matches!(stage, Stage::Closed | Stage::ResultsPublished | Stage::Draft)));
    ctx.insert("archived", &(stage == Stage::Archived));
    ctx.insert("can_delete", &c.live_version_id.is_none());
    ctx.insert("can_discard", &(c.live_version_id.is_some() && w.latest.is_draft()));
    ctx.insert("can_enter_paper", &(c.phase(now()) == crate::domain::phase::Phase::Open));
    ctx.insert("can_publish_results", &(c.phase(now()) == crate::domain::phase::Phase::Closed));
    ctx.insert("results_published", &c.results_published_at.is_some());
    Ok(page(&who, &csrf, StatusCode::OK, "officer/consultation/overview.html", ctx))
}

// ---------------------------------------------------------------------------------------------------------
// The words: title, summary, background

const DETAILS: &[&str] = &["title", "summary", "body"];

async fn details_form(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    fields.set("title", w.content.title.as_str());
    fields.set("summary", w.content.summary.as_str());
    fields.set("body", w.content.body.as_str());
    fields.set("revision", w.revision.to_string());
    Ok(render_details(&w, &who, &csrf, &fields, None, StatusCode::OK))
}

fn render_details(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    preview: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(DETAILS));
    ctx.insert("errors", &fields.summary());
    ctx.insert("revision", &fields.value("revision"));
    ctx.insert("preview_html", &preview);
    page(who, csrf, status, "officer/consultation/details.html", ctx)
}

async fn details_save(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let title = fields.required("title", "Enter a title");
    fields.at_most("title", limits::TITLE, "The title");
    let summary = fields.required("summary", "Enter a summary");
    fields.at_most("summary", limits::SUMMARY, "The summary");
    let background = fields.at_most("body", limits::BODY, "The background");
    if fields.value("action") == "preview" || fields.has_errors() {
        // The preview is the sanitised page residents would see; nothing is saved.
        let status = if fields.has_errors() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        return Ok(render_details(&w, &who, &csrf, &fields, Some(markdown(&background)), status));
    }
    let revision = fields.value("revision").parse().unwrap_or(-1);
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    let saved = state
        .db(move |conn| {
            Ok(workspace::edit(conn, &actor, &c, revision, "details", |content| {
                content.title.en = title;
                content.summary.en = summary;
                content.body.en = background;
                Ok(())
            }))
        })
        .await?;
    match saved {
        Ok(_) => Ok(see_other(overview_url(&slug))),
        Err(e) => {
            refused(&mut fields, "title", e)?;
            Ok(render_details(&w, &who, &csrf, &fields, None, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Times and results policy

const SCHEDULE: &[&str] = &["visibility", "once", "retention_days"];

async fn schedule_form(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    fields.set_local_time("opens", w.consultation.opens_at, state.timezone);
    fields.set_local_time("closes", w.consultation.closes_at, state.timezone);
    fields.set("visibility", w.consultation.results_visibility.clone());
    fields.set("once", if w.consultation.one_response_per_person { "yes" } else { "" });
    fields.set("retention_days", w.consultation.retention_days.to_string());
    Ok(render_schedule(&w, &who, &csrf, &fields, StatusCode::OK))
}

fn render_schedule(w: &Working, who: &Identity, csrf: &CsrfToken, fields: &Fields, status: StatusCode) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(SCHEDULE));
    ctx.insert("opens", &fields.date_time_view("opens"));
    ctx.insert("closes", &fields.date_time_view("closes"));
    ctx.insert("opens_error", &fields.field("opens_day").error);
    ctx.insert("closes_error", &fields.field("closes_day").error);
    ctx.insert("errors", &fields.summary());
    ctx.insert(
        "visibilities",
        &Visibility::ALL
            .iter()
            .map(|v| serde_json::json!({"value": v.as_str(), "label": v.describe()}))
            .collect::<Vec<_>>(),
    );
    ctx.insert("published", &w.consultation.live_version_id.is_some());
    page(who, csrf, status, "officer/consultation/schedule.html", ctx)
}

async fn schedule_save(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let opens = fields.local_time("opens", "The opening date", state.timezone);
    let closes = fields.local_time("closes", "The closing date", state.timezone);
    let published = w.consultation.live_version_id.is_some();
    if published && opens.is_none() && !fields.has_errors() {
        fields.error("opens_day", "Enter when the consultation opens");
    }
    if published && closes.is_none() && !fields.has_errors() {
        fields.error("closes_day", "Enter when the consultation closes");
    }
    if let (Some(o), Some(c)) = (opens, closes) {
        if c <= o {
            fields.error("closes_day", "The closing date must be after the opening date");
        }
    }
    let visibility = fields.value("visibility");
    if Visibility::from_input(&visibility).is_none() {
        fields.error("visibility", "Select who can see the results");
    }
    // A form sent without the field (one shown before it existed) keeps the period; one sent blank or wrong is
    // refused.
    let retention_days = match fields.values("retention_days").is_empty() {
        true => Some(w.consultation.retention_days),
        false => fields.value("retention_days").parse::<i32>().ok().filter(|d| RETENTION_DAYS.contains(d)),
    };
    if retention_days.is_none() {
        fields.error("retention_days", workspace::retention_problem());
    }
    if fields.has_errors() {
        return Ok(render_schedule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    let schedule = Schedule { opens_at: opens, closes_at: closes, results_visibility: visibility };
    let rules = EmailRules {
        one_response_per_person: fields.value("once") == "yes",
        retention_days: retention_days.unwrap_or(c.retention_days),
    };
    // Everything is checked above, so the second change cannot be refused once the first is made.
    let saved = state
        .db(move |conn| {
            Ok(workspace::schedule(conn, &actor, &c, schedule)
                .and_then(|_| workspace::set_email_rules(conn, &actor, &c, rules)))
        })
        .await?;
    match saved {
        Ok(_) => Ok(see_other(overview_url(&slug))),
        Err(e) => {
            refused(&mut fields, "opens_day", e)?;
            Ok(render_schedule(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Publishing

async fn publish_form(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    Ok(render_publish(&state, &w, &who, &csrf, &[], StatusCode::OK).await?)
}

async fn render_publish(
    state: &AppState,
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    problems: &[String],
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let c = w.consultation.clone();
    let warnings = state
        .db(move |conn| {
            Ok(match (c.opens_at, c.closes_at) {
                (Some(o), Some(cl)) => workspace::warnings(conn, o, cl)?,
                _ => Vec::new(),
            })
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("has_draft", &w.latest.is_draft());
    ctx.insert("republish", &w.consultation.live_version_id.is_some());
    ctx.insert("number", &w.latest.number);
    ctx.insert("opens", &w.consultation.opens_at.map(|t| state.local_time(t)));
    ctx.insert("closes", &w.consultation.closes_at.map(|t| state.local_time(t)));
    ctx.insert("warnings", &warnings.iter().map(|w| w.message()).collect::<Vec<_>>());
    ctx.insert(
        "errors",
        &problems.iter().map(|p| serde_json::json!({"target": "publish", "message": p})).collect::<Vec<_>>(),
    );
    Ok(page(who, csrf, status, "officer/consultation/publish.html", ctx))
}

async fn publish(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    form::read(&request, &state, body).await?;
    let w = working(&state, &who, &slug).await?;
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    match state.db(move |conn| Ok(workspace::publish(conn, &actor, &c))).await? {
        Ok(_) => Ok(see_other(overview_url(&slug))),
        Err(workspace::Error::Invalid(problems)) => {
            render_publish(&state, &w, &who, &csrf, &problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle actions: open early, close, extend, archive, unarchive, discard the draft, delete

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    OpenEarly,
    Close,
    Extend,
    Archive,
    Unarchive,
    DiscardDraft,
    Delete,
}

impl Lifecycle {
    fn parse(s: &str) -> Option<Lifecycle> {
        Some(match s {
            "open" => Lifecycle::OpenEarly,
            "close" => Lifecycle::Close,
            "extend" => Lifecycle::Extend,
            "archive" => Lifecycle::Archive,
            "unarchive" => Lifecycle::Unarchive,
            "discard-draft" => Lifecycle::DiscardDraft,
            "delete" => Lifecycle::Delete,
            _ => return None,
        })
    }

    /// The confirmation page's heading, its explanation and the button.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Lifecycle::OpenEarly => (
                "Open this consultation now",
                "Residents can respond from now, before the opening time you set.",
                "Open now",
            ),
            Lifecycle::Close => (
                "Close this consultation now",
                "No more responses will be taken, online or keyed in, from this moment. You can extend it again \
                 later, until its results are published.",
                "Close now",
            ),
            Lifecycle::Extend => (
                "Extend this consultation",
                "Choose the new closing date and time. A closed consultation reopens until then.",
                "Extend",
            ),
            Lifecycle::Archive => (
                "Archive this consultation",
                "It leaves the list of consultations on the hub. Its page, results and responses are kept.",
                "Archive",
            ),
            Lifecycle::Unarchive => ("Bring this consultation back", "It is listed on the hub again.", "Bring back"),
            Lifecycle::DiscardDraft => (
                "Discard the unpublished changes",
                "The changes made since the questionnaire was last published are thrown away. The published \
                 version stays as it is.",
                "Discard changes",
            ),
            Lifecycle::Delete => (
                "Delete this consultation",
                "It has never been published, so no one has responded. It is deleted for good.",
                "Delete",
            ),
        }
    }
}

async fn lifecycle_form(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let (slug, action) = path.into_inner();
    let action = Lifecycle::parse(&action).ok_or(AppError::NotFound)?;
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    if action == Lifecycle::Extend {
        fields.set_local_time("closes", w.consultation.closes_at, state.timezone);
    }
    Ok(render_lifecycle(&w, &who, &csrf, action, &path_action(action), &fields, StatusCode::OK))
}

fn path_action(action: Lifecycle) -> String {
    match action {
        Lifecycle::OpenEarly => "open",
        Lifecycle::Close => "close",
        Lifecycle::Extend => "extend",
        Lifecycle::Archive => "archive",
        Lifecycle::Unarchive => "unarchive",
        Lifecycle::DiscardDraft => "discard-draft",
        Lifecycle::Delete => "delete",
    }
    .to_string()
}

fn render_lifecycle(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    action: Lifecycle,
    name: &str,
    fields: &Fields,
    status: StatusCode,
) -> HttpResponse {
    let (title, explanation, button) = action.words();
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("title", title);
    ctx.insert("explanation", explanation);
    ctx.insert("button", button);
    ctx.insert("action", name);
    ctx.insert("destructive", &matches!(action, Lifecycle::Delete | Lifecycle::DiscardDraft | Lifecycle::Close));
    ctx.insert("extend", &(action == Lifecycle::Extend));
    ctx.insert("closes", &fields.date_time_view("closes"));
    ctx.insert("closes_error", &fields.field("closes_day").error);
    ctx.insert("errors", &fields.summary());
    page(who, csrf, status, "officer/consultation/lifecycle.html", ctx)
}

async fn lifecycle(
    state: web::Data<AppState>,
    who: Identity,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (slug, name) = path.into_inner();
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let action = Lifecycle::parse(&name).ok_or(AppError::NotFound)?;
    let w = working(&state, &who, &slug).await?;
    let closes = match action {
        Lifecycle::Extend => match fields.local_time("closes", "The new closing date", state.timezone) {
            Some(t) => Some(t),
            None => {
                if !fields.has_errors() {
                    fields.error("closes_day", "Enter the new closing date and time");
                }
                return Ok(render_lifecycle(&w, &who, &csrf, action, &name, &fields, StatusCode::UNPROCESSABLE_ENTITY));
            }
        },
        _ => None,
    };
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    let done = state
        .db(move |conn| {
            Ok(match action {
                Lifecycle::OpenEarly => workspace::open_now(conn, &actor, &c),
                Lifecycle::Close => workspace::close_now(conn, &actor, &c),
                Lifecycle::Extend => workspace::extend(conn, &actor, &c, closes.expect("read above")).map(drop),
                Lifecycle::Archive => workspace::archive(conn, &actor, &c, true),
                Lifecycle::Unarchive => workspace::archive(conn, &actor, &c, false),
                Lifecycle::DiscardDraft => workspace::discard_draft(conn, &actor, &c),
                Lifecycle::Delete => workspace::delete(conn, &actor, &c),
            })
        })
        .await?;
    match done {
        Ok(()) if action == Lifecycle::Delete => Ok(see_other("/officer")),
        Ok(()) => Ok(see_other(overview_url(&slug))),
        Err(e) => {
            refused(&mut fields, "closes_day", e)?;
            Ok(render_lifecycle(&w, &who, &csrf, action, &name, &fields, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Duplicating and exporting

async fn duplicate_form(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let w = working(&state, &who, &slug).await?;
    let mut fields = Fields::default();
    fields.set("title", format!("Copy of {}", w.content.title));
    Ok(render_duplicate(&w, &who, &csrf, &fields, StatusCode::OK))
}

fn render_duplicate(
    w: &Working,
    who: &Identity,
    csrf: &CsrfToken,
    fields: &Fields,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = tera::Context::new();
    ctx.insert("consultation", &heading(w));
    ctx.insert("form", &fields.view(&["title", "slug"]));
    ctx.insert("errors", &fields.summary());
    page(who, csrf, status, "officer/consultation/duplicate.html", ctx)
}

async fn duplicate(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
    csrf: CsrfToken,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::from(form::read(&request, &state, body).await?);
    let w = working(&state, &who, &slug).await?;
    let title = fields.required("title", "Enter a title for the copy");
    fields.at_most("title", limits::TITLE, "The title");
    let new_slug = chosen_slug(&state, &mut fields, &title).await?;
    if fields.has_errors() {
        return Ok(render_duplicate(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let actor = actor(&who, &request);
    let c = w.consultation.clone();
    match state.db(move |conn| Ok(workspace::duplicate(conn, &actor, &c, &new_slug, &title))).await? {
        Ok(copy) => Ok(see_other(overview_url(&copy.slug))),
        Err(e) => {
            refused(&mut fields, "title", e)?;
            Ok(render_duplicate(&w, &who, &csrf, &fields, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// The definition as a JSON file to download (and import elsewhere).
async fn export(
    state: web::Data<AppState>,
    who: Identity,
    slug: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let c = state.consultation_for(&who, &slug).await?;
    let actor = actor(&who, &request);
    let def = state.db(move |conn| Ok(workspace::export(conn, &actor, &c)?)).await?;
    let json = serde_json::to_string_pretty(&def).map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.json\"", slug.as_str())))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(json))
}
