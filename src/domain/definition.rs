//! A consultation definition: the JSON a consultation is written in (the demo's `src/demo/*.json`), exported
//! and imported by officers, the command line and the API. It is the consultation's slug, times and results
//! policy with the content of one version.

use super::questionnaire::Content;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub slug: String,
    #[serde(default, with = "utc")]
    pub opens_at: Option<NaiveDateTime>,
    #[serde(default, with = "utc")]
    pub closes_at: Option<NaiveDateTime>,
    pub results_visibility: String,
    #[serde(flatten)]
    pub content: Content,
}

/// Times in definitions are RFC 3339 (any offset on the way in, UTC on the way out); stored as UTC.
pub mod utc {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time")),
        }
    }

    pub fn format(t: NaiveDateTime) -> String {
        t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    pub fn parse(s: &str) -> Option<NaiveDateTime> {
        DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc).naive_utc())
    }
}
