//! Organisations: the bodies whose officers run consultations.

use crate::db::schema::organisations;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Organisation>> {
    organisations::table.order(organisations::name).select(Organisation::as_select()).load(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Organisation>> {
    organisations::table.find(id).select(Organisation::as_select()).first(conn).optional()
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Organisation>> {
    organisations::table
        .filter(organisations::name.eq(name.trim()))
        .select(Organisation::as_select())
        .first(conn)
        .optional()
}

/// The organisation named `name`, made if it does not exist yet. The caller holds the write transaction.
pub fn find_or_create(conn: &mut DbConnection, name: &str) -> QueryResult<Organisation> {
    if let Some(found) = find_by_name(conn, name)? {
        return Ok(found);
    }
    diesel::insert_into(organisations::table)
        .values((organisations::name.eq(name.trim()), organisations::created_at.eq(super::now())))
        .returning(organisations::all_columns)
        .get_result(conn)
}
