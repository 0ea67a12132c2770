//! The `haveyoursay` command: parse the command line, load settings, hand over.

use anyhow::Context;
use clap::{Parser, Subcommand};
use haveyoursay::config::{Overrides, Settings};
use haveyoursay::{db, demo, startup::Application};
use std::path::PathBuf;

/// Have Your Say: a public consultation platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The folder holding default.toml and {APP_ENVIRONMENT}.toml.
    #[arg(long, global = true, default_value = "config")]
    config_dir: PathBuf,
    /// The database URL: sqlite://PATH or postgres://USER@HOST/DATABASE (overrides DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run pending migrations, then serve the hub, the API and the results.
    Serve {
        /// The address to listen on, like 127.0.0.1:8080 (overrides BIND_ADDRESS).
        #[arg(long)]
        bind: Option<String>,
        /// Load the demo consultations if they are absent.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Load the demo consultations (the fire and rescue IRMP and a closed one) if they are absent.
    Demo,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("haveyoursay: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let bind = match &cli.command {
        Command::Serve { bind, .. } => bind.clone(),
        _ => None,
    };
    let settings = Settings::load(
        &cli.config_dir,
        &Overrides { bind, database_url: cli.database_url.clone(), ..Overrides::default() },
    )?;
    haveyoursay::telemetry::init(&settings.log);
    match cli.command {
        Command::Migrate => {
            db::connect(&settings.database.url, 2)?;
            println!("migrations are up to date");
        }
        Command::Demo => {
            let pool = db::connect(&settings.database.url, 2)?;
            let loaded = demo::load(&pool, settings.timezone()?)?;
            println!("{}", demo::describe(&loaded));
        }
        Command::Serve { demo: with_demo, .. } => {
            if with_demo {
                let pool = db::connect(&settings.database.url, 2)?;
                let loaded = demo::load(&pool, settings.timezone()?)?;
                tracing::info!("{}", demo::describe(&loaded));
            }
            let runtime = actix_web::rt::System::new();
            runtime.block_on(async {
                let app = Application::build(settings)?;
                app.run_until_stopped().await.context("the server stopped with an error")
            })?;
        }
    }
    Ok(())
}
