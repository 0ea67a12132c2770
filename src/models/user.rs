//! Officer accounts: who they are, their role and organisation, their password hash, and whether they are
//! disabled. Emails are stored trimmed and lowercase (see `auth::account`).

use crate::auth::Role;
use crate::db::schema::{organisations, users};
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation_id: Option<i64>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_signed_in_at: Option<NaiveDateTime>,
}

impl User {
    /// The role; the table's CHECK keeps it one of the four, and anything else would read as the least
    /// privileged.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Cabinet)
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub organisation_id: Option<i64>,
    pub password_hash: Option<&'a str>,
}

/// Adds an account. An email already in use fails with a unique violation (`db::is_unique_violation`). The
/// caller holds the write transaction.
pub fn insert(conn: &mut DbConnection, new: &NewUser) -> QueryResult<User> {
    let now = super::now();
    diesel::insert_into(users::table)
        .values((
            users::email.eq(new.email),
            users::name.eq(new.name),
            users::role.eq(new.role.as_str()),
            users::organisation_id.eq(new.organisation_id),
            users::password_hash.eq(new.password_hash),
            users::disabled.eq(false),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email.eq(email.trim().to_lowercase())).select(User::as_select()).first(conn).optional()
}

/// Every account with its organisation's name, by name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<(User, Option<String>)>> {
    users::table
        .left_join(organisations::table)
        .order((users::name, users::id))
        .select((User::as_select(), organisations::name.nullable()))
        .load(conn)
}

/// What an admin changes of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<i64>,
}

pub fn update_details(conn: &mut DbConnection, id: i64, details: &Details) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::name.eq(&details.name),
            users::role.eq(details.role.as_str()),
            users::organisation_id.eq(details.organisation_id),
            users::updated_at.eq(super::now()),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_disabled(conn: &mut DbConnection, id: i64, disabled: bool) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

pub fn set_password(conn: &mut DbConnection, id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(super::now())))
        .execute(conn)
        .map(drop)
}

pub fn signed_in(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::last_signed_in_at.eq(at)).execute(conn).map(drop)
}
