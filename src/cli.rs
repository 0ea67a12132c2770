//! The commands behind `main`'s argument parsing: the account commands, `haveyoursay user add` and
//! `haveyoursay token add`, `haveyoursay import` and the demo's accounts. They print nothing but errors (and the
//! token, the imported slug, or the demo's passwords, the one time they are shown); every change is audited as
//! the command line.

use crate::accounts::{self, Belongs};
use crate::auth::{account, password};
use crate::db::Pool;
use crate::models::audit::Actor;
use crate::models::user;
use anyhow::{bail, Context};
use std::io::BufRead;

/// How `user add` gets the new account's password.
pub enum PasswordFrom {
    /// Asked for twice on the terminal, without echo.
    Terminal,
    /// One line of standard input (scripts).
    Stdin,
}

pub struct UserAdd {
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub password: PasswordFrom,
}

/// Makes an account; fails with a message saying why when it cannot (nothing is made then).
pub fn user_add(pool: &Pool, args: &UserAdd) -> anyhow::Result<()> {
    let belongs = match &args.organisation {
        Some(name) => Belongs::Named(account::organisation_name(name).map_err(|m| anyhow::anyhow!("{m}"))?),
        None => Belongs::Nowhere,
    };
    if let Some(role) = crate::auth::Role::parse(&args.role) {
        if account::needs_organisation(role) && belongs == Belongs::Nowhere {
            bail!(
                "--organisation is required for the {} role: every role but admin belongs to an organisation",
                role.as_str()
            );
        }
    }
    let new_password = read_password(&args.password)?;
    let new =
        accounts::check_new(&args.email, &args.name, &args.role, belongs, &new_password, None).map_err(|problems| {
            let messages: Vec<String> =
                problems.into_iter().map(|(field, message)| format!("{field}: {message}")).collect();
            anyhow::anyhow!("{}", messages.join("; "))
        })?;
    let hash = password::hash_now(&new_password);
    let mut conn = pool.get()?;
    accounts::create(&mut conn, &Actor::command_line(), &new, &hash)?.map_err(anyhow::Error::from)?;
    Ok(())
}

fn read_password(from: &PasswordFrom) -> anyhow::Result<String> {
    match from {
        PasswordFrom::Stdin => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
            Ok(line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_string())
        }
        PasswordFrom::Terminal => {
            let first = rpassword::prompt_password("Password: ")
                .context("could not read the password from the terminal (use --password-stdin in scripts)")?;
            let again = rpassword::prompt_password("Password again: ").context("could not read the password again")?;
            if first != again {
                bail!("the passwords do not match");
            }
            Ok(first)
        }
    }
}

/// Makes an API token for the account with this email; returns it.
pub fn token_add(pool: &Pool, email: &str, label: Option<&str>) -> anyhow::Result<String> {
    let label =
        accounts::check_label(label.unwrap_or("Made on the command line")).map_err(|m| anyhow::anyhow!("{m}"))?;
    let mut conn = pool.get()?;
    let Some(owner) = user::find_by_email(&mut conn, email)? else {
        bail!("there is no account with the email address {}", email.trim().to_lowercase());
    };
    if owner.disabled {
        bail!("the account {} is disabled: enable it first", owner.email);
    }
    Ok(accounts::create_token(&mut conn, &Actor::command_line(), &owner, &label)?)
}

/// Imports a definition file as a draft consultation of the organisation named (which may be left out when
/// there is only one); returns its slug. Every problem with the file is named.
pub fn import(pool: &Pool, file: &std::path::Path, organisation: Option<&str>) -> anyhow::Result<String> {
    let json = std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
    let mut conn = pool.get()?;
    let organisation_id = match organisation {
        Some(name) => {
            crate::models::organisation::find_by_name(&mut conn, name)?
                .with_context(|| format!("there is no organisation called ‘{name}’"))?
                .id
        }
        None => match crate::models::organisation::all(&mut conn)?.as_slice() {
            [only] => only.id,
            [] => bail!("there is no organisation yet: add one with `haveyoursay user add --organisation`"),
            _ => bail!("there are several organisations: say which with --organisation"),
        },
    };
    match crate::workspace::import(&mut conn, &Actor::command_line(), organisation_id, &json) {
        Ok(c) => Ok(c.slug),
        Err(crate::workspace::Error::Invalid(problems)) => {
            bail!("{} was not imported:\n  {}", file.display(), problems.join("\n  "))
        }
        Err(e) => Err(e.into()),
    }
}

/// The demo's accounts: an officer of the demo consultation's organisation and a cabinet member.
const DEMO_ACCOUNTS: [(&str, &str, crate::auth::Role); 2] = [
    ("officer@northshire-fire.example", "Demo Officer", crate::auth::Role::Officer),
    ("cabinet@northshire-fire.example", "Demo Cabinet Member", crate::auth::Role::Cabinet),
];
const DEMO_ORGANISATION: &str = "Northshire Fire and Rescue Service";

/// Makes the demo accounts when absent and gives each a fresh random password (ending their sessions);
/// returns (email, role, password) for printing. Never call it in production.
pub fn demo_accounts(pool: &Pool) -> anyhow::Result<Vec<(String, &'static str, String)>> {
    let mut conn = pool.get()?;
    let actor = Actor { user_id: None, name: "demo".into(), address: None };
    let mut made = Vec::new();
    for (email, name, role) in DEMO_ACCOUNTS {
        let fresh = random_password();
        let hash = password::hash_now(&fresh);
        match user::find_by_email(&mut conn, email)? {
            Some(found) => {
                accounts::set_password(&mut conn, &actor, found.id, &hash, false)?;
            }
            None => {
                let new = accounts::NewAccount {
                    email: email.into(),
                    name: name.into(),
                    role,
                    belongs: Belongs::Named(DEMO_ORGANISATION.into()),
                };
                accounts::create(&mut conn, &actor, &new, &hash)?.map_err(anyhow::Error::from)?;
            }
        }
        made.push((email.to_string(), role.label(), fresh));
    }
    Ok(made)
}

/// Four groups of four letters and digits that cannot be mistaken for one another: about 78 bits.
fn random_password() -> String {
    let reference = || crate::domain::reference::new_reference().replace("HYS-", "").replace('-', "");
    let a = reference();
    let b = reference();
    format!("{}-{}-{}-{}", &a[..4], &a[4..], &b[..4], &b[4..]).to_lowercase()
}

/// What `serve --demo` and `demo` print about the demo accounts.
pub fn describe_demo_accounts(accounts: &[(String, &'static str, String)], sign_in_url: &str) -> String {
    let mut text = String::from("demo accounts (a new password at every start):\n");
    for (email, role, password) in accounts {
        text.push_str(&format!("  {email}  password {password}  ({role})\n"));
    }
    text.push_str(&format!("sign in at {sign_in_url}"));
    text
}
