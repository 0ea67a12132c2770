//! GET the list of consultations and one consultation's published questionnaire.

use super::openapi::{BAD_TOKEN, PROBLEM, UNAVAILABLE};
use super::Problem;
use crate::domain::definition::utc;
use crate::domain::phase::Phase;
use crate::domain::questionnaire::Questionnaire;
use crate::models::{consultation, consultation::Consultation, now};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

/// A consultation in the list.
#[derive(Serialize, ToSchema)]
pub struct ConsultationSummary<'a> {
    slug: &'a str,
    /// The title, in English.
    title: &'a str,
    /// Where the consultation stands now, from its times. Neither the list nor a questionnaire shows a draft.
    status: Phase,
    /// RFC 3339, in UTC.
    #[serde(with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime, required)]
    opens_at: Option<NaiveDateTime>,
    /// RFC 3339, in UTC; null when the consultation has no closing time.
    #[serde(with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime, required)]
    closes_at: Option<NaiveDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationList<'a> {
    consultations: Vec<ConsultationSummary<'a>>,
}

/// A consultation with its live questionnaire version.
#[derive(Serialize, ToSchema)]
pub struct PublishedConsultation<'a> {
    #[serde(flatten)]
    summary: ConsultationSummary<'a>,
    /// The summary, in English.
    #[serde(rename = "summary")]
    summary_text: &'a str,
    /// The number of the published, frozen questionnaire version that responses are checked against.
    version: i32,
    #[serde(flatten)]
    questionnaire: &'a Questionnaire,
}

#[utoipa::path(
    get,
    path = "/api/v1/consultations",
    operation_id = "listConsultations",
    tag = "public",
    summary = "Every consultation that is not a draft",
    responses(
        (status = 200, description = "The consultations", body = ConsultationList),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let rows = state.db(|conn| Ok(consultation::list_public(conn, None)?)).await?;
    let at = now();
    let consultations = rows.iter().map(|l| summary(&l.consultation, &l.title, at)).collect();
    Ok(HttpResponse::Ok().json(ConsultationList { consultations }))
}

#[utoipa::path(
    get,
    path = "/api/v1/consultations/{slug}",
    operation_id = "getQuestionnaire",
    tag = "public",
    summary = "A consultation and its published questionnaire",
    params(("slug" = String, Path, description = "The consultation's slug, e.g. irmp-2027")),
    responses(
        (status = 200, body = PublishedConsultation,
         description = "The consultation with its live questionnaire version"),
        (status = 401, description = BAD_TOKEN, body = Problem, content_type = PROBLEM),
        (status = 404, body = Problem, content_type = PROBLEM,
         description = "No such consultation, or one that is a draft"),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = PROBLEM),
    )
)]
pub async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (c, live) = state.consultation(&slug).await?;
    let content = &live.content;
    Ok(HttpResponse::Ok().json(PublishedConsultation {
        summary: summary(&c, content.title.as_str(), now()),
        summary_text: content.summary.as_str(),
        version: live.number,
        questionnaire: &content.questionnaire,
    }))
}

fn summary<'a>(c: &'a Consultation, title: &'a str, at: NaiveDateTime) -> ConsultationSummary<'a> {
    ConsultationSummary { slug: &c.slug, title, status: c.phase(at), opens_at: c.opens_at, closes_at: c.closes_at }
}
