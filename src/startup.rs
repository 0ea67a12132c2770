//! The application: connect to the database, build the shared state, bind the listener and register routes.
//! The listener is bound before serving so tests can ask for port 0 and read the port back.

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::submissions::{Options, Submitter};
use crate::web::{self, AppState};
use actix_web::dev::Server;
use actix_web::{middleware, App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    settings: Arc<Settings>,
    limits: Arc<web::limits::Limits>,
    wake: crate::email::Wake,
}

impl Application {
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        settings.check_serving()?;
        let settings = Arc::new(settings);
        // A theme template that does not parse stops the start here, before any thread or listener is set up.
        let theme = settings.theme_dir();
        let static_files = web::assets::StaticFiles::load(theme)?;
        let script = web::security::page_script(&static_files)?;
        let templates = web::assets::templates(theme)?;
        web::render::init(templates, &settings.site.council_name, &settings.site.service_name, &script).with_context(
            || {
                // Tera names templates, not files: say which folder the names are in.
                theme.map_or("the built-in templates".into(), |dir| format!("site.theme_dir: {}", dir.display()))
            },
        )?;
        let https = settings.site.secure_cookies;
        let pool = db::connect(&settings.database.url, settings.database.max_connections)?;
        let notifier = crate::live::Notifier::default();
        let wake = crate::email::Wake::default();
        crate::live::listen(&settings.database.url, &notifier)?;
        let submitter = Submitter::start(
            pool.clone(),
            Options::new(
                settings.writers(),
                settings.database.submission_queue,
                settings.timezone()?,
                notifier.clone(),
                wake.clone(),
            ),
        );
        let limits = Arc::new(web::limits::Limits::new(&settings.limits));
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("could not listen on {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let mail = start_email(&settings, &pool, listener.local_addr()?, wake.clone())?;
        let state = actix_web::web::Data::new(AppState::new(
            pool.clone(),
            submitter,
            notifier,
            limits.clone(),
            settings.clone(),
            static_files,
            mail,
        )?);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(actix_web::middleware::from_fn(web::csrf::middleware))
                .wrap(actix_web::middleware::from_fn(web::limits::middleware))
                .wrap(actix_web::middleware::from_fn(web::identity::middleware))
                .wrap(web::security::headers(https, &script))
                .wrap(tracing_logger())
                .configure(web::routes::configure)
                .default_service(actix_web::web::to(web::public::not_found))
        })
        // A client that trickles its headers in is cut off (its body has the same time, in `web::read_body`).
        .client_request_timeout(std::time::Duration::from_secs(settings.limits.request_seconds))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .listen(listener)?;
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        // Database work waits on the blocking pools for a connection, so threads beyond the connections only
        // wait, each holding a stack and an allocator arena: each worker gets its share of the connections.
        let blocking = (settings.database.max_connections as usize).div_ceil(workers).max(2);
        server = server.workers(workers).worker_max_blocking_threads(blocking);
        tracing::info!(port, database = db::redacted(&settings.database.url), "serving");
        Ok(Application { port, server: server.run(), pool, settings, limits, wake })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Serves until stopped, sweeping expired journeys, sessions and sign-in counts meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_expired(self.pool.clone(), self.settings.auth.idle(), self.limits.clone()));
        let result = self.server.await;
        sweeper.abort();
        self.wake.stop();
        result
    }

    /// What stops this instance's outbox worker (`Wake::stop`); serving until stopped stops it too.
    pub fn email_worker(&self) -> crate::email::Wake {
        self.wake.clone()
    }
}

/// Starts this instance's outbox worker and returns what handlers send email with. Links are built from
/// `email.base_url`; left empty (development only: production refuses it) it is this instance's own address.
fn start_email(
    settings: &Settings,
    pool: &Pool,
    bound: std::net::SocketAddr,
    wake: crate::email::Wake,
) -> anyhow::Result<crate::email::Mail> {
    use crate::email::{compose, transport::Transport, worker::Worker};
    let base_url = match settings.email.base_url.trim() {
        "" => format!("http://{bound}"),
        url => url.to_string(),
    };
    let site = compose::Site {
        council_name: settings.site.council_name.clone(),
        service_name: settings.site.service_name.clone(),
        base_url: base_url.trim_end_matches('/').to_string(),
    };
    let render: compose::Renderer = Arc::new(|name, ctx| web::render::fragment(name, ctx));
    Worker::new(pool.clone(), &settings.email, site, render, wake.clone())?.start();
    tracing::info!(to = Transport::describe(&settings.email), "email goes to");
    Ok(crate::email::Mail::new(&base_url, wake))
}

/// How often answers in progress past their expiry, ended sessions and spent sign-in counts are deleted, and
/// the addresses of consultations past their retention period erased.
/// Sessions are checked on every request, so this only tidies. Safe with several instances: deleting twice is
/// harmless.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

async fn sweep_expired(pool: Pool, idle: chrono::Duration, limits: Arc<web::limits::Limits>) {
    use crate::models::{journey, now, return_link, session, throttle};
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        limits.sweep();
        erase_past_retention(pool.clone()).await;
        let pool = pool.clone();
        let swept = tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize, usize, usize)> {
            let mut conn = pool.get()?;
            let at = now();
            Ok((
                journey::delete_expired(&mut conn, at)?,
                return_link::delete_expired(&mut conn, at)?,
                session::delete_ended(&mut conn, at, idle)?,
                throttle::delete_stale(&mut conn, at)?,
            ))
        })
        .await;
        match swept {
            Ok(Ok((0, 0, 0, 0))) => {}
            Ok(Ok((journeys, links, sessions, counts))) => {
                tracing::info!(
                    journeys,
                    links,
                    sessions,
                    counts,
                    "expired journeys, return links, sessions and sign-in counts deleted"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "sweeping expired rows failed"),
            Err(e) => tracing::warn!(error = %e, "the sweeper stopped"),
        }
    }
}

/// Erases the email addresses held for consultations past their retention period (`email::retention`),
/// logging only how many.
async fn erase_past_retention(pool: Pool) {
    let erased = tokio::task::spawn_blocking(move || -> anyhow::Result<crate::email::retention::Erased> {
        let mut conn = pool.get()?;
        Ok(crate::email::retention::erase_expired(&mut conn, crate::models::now())?)
    })
    .await;
    match erased {
        Ok(Ok(e)) if e.is_empty() => {}
        Ok(Ok(e)) => tracing::info!(
            consultations = e.consultations,
            addresses = e.addresses,
            messages = e.messages,
            links = e.links,
            respondents = e.respondents,
            "addresses past their retention period erased"
        ),
        Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "erasing addresses past their retention period failed"),
        Err(e) => tracing::warn!(error = %e, "the retention sweep stopped"),
    }
}

/// Logs each request with its method, route, status and time through `tracing`. The route is the pattern
/// matched (`/consultations/{slug}/return/{token}`), never the address itself, so that the tokens links carry
/// and whatever a query string holds stay out of the logs; a path no route matched has any long run of hex
/// digits (the shape of every token) blanked.
fn tracing_logger() -> middleware::Logger {
    middleware::Logger::new("%{request}xo %s %Dms")
        .custom_response_replace("request", |response| {
            let request = response.request();
            let route = request.match_pattern().unwrap_or_else(|| blank_tokens(request.path()));
            format!("{} {route}", request.method())
        })
        .log_target("haveyoursay::http")
}

/// `path` with every run of 20 or more hex digits replaced by `…`.
fn blank_tokens(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut run = String::new();
    for c in path.chars().chain(std::iter::once('/')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 20 { "…" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_no_route_matched_lose_their_tokens() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(super::blank_tokens(&format!("/x/{token}/y")), "/x/…/y");
        assert_eq!(super::blank_tokens("/consultations/irmp-2027"), "/consultations/irmp-2027");
    }
}
