//! GET the list of consultations and one consultation's published questionnaire.

use super::Problem;
use crate::domain::questionnaire::Questionnaire;
use crate::models::{consultation, now};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;

#[derive(Serialize)]
struct Summary {
    slug: String,
    title: String,
    status: &'static str,
    #[serde(with = "utc")]
    opens_at: Option<NaiveDateTime>,
    #[serde(with = "utc")]
    closes_at: Option<NaiveDateTime>,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    summary: Summary,
    #[serde(rename = "summary")]
    summary_text: &'a str,
    version: i64,
    #[serde(flatten)]
    questionnaire: &'a Questionnaire,
}

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let rows = state.db(|conn| Ok(consultation::list_public(conn, None)?)).await?;
    let at = now();
    let list: Vec<Summary> = rows.iter().map(|c| summary(c, at)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "consultations": list })))
}

pub async fn show(state: web::Data<AppState>, slug: web::Path<String>) -> Result<HttpResponse, Problem> {
    let (c, q) = state.consultation(&slug).await?;
    Ok(HttpResponse::Ok().json(Detail {
        summary: summary(&c, now()),
        summary_text: &c.summary,
        version: c.current_version_id.unwrap_or_default(),
        questionnaire: &q,
    }))
}

fn summary(c: &consultation::Consultation, at: NaiveDateTime) -> Summary {
    Summary {
        slug: c.slug.clone(),
        title: c.title.clone(),
        status: c.phase(at).as_str(),
        opens_at: c.opens_at,
        closes_at: c.closes_at,
    }
}

/// Times in the API are RFC 3339 in UTC.
mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            None => s.serialize_none(),
        }
    }
}
