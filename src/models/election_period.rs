//! Pre-election periods, set by admins: consultations running during one are warned of (see
//! `domain::phase::warnings`).

use crate::db::schema::election_periods as periods;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = periods)]
pub struct ElectionPeriod {
    pub id: i64,
    pub name: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Every period, soonest first.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<ElectionPeriod>> {
    periods::table.order((periods::starts_at, periods::id)).select(ElectionPeriod::as_select()).load(conn)
}

/// Every period as `domain::phase::warnings` takes them: (name, start, end).
pub fn for_warnings(conn: &mut DbConnection) -> QueryResult<Vec<(String, NaiveDateTime, NaiveDateTime)>> {
    Ok(all(conn)?.into_iter().map(|p| (p.name, p.starts_at, p.ends_at)).collect())
}

pub fn insert(
    conn: &mut DbConnection,
    name: &str,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
) -> QueryResult<ElectionPeriod> {
    diesel::insert_into(periods::table)
        .values((
            periods::name.eq(name),
            periods::starts_at.eq(starts_at),
            periods::ends_at.eq(ends_at),
            periods::created_at.eq(super::now()),
        ))
        .returning(periods::all_columns)
        .get_result(conn)
}

/// Deletes a period, returning it if it existed.
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ElectionPeriod>> {
    let found = periods::table.find(id).select(ElectionPeriod::as_select()).first(conn).optional()?;
    if found.is_some() {
        diesel::delete(periods::table.find(id)).execute(conn)?;
    }
    Ok(found)
}
