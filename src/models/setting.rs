//! Site-wide settings kept in the database, so that every app instance reads the same: what admins change in
//! the browser, and the secret CSRF tokens are made with.

use crate::db::schema::settings;
use crate::db::DbConnection;
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A setting's value, if it has been set and reads as a `T`.
pub fn get<T: DeserializeOwned>(conn: &mut DbConnection, key: &str) -> QueryResult<Option<T>> {
    let value: Option<String> = settings::table.find(key).select(settings::value).first(conn).optional()?;
    Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
}

/// Sets a setting. The caller holds the write transaction.
pub fn set<T: Serialize>(conn: &mut DbConnection, key: &str, value: &T) -> QueryResult<()> {
    let json = serde_json::to_string(value).expect("settings serialise");
    let now = super::now();
    let updated = diesel::update(settings::table.find(key))
        .set((settings::value.eq(&json), settings::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(&json), settings::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// The shortest consultation, in weeks, that raises no warning when an officer sets its times.
pub const MINIMUM_WEEKS: &str = "minimum_consultation_weeks";
pub const DEFAULT_MINIMUM_WEEKS: i64 = 12;

/// The shortest consultation length that raises no warning, as the admin set it (12 weeks until then).
pub fn minimum_weeks(conn: &mut DbConnection) -> QueryResult<i64> {
    Ok(get::<i64>(conn, MINIMUM_WEEKS)?.unwrap_or(DEFAULT_MINIMUM_WEEKS))
}

/// The secret every instance makes CSRF tokens with: made once, at the first start, by whichever instance gets
/// there first.
pub fn secret(conn: &mut DbConnection) -> QueryResult<Vec<u8>> {
    const KEY: &str = "csrf_secret";
    if let Some(hex) = get::<String>(conn, KEY)? {
        return Ok(hex.into_bytes());
    }
    let fresh = format!("{}{}", crate::domain::reference::new_token(), crate::domain::reference::new_token());
    let made = diesel::insert_into(settings::table)
        .values((
            settings::key.eq(KEY),
            settings::value.eq(serde_json::to_string(&fresh).expect("strings serialise")),
            settings::updated_at.eq(super::now()),
        ))
        .execute(conn);
    match made {
        Ok(_) => Ok(fresh.into_bytes()),
        // Another instance made it meanwhile: use theirs.
        Err(e) if crate::db::is_unique_violation(&e) => {
            get::<String>(conn, KEY)?.map(String::into_bytes).ok_or(diesel::result::Error::NotFound)
        }
        Err(e) => Err(e),
    }
}
