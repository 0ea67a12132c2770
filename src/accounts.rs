//! Changes to accounts — adding one, inviting one by email, editing, disabling and enabling, setting a password
//! (by an admin, by its holder, or through a link sent by email: an invitation or a reset), API tokens — each
//! with its rules, its audit record and the sessions and tokens it ends, in one place for the admin pages, the
//! account page and the command line. Each change is one write transaction that holds its audit record;
//! passwords are hashed before it begins (hashing is slow and never runs inside a transaction).
//!
//! What ends access, on the next request: disabling an account ends its sessions and revokes its tokens;
//! changing its role or organisation, or its password, ends its sessions (tokens stay: they are revoked one by
//! one, or all at once by disabling).

use crate::auth::throttle::Scope;
use crate::auth::{account, password, secret, Role};
use crate::db::{self, DbConnection};
use crate::email::Kind;
use crate::models::account_link::{self, Purpose};
use crate::models::audit::{self, Actor, Entry};
use crate::models::{api_token, now, organisation, outbox, session, throttle, user, user::User};
use chrono::NaiveDateTime;
use diesel::result::QueryResult;
use diesel::Connection;
use serde_json::json;

/// What is wrong with a form or a command's input: (field, message) pairs, in the order of the fields.
pub type Problems = Vec<(&'static str, String)>;

/// Where a new account belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Belongs {
    Nowhere,
    /// An organisation that exists (the admin pages choose from a list).
    Organisation(i64),
    /// An organisation by name, made if absent (the command line).
    Named(String),
}

/// A new account's details, checked.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub belongs: Belongs,
}

/// Checks a new account's details and its first password (`confirm`, when the form asks for it twice).
pub fn check_new(
    email: &str,
    name: &str,
    role: &str,
    belongs: Belongs,
    new_password: &str,
    confirm: Option<&str>,
) -> Result<NewAccount, Problems> {
    let checked = check_invited(email, name, role, belongs);
    let mut problems = checked.as_ref().err().cloned().unwrap_or_default();
    // The password may not hold the email or name: those that pass their own checks.
    let (email, name) = (account::email(email).unwrap_or_default(), account::name(name).unwrap_or_default());
    check_password(new_password, confirm, &email, &name, &mut problems);
    match checked {
        Ok(new) if problems.is_empty() => Ok(new),
        _ => Err(problems),
    }
}

/// Checks an invited account's details: those of `check_new` but the password, which they choose themselves.
pub fn check_invited(email: &str, name: &str, role: &str, belongs: Belongs) -> Result<NewAccount, Problems> {
    let mut problems = Problems::new();
    let email = account::email(email).map_err(|m| problems.push(("email", m.into()))).ok();
    let name = account::name(name).map_err(|m| problems.push(("name", m.into()))).ok();
    let role = Role::parse(role.trim());
    match role {
        None => problems.push(("role", "Select a role".into())),
        Some(r) if account::needs_organisation(r) && belongs == Belongs::Nowhere => {
            problems.push(("organisation", account::ORGANISATION_NEEDED.into()))
        }
        _ => {}
    }
    match (email, name, role) {
        (Some(email), Some(name), Some(role)) if problems.is_empty() => Ok(NewAccount { email, name, role, belongs }),
        _ => Err(problems),
    }
}

/// Checks a new password against the policy and its confirmation.
pub fn check_password(new_password: &str, confirm: Option<&str>, email: &str, name: &str, problems: &mut Problems) {
    if let Err(weakness) = password::check(new_password, email, name) {
        problems.push(("password", weakness.message()));
    } else if confirm.is_some_and(|c| c != new_password) {
        problems.push(("confirm", "Passwords must match".into()));
    }
}

/// Why an account could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotMade {
    #[error("an account with the email address {0} already exists")]
    EmailTaken(String),
    #[error("there is no such organisation")]
    NoOrganisation,
}

/// Makes the account with its (already hashed) password.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    new: &NewAccount,
    password_hash: &str,
) -> QueryResult<Result<User, NotMade>> {
    db::write(conn, |conn| insert(conn, actor, new, Some(password_hash), "user.create"))
}

/// Adds the account (with no password, for an invitation) and its audit record `action`, inside the caller's
/// transaction.
fn insert(
    conn: &mut DbConnection,
    actor: &Actor,
    new: &NewAccount,
    password_hash: Option<&str>,
    action: &str,
) -> QueryResult<Result<User, NotMade>> {
    let organisation = match &new.belongs {
        Belongs::Nowhere => None,
        Belongs::Organisation(id) => match organisation::find(conn, *id)? {
            Some(o) => Some(o),
            None => return Ok(Err(NotMade::NoOrganisation)),
        },
        Belongs::Named(name) => Some(organisation::find_or_create(conn, name)?),
    };
    let organisation_id = organisation.as_ref().map(|o| o.id);
    // In a savepoint, so that on PostgreSQL a taken email leaves the transaction usable.
    let made = conn.transaction(|conn| {
        user::insert(
            conn,
            &user::NewUser { email: &new.email, name: &new.name, role: new.role, organisation_id, password_hash },
        )
    });
    let made = match made {
        Err(e) if db::is_unique_violation(&e) => return Ok(Err(NotMade::EmailTaken(new.email.clone()))),
        other => other?,
    };
    let detail = json!({
        "email": made.email,
        "name": made.name,
        "role": made.role,
        "organisation": organisation.map(|o| o.name),
    });
    audit::record(conn, actor, user_entry(action, &made, detail))?;
    Ok(Ok(made))
}

/// A link about to be sent by email to set a password: its token (only the digest is stored), the full
/// address the message shows (built from the configured public address), and until when it works, as stored
/// and as the message words it.
#[derive(Debug, Clone)]
pub struct Link {
    pub token: String,
    pub url: String,
    pub expires_at: NaiveDateTime,
    pub expires: String,
}

/// Stores `link` for `user` (ending the account's other links of that purpose) and enqueues its message, inside
/// the caller's transaction. `payload` is the message's own fields; the link and its expiry are added.
fn send_link(
    conn: &mut DbConnection,
    user: &User,
    purpose: Purpose,
    link: &Link,
    mut payload: serde_json::Value,
) -> QueryResult<()> {
    let at = now();
    let token_hash = secret::digest(&link.token);
    account_link::use_all(conn, user.id, purpose, at)?;
    account_link::create(conn, &token_hash, user.id, purpose, at, link.expires_at)?;
    payload["link"] = json!(link.url);
    payload["expires"] = json!(link.expires);
    let kind = match purpose {
        Purpose::Invitation => Kind::Invitation,
        Purpose::Reset => Kind::PasswordReset,
    };
    let message = outbox::NewMessage {
        consultation_id: None,
        kind: kind.name(),
        dedup_key: &format!("{}:{token_hash}", kind.name()),
        recipient: &user.email,
        payload,
    };
    outbox::enqueue(conn, &message, at).map(drop)
}

/// Invites an officer: makes the account with no password (so nobody can sign in to it yet) and sends a link
/// to set one, with the audit record, in one transaction. Inviting the address of an account that has not set
/// its password yet sends a fresh link instead (see `invite_again`).
pub fn invite(
    conn: &mut DbConnection,
    actor: &Actor,
    new: &NewAccount,
    link: &Link,
) -> QueryResult<Result<User, NotMade>> {
    db::write(conn, |conn| {
        let invited = match insert(conn, actor, new, None, "user.invite")? {
            Ok(made) => made,
            Err(NotMade::EmailTaken(email)) => match user::find_by_email(conn, &email)? {
                Some(waiting) if awaits_password(&waiting) => {
                    audit::record(conn, actor, user_entry("user.invite_again", &waiting, json!({})))?;
                    waiting
                }
                _ => return Ok(Err(NotMade::EmailTaken(email))),
            },
            Err(other) => return Ok(Err(other)),
        };
        send_invitation(conn, actor, &invited, link)?;
        Ok(Ok(invited))
    })
}

/// Sends a fresh invitation to the account `id`, whose older links stop working; false unless it is an
/// enabled account that has not set its password yet.
pub fn invite_again(conn: &mut DbConnection, actor: &Actor, id: i64, link: &Link) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let Some(waiting) = user::find(conn, id)?.filter(awaits_password) else { return Ok(false) };
        audit::record(conn, actor, user_entry("user.invite_again", &waiting, json!({})))?;
        send_invitation(conn, actor, &waiting, link)?;
        Ok(true)
    })
}

/// An invited account that has not chosen its password: the only kind an invitation may be sent to.
fn awaits_password(u: &User) -> bool {
    u.password_hash.is_none() && !u.disabled
}

fn send_invitation(conn: &mut DbConnection, actor: &Actor, invited: &User, link: &Link) -> QueryResult<()> {
    let organisation = match invited.organisation_id {
        Some(id) => organisation::find(conn, id)?.map(|o| o.name),
        None => None,
    };
    let payload = json!({
        "name": invited.name,
        "role": invited.role().label(),
        "organisation": organisation,
        "inviter": actor.name,
    });
    send_link(conn, invited, Purpose::Invitation, link, payload)
}

/// Why a link to set a password does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// No such link (or one for the other purpose).
    Unknown,
    /// It has worked once already, or a newer link replaced it.
    Used,
    /// Its time is over, or its account has been disabled since.
    Expired,
}

/// The account a link sets the password of, if the link still works.
pub fn link_account(
    conn: &mut DbConnection,
    purpose: Purpose,
    token: &str,
    at: NaiveDateTime,
) -> QueryResult<Result<User, LinkRefused>> {
    if !secret::looks_like_link_token(token) {
        return Ok(Err(LinkRefused::Unknown));
    }
    let Some(link) = account_link::find(conn, &secret::digest(token), purpose)? else {
        return Ok(Err(LinkRefused::Unknown));
    };
    if link.used_at.is_some() {
        return Ok(Err(LinkRefused::Used));
    }
    match user::find(conn, link.user_id)? {
        Some(found) if link.expires_at > at && !found.disabled => Ok(Ok(found)),
        _ => Ok(Err(LinkRefused::Expired)),
    }
}

/// Sets the password (already hashed) of the account a link is for, if the link still works, in one
/// transaction: the link and every other of its purpose stop working, all the account's sessions end, and the
/// audit record says which link it was (`user.invitation_accept` or `user.password_reset`).
pub fn set_password_by_link(
    conn: &mut DbConnection,
    purpose: Purpose,
    token: &str,
    hash: &str,
    address: Option<String>,
) -> QueryResult<Result<User, LinkRefused>> {
    db::write(conn, |conn| {
        let at = now();
        let found = match link_account(conn, purpose, token, at)? {
            Ok(found) => found,
            refused => return Ok(refused),
        };
        user::set_password(conn, found.id, hash)?;
        account_link::use_all(conn, found.id, purpose, at)?;
        let ended = session::delete_for_user(conn, found.id)?;
        let action = match purpose {
            Purpose::Invitation => "user.invitation_accept",
            Purpose::Reset => "user.password_reset",
        };
        audit::record(
            conn,
            &self::actor(&found, address),
            user_entry(action, &found, json!({"sessions_ended": ended})),
        )?;
        Ok(Ok(found))
    })
}

/// Someone asked for a password reset for `email` from the client address `client`: in one transaction whether or not the account
/// exists, so that the answer (and its time) says nothing about it. The request is counted against `keys`
/// (the throttle), then a known, enabled account is sent `link`; either way the request is audited, naming the
/// account only when there is one. Returns how long the keys are blocked for, when they are: then nothing is
/// counted or sent.
pub fn request_reset(
    conn: &mut DbConnection,
    keys: &[(Scope, String)],
    email: &str,
    client: String,
    link: &Link,
) -> QueryResult<Result<(), chrono::Duration>> {
    db::write(conn, |conn| {
        let at = now();
        let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
        if let Some(wait) = throttle::blocked_for(conn, &names, at)? {
            return Ok(Err(wait));
        }
        for (scope, key) in keys {
            throttle::fail(conn, *scope, key, at)?;
        }
        let action = "user.password_reset_request";
        match user::find_by_email(conn, email)?.filter(|u| !u.disabled) {
            Some(found) => {
                send_link(conn, &found, Purpose::Reset, link, json!({}))?;
                audit::record(conn, &self::actor(&found, Some(client)), user_entry(action, &found, json!({})))?;
            }
            None => {
                // No enabled account: recorded without the address typed, which may be anyone's (or a password).
                let nobody = Actor { user_id: None, name: "unknown account".into(), address: Some(client) };
                let entry = Entry {
                    action,
                    object_type: "user",
                    object_id: String::new(),
                    organisation_id: None,
                    consultation_id: None,
                    detail: json!({"enabled_account": false}),
                };
                audit::record(conn, &nobody, entry)?;
            }
        }
        Ok(Ok(()))
    })
}

/// Checks an admin's changes to an account's name, role and organisation (`None`: no organisation).
pub fn check_details(name: &str, role: &str, organisation_id: Option<i64>) -> Result<user::Details, Problems> {
    let mut problems = Problems::new();
    let name = account::name(name).map_err(|m| problems.push(("name", m.into()))).ok();
    let role = Role::parse(role.trim());
    match role {
        None => problems.push(("role", "Select a role".into())),
        Some(r) if account::needs_organisation(r) && organisation_id.is_none() => {
            problems.push(("organisation", account::ORGANISATION_NEEDED.into()))
        }
        _ => {}
    }
    match (name, role) {
        (Some(name), Some(role)) if problems.is_empty() => Ok(user::Details { name, role, organisation_id }),
        _ => Err(problems),
    }
}

fn user_entry<'a>(action: &'a str, user: &User, detail: serde_json::Value) -> Entry<'a> {
    Entry {
        action,
        object_type: "user",
        object_id: user.id.to_string(),
        organisation_id: user.organisation_id,
        consultation_id: None,
        detail,
    }
}

/// Changes an account's details; a new role or organisation ends its sessions. False when there is no such
/// account.
pub fn update(conn: &mut DbConnection, actor: &Actor, id: i64, details: &user::Details) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let Some(before) = user::find(conn, id)? else { return Ok(false) };
        user::update_details(conn, id, details)?;
        let access_changed = before.role() != details.role || before.organisation_id != details.organisation_id;
        let ended = if access_changed { session::delete_for_user(conn, id)? } else { 0 };
        let after = User { name: details.name.clone(), organisation_id: details.organisation_id, ..before.clone() };
        audit::record(
            conn,
            actor,
            user_entry(
                "user.update",
                &after,
                json!({
                    "before": {"name": before.name, "role": before.role, "organisation_id": before.organisation_id},
                    "after": {"name": details.name, "role": details.role.as_str(), "organisation_id": details.organisation_id},
                    "sessions_ended": ended,
                }),
            ),
        )?;
        Ok(true)
    })
}

/// Disables an account (ending its sessions and revoking its tokens) or enables it again. False when there is
/// no such account.
pub fn set_disabled(conn: &mut DbConnection, actor: &Actor, id: i64, disabled: bool) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let Some(found) = user::find(conn, id)? else { return Ok(false) };
        user::set_disabled(conn, id, disabled)?;
        let detail = if disabled {
            let sessions = session::delete_for_user(conn, id)?;
            let tokens = api_token::revoke_all_for_user(conn, id, now())?;
            json!({"sessions_ended": sessions, "tokens_revoked": tokens})
        } else {
            json!({})
        };
        let action = if disabled { "user.disable" } else { "user.enable" };
        audit::record(conn, actor, user_entry(action, &found, detail))?;
        Ok(true)
    })
}

/// Sets an account's password (already hashed) and ends all its sessions. `own`: the account holder changed
/// it (recorded as such). False when there is no such account.
pub fn set_password(conn: &mut DbConnection, actor: &Actor, id: i64, hash: &str, own: bool) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let Some(found) = user::find(conn, id)? else { return Ok(false) };
        user::set_password(conn, id, hash)?;
        let ended = session::delete_for_user(conn, id)?;
        let action = if own { "user.password_change" } else { "user.password_set" };
        audit::record(conn, actor, user_entry(action, &found, json!({"sessions_ended": ended})))?;
        Ok(true)
    })
}

/// Checks a token's label.
pub fn check_label(label: &str) -> Result<String, &'static str> {
    let label = label.trim();
    if label.is_empty() {
        Err("Enter a label, so you can tell this token apart later")
    } else if label.chars().count() > api_token::MAX_LABEL {
        Err("Label must be 100 characters or fewer")
    } else if label.chars().any(char::is_control) {
        Err("Label must not contain control characters")
    } else {
        Ok(label.to_string())
    }
}

/// Makes a new API token for `owner`; returns the token itself, which is shown once and never stored.
pub fn create_token(conn: &mut DbConnection, actor: &Actor, owner: &User, label: &str) -> QueryResult<String> {
    let token = crate::auth::secret::new_api_token();
    db::write(conn, |conn| {
        let made = api_token::create(conn, owner.id, label, &token)?;
        audit::record(
            conn,
            actor,
            Entry {
                action: "api_token.create",
                object_type: "api_token",
                object_id: made.id.to_string(),
                organisation_id: owner.organisation_id,
                consultation_id: None,
                detail: json!({"label": made.label, "prefix": made.prefix, "user_id": owner.id}),
            },
        )
    })?;
    Ok(token)
}

/// Revokes one of `owner`'s working tokens. False when `owner` has no such working token.
pub fn revoke_token(conn: &mut DbConnection, actor: &Actor, owner: &User, token_id: i64) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let Some(found) = api_token::find_active_for_user(conn, owner.id, token_id)? else { return Ok(false) };
        api_token::revoke(conn, found.id, now())?;
        audit::record(
            conn,
            actor,
            Entry {
                action: "api_token.revoke",
                object_type: "api_token",
                object_id: found.id.to_string(),
                organisation_id: owner.organisation_id,
                consultation_id: None,
                detail: json!({"label": found.label, "prefix": found.prefix, "user_id": owner.id}),
            },
        )?;
        Ok(true)
    })
}

/// The actor for an account acting from `address`.
pub fn actor(user: &User, address: Option<String>) -> Actor {
    Actor { user_id: Some(user.id), name: user.email.clone(), address }
}
