//! The HTTP layer: handlers grouped by audience (public pages, the officers' workspace, the JSON API), thin by
//! design: they extract, call the domain and the models, and render or redirect.

pub mod address;
pub mod api;
pub mod assets;
pub mod csrf;
pub mod error;
pub mod exports;
pub mod form;
pub mod identity;
pub mod limits;
pub mod officer;
pub mod public;
pub mod published;
pub mod questions;
pub mod render;
pub mod results;
pub mod routes;
pub mod security;
mod static_files;

pub use address::client_address;

use crate::auth::password::Hasher;
use crate::auth::Viewer;
use crate::config::Settings;
use crate::db::{DbConnection, Pool};
use crate::models::{consultation, consultation::Consultation, totals, version, version::Loaded};
use crate::results::{report::Report, tally::Tallies};
use crate::submissions::Submitter;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub submitter: Submitter,
    /// Tells this instance's results streams when a consultation has new responses (see `live`).
    pub notifier: crate::live::Notifier,
    /// What one client may ask of this instance (see `limits`).
    pub limits: Arc<limits::Limits>,
    pub settings: Arc<Settings>,
    pub timezone: chrono_tz::Tz,
    /// What CSRF tokens are made with; the same in every instance (see `models::setting::secret`).
    pub secret: Vec<u8>,
    pub static_files: assets::StaticFiles,
    /// Hashes and checks passwords, a few at a time (see `auth::password`).
    pub hasher: Hasher,
    /// Where links in emails point, and the outbox worker to wake (see `email`).
    pub mail: crate::email::Mail,
    versions: RwLock<HashMap<i64, Arc<Loaded>>>,
    recent: RwLock<HashMap<String, (Instant, Consultation)>>,
}

/// How long the submission path may reuse a consultation it has read. The writer checks the consultation's
/// phase again inside the transaction that stores a response, so this only saves a read per request.
const RECENT: Duration = Duration::from_secs(1);

impl AppState {
    pub fn new(
        pool: Pool,
        submitter: Submitter,
        notifier: crate::live::Notifier,
        limits: Arc<limits::Limits>,
        settings: Arc<Settings>,
        static_files: assets::StaticFiles,
        mail: crate::email::Mail,
    ) -> anyhow::Result<AppState> {
        let secret = crate::models::setting::secret(&mut *pool.get()?)?;
        Ok(AppState {
            pool,
            submitter,
            notifier,
            limits,
            hasher: Hasher::new(settings.auth.password_queue),
            timezone: settings.timezone()?,
            settings,
            secret,
            static_files,
            mail,
            versions: RwLock::default(),
            recent: RwLock::default(),
        })
    }

    /// Runs database work on the blocking pool, off the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// A published consultation (not a draft) and its live version.
    pub async fn consultation(&self, slug: &str) -> Result<(Consultation, Arc<Loaded>), AppError> {
        let slug = slug.to_string();
        let c = self.db(move |conn| Ok(consultation::find_by_slug(conn, &slug)?)).await?.ok_or(AppError::NotFound)?;
        let version_id = c.live_version_id.ok_or(AppError::NotFound)?;
        let content = self.version(version_id).await?;
        Ok((c, content))
    }

    /// Any consultation, draft or not, that `who` works on; another organisation's is not found, as though it
    /// did not exist.
    pub async fn consultation_for(&self, who: &identity::Identity, slug: &str) -> Result<Consultation, AppError> {
        let slug = slug.to_string();
        let c = self.db(move |conn| Ok(consultation::find_by_slug(conn, &slug)?)).await?;
        c.filter(|c| who.works_for(c.organisation_id)).ok_or(AppError::NotFound)
    }

    /// As `consultation`, but reusing a read up to a second old: for the submission path, whose writer has the
    /// last word on whether the consultation is open.
    pub async fn recent_consultation(&self, slug: &str) -> Result<(Consultation, Arc<Loaded>), AppError> {
        let hit = self
            .recent
            .read()
            .expect("cache lock")
            .get(slug)
            .filter(|(at, _)| at.elapsed() < RECENT)
            .map(|(_, c)| c.clone());
        if let Some(c) = hit {
            if let Some(version_id) = c.live_version_id {
                return Ok((c, self.version(version_id).await?));
            }
        }
        let (c, content) = self.consultation(slug).await?;
        self.recent.write().expect("cache lock").insert(slug.to_string(), (Instant::now(), c.clone()));
        Ok((c, content))
    }

    /// A version's content. Published versions never change, so each is loaded from the database once per
    /// process; a draft is read afresh every time.
    pub async fn version(&self, version_id: i64) -> Result<Arc<Loaded>, AppError> {
        if let Some(loaded) = self.versions.read().expect("cache lock").get(&version_id) {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(self.db(move |conn| Ok(version::load(conn, version_id)?)).await?);
        if loaded.published {
            self.versions.write().expect("cache lock").insert(version_id, loaded.clone());
        }
        Ok(loaded)
    }

    /// The live results of a consultation, if `viewer` may see them: a read of the running totals, whose cost
    /// does not grow with the number of responses.
    pub async fn report(&self, slug: &str, viewer: Viewer) -> Result<(Consultation, Arc<Loaded>, Report), AppError> {
        let (c, live) = self.consultation(slug).await?;
        let (report, _) = self.results_of(&c, viewer, totals::Parts::default()).await?;
        Ok((c, live, report))
    }

    /// The results of a published consultation as `viewer` may read them (403 when the policy does not let
    /// them), with the tallies of the running totals they were built from, holding the `parts` asked for.
    pub async fn results_of(
        &self,
        c: &Consultation,
        viewer: Viewer,
        parts: totals::Parts,
    ) -> Result<(Report, Tallies), AppError> {
        if !c.results_visible_to(viewer) {
            return Err(AppError::Forbidden("The results of this consultation are not public yet".into()));
        }
        let id = c.id;
        let (ids, tallies) =
            self.db(move |conn| Ok((version::published_ids(conn, id)?, totals::read(conn, id, &parts)?))).await?;
        let mut contents = Vec::with_capacity(ids.len());
        for version_id in ids {
            contents.push(self.version(version_id).await?);
        }
        let published: Vec<(i64, &crate::domain::questionnaire::Questionnaire)> =
            contents.iter().map(|v| (v.id, &v.content.questionnaire)).collect();
        let report = crate::results::report::build(&c.slug, &published, &tallies).for_viewer(viewer);
        Ok((report, tallies))
    }

    /// A time as residents read it, in the council's zone: "11:59pm on 31 January 2027".
    pub fn local_time(&self, t: chrono::NaiveDateTime) -> String {
        let local = t.and_utc().with_timezone(&self.timezone);
        let time = local.format("%-I:%M%P").to_string().replace(":00", "");
        format!("{time} on {}", local.format("%-d %B %Y"))
    }
}

/// The largest request body accepted, form or JSON: a page of long answers, percent-encoded, or the longest
/// possible response, is well inside it.
pub const MAX_BODY: usize = 256 * 1024;
/// How much of an oversized body is read and discarded before answering 413, so that the client, still
/// sending, receives the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Reads a request body of at most `MAX_BODY` bytes, within the time `limits.request_seconds` allows: a client
/// trickling a body in is answered 408 rather than holding the connection.
pub async fn read_body(request: &actix_web::HttpRequest, payload: web::Payload) -> Result<web::BytesMut, AppError> {
    let seconds = request.app_data::<web::Data<AppState>>().map_or(15, |s| s.settings.limits.request_seconds);
    tokio::time::timeout(Duration::from_secs(seconds), read_body_whole(payload)).await.map_err(|_| AppError::TooSlow)?
}

async fn read_body_whole(mut payload: web::Payload) -> Result<web::BytesMut, AppError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    let mut seen = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("The request body could not be read.".into()))?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= MAX_BODY {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY {
        return Err(AppError::TooLarge);
    }
    Ok(body)
}

/// Every route of the application, each with its access rule (see `routes`).
pub fn register(r: &mut routes::Router) {
    r.get("/healthz", routes::Access::Public, web::get().to(healthz));
    api::routes(r);
    public::routes(r);
    officer::routes(r);
    results::routes(r);
    static_files::routes(r);
}

/// Whether the service and its database answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    #[serde(rename = "database unavailable")]
    DatabaseUnavailable,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    status: Health,
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "service",
    summary = "Whether the service and its database answer",
    responses(
        (status = 200, description = "The database answers", body = HealthStatus),
        (status = 503, description = "The database does not answer", body = HealthStatus),
    )
)]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = state
        .db(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1").map_err(AppError::from)
        })
        .await
        .is_ok();
    if ok {
        HttpResponse::Ok().json(HealthStatus { status: Health::Ok })
    } else {
        HttpResponse::ServiceUnavailable().json(HealthStatus { status: Health::DatabaseUnavailable })
    }
}
