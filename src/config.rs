//! Settings: layered from config/default.toml (built in), config/{APP_ENVIRONMENT}.toml, environment variables
//! and command-line flags, then validated once at start-up. Nothing reads the environment after this.

use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub site: SiteSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub email: EmailSettings,
    /// The environment layer loaded: `development`, `test`, `production`, …
    #[serde(skip)]
    pub environment: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    /// Proxies whose `X-Forwarded-For` is believed (see `web::client_address`): addresses or CIDR ranges.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub writers: usize,
    pub submission_queue: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SiteSettings {
    pub council_name: String,
    pub service_name: String,
    pub timezone: String,
    pub journey_days: i64,
    pub secure_cookies: bool,
    /// A council's own templates and static files over the built-in ones; see `theme_dir()`.
    #[serde(default)]
    pub theme_dir: Option<String>,
    /// Retired (templates and static files are built in now); read only to tell whoever still sets it.
    #[serde(default)]
    assets_dir: Option<String>,
}

/// How much one client may ask of the service (see `web::limits`).
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Responses one address may send through the API a minute (with as many again at once).
    pub submissions_per_minute: u32,
    /// Journey pages one address may open or save a minute (with as many again at once).
    pub journey_per_minute: u32,
    /// Live results streams open at once from one address, and on this instance.
    pub streams_per_address: usize,
    pub streams_per_instance: usize,
    /// Addresses and CIDR ranges the per-address limits do not apply to (RATE_LIMIT_EXEMPT overrides it).
    #[serde(deserialize_with = "networks")]
    pub exempt: Vec<ipnet::IpNet>,
    /// The longest a request's headers, and its body, may take to arrive: a slow client is cut off after it.
    pub request_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// A session unused for this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however busy.
    pub session_absolute_hours: i64,
    /// Password checks waiting for a core beyond this are refused with 503 (see `auth::password::Hasher`).
    pub password_queue: usize,
    /// An invitation's link to set a first password works for this many days.
    pub invitation_days: i64,
    /// A password reset's link works for this many minutes.
    pub reset_minutes: i64,
}

impl AuthSettings {
    pub fn idle(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.session_idle_minutes)
    }

    pub fn absolute(&self) -> chrono::Duration {
        chrono::Duration::hours(self.session_absolute_hours)
    }

    pub fn invitation(&self) -> chrono::Duration {
        chrono::Duration::days(self.invitation_days)
    }

    pub fn reset(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.reset_minutes)
    }
}

/// Reads a list of addresses or CIDR ranges; a bare address is a range of one.
fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an IP address or CIDR range")))
        })
        .collect()
}

/// Outgoing email (see `email`).
#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    /// `smtp://[user:password@]host:port` (a plain local relay), `smtp+starttls://…` or `smtps://…`; SMTP_URL
    /// overrides it. Empty: each message is written to `folder` instead (refused in production).
    pub smtp_url: String,
    pub folder: String,
    /// The From address, like `Northshire County Council <consult@northshire.gov.uk>`.
    pub from: String,
    /// The public address every link in a message is built from; BASE_URL overrides it. Empty: this
    /// instance's own address (refused in production).
    pub base_url: String,
    /// Messages sent a minute at most, by each instance.
    pub per_minute: u32,
    /// How long a worker holds a message it is sending before another may take it; longer than a send can last.
    pub lease_seconds: i64,
    /// The longest an SMTP conversation may take.
    pub smtp_timeout_seconds: u64,
    /// The first wait before trying a failed send again, doubled with each failure up to `retry_max_seconds`.
    pub retry_first_seconds: i64,
    pub retry_max_seconds: i64,
}

impl EmailSettings {
    /// The SMTP relay, when one is configured.
    pub fn smtp(&self) -> Option<&str> {
        Some(self.smtp_url.trim()).filter(|u| !u.is_empty())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

/// Overrides given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// The environment layer to load instead of `APP_ENVIRONMENT` (tests use "test").
    pub environment: Option<String>,
    pub bind: Option<String>,
    pub database_url: Option<String>,
}

const DEFAULTS: &str = include_str!("../config/default.toml");

impl Settings {
    /// Loads the layers from `config_dir` (missing files are fine: the defaults are built in).
    pub fn load(config_dir: &Path, overrides: &Overrides) -> anyhow::Result<Settings> {
        let environment = match &overrides.environment {
            Some(e) => e.clone(),
            None => std::env::var("APP_ENVIRONMENT").unwrap_or_else(|_| "development".into()),
        };
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::from(config_dir.join("default.toml")).required(false))
            .add_source(config::File::from(config_dir.join(format!("{environment}.toml"))).required(false))
            .add_source(config::Environment::with_prefix("HYS").prefix_separator("__").separator("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        if let Ok(bind) = std::env::var("BIND_ADDRESS") {
            builder = builder.set_override("server.bind", bind)?;
        }
        if let Ok(exempt) = std::env::var("RATE_LIMIT_EXEMPT") {
            let list: Vec<String> =
                exempt.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            builder = builder.set_override("limits.exempt", list)?;
        }
        for (variable, key) in [("SMTP_URL", "email.smtp_url"), ("BASE_URL", "email.base_url")] {
            if let Ok(value) = std::env::var(variable) {
                builder = builder.set_override(key, value)?;
            }
        }
        if let Some(url) = &overrides.database_url {
            builder = builder.set_override("database.url", url.clone())?;
        }
        if let Some(bind) = &overrides.bind {
            builder = builder.set_override("server.bind", bind.clone())?;
        }
        let mut settings: Settings = builder.build()?.try_deserialize().context("invalid settings")?;
        settings.environment = environment;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        crate::db::Backend::from_url(&self.database.url)?;
        if self.database.max_connections < 2 {
            bail!("database.max_connections must be at least 2");
        }
        if self.site.journey_days < 1 {
            bail!("site.journey_days must be at least 1");
        }
        self.timezone()?;
        if self.auth.session_idle_minutes < 1 || self.auth.session_absolute_hours < 1 {
            bail!("auth.session_idle_minutes and auth.session_absolute_hours must be at least 1");
        }
        if self.auth.invitation_days < 1 || self.auth.reset_minutes < 1 {
            bail!("auth.invitation_days and auth.reset_minutes must be at least 1");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be \"text\" or \"json\"");
        }
        if self.site.assets_dir.is_some() {
            // Ignoring it would silently drop a council's edited templates; say where they go now.
            bail!(
                "site.assets_dir is no longer used: templates and static files are built in; put your own in a folder \
                 with templates/ and static/ and name it in site.theme_dir"
            );
        }
        if let Some(dir) = self.theme_dir() {
            check_theme_dir(dir)?;
        }
        self.check_email()
    }

    /// Serving in production needs a relay and the public address: without them messages would pile up
    /// unsent, or carry links to wherever a request said it came from. The other commands send nothing.
    pub fn check_serving(&self) -> anyhow::Result<()> {
        if !self.is_production() {
            return Ok(());
        }
        if self.email.smtp().is_none() {
            bail!("email.smtp_url (or SMTP_URL) must name an SMTP relay in production, like smtp+starttls://user:password@mail.example.org:587");
        }
        if self.email.base_url.trim().is_empty() {
            bail!("email.base_url (or BASE_URL) must be the public address of the service in production, like https://consult.example.org");
        }
        Ok(())
    }

    fn check_email(&self) -> anyhow::Result<()> {
        let email = &self.email;
        if let Some(url) = email.smtp() {
            crate::email::transport::Relay::parse(url)?;
        }
        match email.base_url.trim() {
            "" => {}
            url if !(url.starts_with("https://") || url.starts_with("http://")) => {
                bail!("email.base_url must start with https:// or http://, not '{url}'")
            }
            _ => {}
        }
        crate::email::compose::mailbox(&email.from).context("email.from is not an email address")?;
        if email.per_minute == 0 || email.lease_seconds < 1 || email.retry_first_seconds < 1 {
            bail!("email.per_minute, email.lease_seconds and email.retry_first_seconds must be at least 1");
        }
        // A send is a handful of SMTP commands, each bounded by the timeout: the lease must outlast them, or a
        // slow relay would see a second instance send the same message.
        if email.lease_seconds < 3 * email.smtp_timeout_seconds as i64 {
            bail!("email.lease_seconds must be at least three times email.smtp_timeout_seconds");
        }
        if email.retry_max_seconds < email.retry_first_seconds {
            bail!("email.retry_max_seconds must be at least email.retry_first_seconds");
        }
        Ok(())
    }

    /// The theme folder, if one is set. An empty setting means none, so that an environment variable
    /// (`HYS__SITE__THEME_DIR=`) can turn off a theme a configuration file sets.
    pub fn theme_dir(&self) -> Option<&Path> {
        self.site.theme_dir.as_deref().filter(|d| !d.trim().is_empty()).map(Path::new)
    }

    /// Production refuses what only suits a demonstration, such as demo accounts with printed passwords.
    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    pub fn timezone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.site.timezone.parse().map_err(|_| anyhow::anyhow!("unknown time zone '{}'", self.site.timezone))
    }

    /// Writer threads for the submission path: SQLite has one writer at a time, so more would only queue.
    pub fn writers(&self) -> usize {
        let sqlite = crate::db::Backend::from_url(&self.database.url).is_ok_and(|b| b.is_sqlite());
        match self.database.writers {
            0 if sqlite => 1,
            0 => 2,
            n => n,
        }
    }
}

/// A theme folder must exist and hold `templates/` or `static/` (or both) as folders: anything else is a typo
/// or a half-copied theme, and serving the built-in look instead would hide it. Its files are read later, with
/// the templates (`web::assets`).
fn check_theme_dir(dir: &Path) -> anyhow::Result<()> {
    let named = || format!("site.theme_dir: {}", dir.display());
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{}: there is no such folder", named()),
        Err(e) => return Err(e).with_context(|| format!("{}: the folder cannot be read", named())),
    };
    if !meta.is_dir() {
        bail!("{}: this is not a folder", named());
    }
    let mut found = false;
    for sub in ["templates", "static"] {
        let path = dir.join(sub);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => found = true,
            Ok(_) => bail!("{}: {sub} is not a folder", named()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("{}: {sub} cannot be read", named())),
        }
    }
    if !found {
        bail!("{}: the folder has neither templates/ nor static/ in it", named());
    }
    Ok(())
}
