//! The audit log: who did what, when, to which object, from which address. Rows are only ever added — the
//! database refuses updates and deletes (see the migrations) — and admins read them filtered.

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Who acted: an account, or the command line (and nobody, for a failed sign-in to an unknown account).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// The account's email, or "command line".
    pub name: String,
    /// The client's address, for requests.
    pub address: Option<String>,
}

impl Actor {
    pub fn command_line() -> Actor {
        Actor { user_id: None, name: "command line".into(), address: None }
    }
}

/// One thing done, to record.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// What was done, as a stable dotted name: `sign_in`, `sign_in.failed`, `consultation.publish`, …
    pub action: &'a str,
    /// The kind of object and its id or slug: ("consultation", "irmp-2027"), ("user", "7").
    pub object_type: &'a str,
    pub object_id: String,
    /// The organisation the object belongs to (None for site-wide objects).
    pub organisation_id: Option<i64>,
    pub consultation_id: Option<i64>,
    /// Anything more worth keeping, as JSON (never a password, token or answer).
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct Record {
    pub organisation_id: i64,
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub consultation_id: Option<i64>,
    pub detail: String,
    pub address: Option<String>,
}

/// Adds a record. Call it in the same transaction as the change it records, so neither is kept without the
/// other.
pub fn record(conn: &mut DbConnection, actor: &Actor, entry: Entry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::organisation_id.eq(entry.organisation_id.unwrap_or(0)),
            audit_log::at.eq(super::now()),
            audit_log::actor_id.eq(actor.user_id),
            audit_log::actor.eq(&actor.name),
            audit_log::action.eq(entry.action),
            audit_log::object_type.eq(entry.object_type),
            audit_log::object_id.eq(&entry.object_id),
            audit_log::consultation_id.eq(entry.consultation_id),
            audit_log::detail.eq(entry.detail.to_string()),
            audit_log::address.eq(&actor.address),
        ))
        .execute(conn)
        .map(drop)
}

/// What admins filter the log by; every part optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub organisation_id: Option<i64>,
    pub consultation_id: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// The newest records matching `filter`, at most `limit`, before record id `before` (for paging).
pub fn search(conn: &mut DbConnection, filter: &Filter, before: Option<i64>, limit: i64) -> QueryResult<Vec<Record>> {
    let mut query = audit_log::table.select(Record::as_select()).into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor.trim().to_lowercase()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action));
    }
    if let Some(org) = filter.organisation_id {
        query = query.filter(audit_log::organisation_id.eq(org));
    }
    if let Some(c) = filter.consultation_id {
        query = query.filter(audit_log::consultation_id.eq(c));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::at.lt(until));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.order(audit_log::id.desc()).limit(limit).load(conn)
}

/// Every action the log holds, for the admins' filter.
pub fn actions(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    audit_log::table.select(audit_log::action).distinct().order(audit_log::action).load(conn)
}
