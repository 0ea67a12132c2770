//! GET the list of consultations and one consultation's published questionnaire.

use super::Problem;
use crate::domain::definition::utc;
use crate::domain::questionnaire::Questionnaire;
use crate::models::{consultation, consultation::Consultation, now};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;

#[derive(Serialize)]
struct Summary<'a> {
    slug: &'a str,
    title: &'a str,
    status: &'static str,
    #[serde(with = "utc")]
    opens_at: Option<NaiveDateTime>,
    #[serde(with = "utc")]
    closes_at: Option<NaiveDateTime>,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    #[serde(rename = "summary")]
    summary_text: &'a str,
    version: i32,
    #[serde(flatten)]
    questionnaire: &'a Questionnaire,
}

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let rows = state.db(|conn| Ok(consultation::list_public(conn, None)?)).await?;
    let at = now();
    let list: Vec<Summary> = rows.iter().map(|l| summary(&l.consultation, &l.title, at)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "consultations": list })))
}

pub async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (c, live) = state.consultation(&slug).await?;
    let content = &live.content;
    Ok(HttpResponse::Ok().json(Detail {
        summary: summary(&c, content.title.as_str(), now()),
        summary_text: content.summary.as_str(),
        version: live.number,
        questionnaire: &content.questionnaire,
    }))
}

fn summary<'a>(c: &'a Consultation, title: &'a str, at: NaiveDateTime) -> Summary<'a> {
    Summary { slug: &c.slug, title, status: c.phase(at).as_str(), opens_at: c.opens_at, closes_at: c.closes_at }
}
