//! Rows and the queries beside them: one file per group of tables. Functions here take a connection and
//! return `QueryResult`; transactions are the caller's.

pub mod account_link;
pub mod api_token;
pub mod audit;
pub mod consultation;
pub mod election_period;
pub mod journey;
pub mod organisation;
pub mod outbox;
pub mod respondent;
pub mod response;
pub mod return_link;
pub mod session;
pub mod setting;
pub mod snapshot;
pub mod subscription;
pub mod throttle;
pub mod totals;
pub mod user;
pub mod version;

/// The current time as stored: UTC without a zone, set from Rust so both backends agree to the microsecond.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The day a UTC time falls on in a time zone, as YYYY-MM-DD: responses are counted by the council's days.
pub fn day_in(at: chrono::NaiveDateTime, zone: chrono_tz::Tz) -> String {
    at.and_utc().with_timezone(&zone).format("%Y-%m-%d").to_string()
}
