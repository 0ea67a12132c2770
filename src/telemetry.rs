//! Structured logs through `tracing`, as text or JSON, filtered by the configured level (or RUST_LOG).

use crate::config::LogSettings;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests spawn many apps) are ignored.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if settings.format == "json" { builder.json().try_init() } else { builder.try_init() };
}
