//! The `haveyoursay` command: parse the command line, load settings, hand over.

use anyhow::Context;
use clap::{Parser, Subcommand};
use haveyoursay::config::{Overrides, Settings};
use haveyoursay::{cli, db, demo, startup::Application};
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
        /// Load the demo consultations if they are absent, and give the demo accounts new passwords (printed;
        /// not in production).
        #[arg(long)]
        demo: bool,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Load the demo consultations (the fire and rescue IRMP and a closed one) if they are absent, and give
    /// the demo accounts new passwords (not in production).
    Demo,
    /// Officer accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for officer accounts.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Create a draft consultation from a definition file (the JSON a consultation is exported as); prints its
    /// slug.
    Import {
        /// The definition file.
        file: PathBuf,
        /// The organisation running it (by name); needed when there is more than one.
        #[arg(long)]
        organisation: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account. The password is asked for twice on the terminal, or read as one line from standard input
    /// with --password-stdin. Prints nothing but errors.
    Add {
        /// The email address the account signs in with.
        #[arg(long)]
        email: String,
        /// The person's full name.
        #[arg(long)]
        name: String,
        /// What the account may do.
        #[arg(long, value_parser = ["admin", "officer", "analyst", "cabinet"])]
        role: String,
        /// The organisation's name, made if it does not exist; required for every role but admin.
        #[arg(long)]
        organisation: Option<String>,
        /// Read the password as one line from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make an API token for an account and print it: the only time it is shown.
    Add {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// What the token is for, as shown on the account page.
        #[arg(long)]
        label: Option<String>,
    },
}

fn main() {
    limit_allocator_arenas();
    if let Err(e) = run() {
        eprintln!("haveyoursay: {e:#}");
        std::process::exit(1);
    }
}

/// glibc gives threads that allocate at once arenas of their own (up to eight per core) and keeps what is freed
/// in them, so under load the server's memory grew to 64–87 MB. Three arenas hold it near 60 MB (58–61 MB
/// under the submission load; two gave 61 MB in the same session, four 64 MB) at no measured cost in speed,
/// and are enough that an export's two reading threads rarely share one (with two they often did, and queued
/// on its lock: the export took up to twice as long). See BENCHMARKS.md. Called before any thread starts.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet to race with it.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 3);
    }
}

/// Makes the demo accounts with fresh passwords and says how to sign in; in production, says that it made none.
fn demo_accounts(pool: &db::Pool, settings: &Settings) -> anyhow::Result<String> {
    if settings.is_production() {
        return Ok("demo accounts are not made in production: add accounts with `haveyoursay user add`".into());
    }
    let made = cli::demo_accounts(pool)?;
    let url = format!("http://{}/officer/sign-in", settings.server.bind);
    Ok(cli::describe_demo_accounts(&made, &url))
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
    // The account and import commands print nothing but errors (and their one result), so only warnings are
    // logged meanwhile.
    let mut log = settings.log.clone();
    if matches!(cli.command, Command::User { .. } | Command::Token { .. } | Command::Import { .. }) {
        log.level = "warn".into();
    }
    haveyoursay::telemetry::init(&log);
    match cli.command {
        Command::Migrate => {
            db::connect(&settings.database.url, 2)?;
            println!("migrations are up to date");
        }
        Command::Demo => {
            let pool = db::connect(&settings.database.url, 2)?;
            let loaded = demo::load(&pool, settings.timezone()?)?;
            println!("{}", demo::describe(&loaded));
            println!("{}", demo_accounts(&pool, &settings)?);
        }
        Command::User { command: UserCommand::Add { email, name, role, organisation, password_stdin } } => {
            let pool = db::connect(&settings.database.url, 2)?;
            let password = if password_stdin { cli::PasswordFrom::Stdin } else { cli::PasswordFrom::Terminal };
            cli::user_add(&pool, &cli::UserAdd { email, name, role, organisation, password })?;
        }
        Command::Import { file, organisation } => {
            let pool = db::connect(&settings.database.url, 2)?;
            println!("{}", cli::import(&pool, &file, organisation.as_deref())?);
        }
        Command::Token { command: TokenCommand::Add { email, label } } => {
            let pool = db::connect(&settings.database.url, 2)?;
            println!("{}", cli::token_add(&pool, &email, label.as_deref())?);
        }
        Command::Serve { demo: with_demo, .. } => {
            if with_demo {
                let pool = db::connect(&settings.database.url, 2)?;
                let loaded = demo::load(&pool, settings.timezone()?)?;
                tracing::info!("{}", demo::describe(&loaded));
                println!("{}", demo_accounts(&pool, &settings)?);
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
