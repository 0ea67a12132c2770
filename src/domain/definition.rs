//! A consultation definition: the JSON a consultation is written in (the demo's `src/demo/*.json`), exported
//! and imported by officers, the command line and the API. It is the consultation's slug, times and results
//! policy with the content of one version.

use super::questionnaire::Content;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A consultation as officers write it: what `haveyoursay import` reads and the demo consultations are written
/// in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Definition {
    /// The consultation's address name: lowercase letters, digits and single hyphens, like irmp-2027.
    #[schema(max_length = 80)]
    pub slug: String,
    /// RFC 3339 (answered in UTC); null or absent while not yet set, as a draft may leave it.
    #[serde(default, with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub opens_at: Option<NaiveDateTime>,
    /// RFC 3339 (answered in UTC); null or absent while not yet set, as a draft may leave it.
    #[serde(default, with = "utc")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closes_at: Option<NaiveDateTime>,
    #[schema(value_type = ResultsVisibility)]
    pub results_visibility: String,
    #[serde(flatten)]
    pub content: Content,
}

// Only the API document uses this type: the value travels as a string, which `auth::Visibility` reads (a test
// in `web::api::openapi` holds the two to the same values).
/// Who may see a consultation's results before they are published.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ResultsVisibility {
    /// Officers only until the results are published.
    Officers,
    /// Officers and cabinet members while open.
    Cabinet,
    /// Everyone, live.
    Public,
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

/// The most bytes a definition file may have.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// Reads a definition from JSON, checking every field: each problem found is named by where it is
/// (`sections[1].questions[0].kind: …`), all at once, rather than stopping at the first.
pub fn parse(json: &[u8]) -> Result<Definition, Vec<String>> {
    if json.len() > MAX_BYTES {
        return Err(vec![format!("The definition is larger than {} MB", MAX_BYTES / 1024 / 1024)]);
    }
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| vec![format!("The definition is not valid JSON: {e}")])?;
    let mut problems = Vec::new();
    shape::check(&shape::DEFINITION, &value, "", &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let definition: Definition =
        serde_json::from_value(value).map_err(|e| vec![format!("The definition could not be read: {e}")])?;
    definition.check()?;
    Ok(definition)
}

impl Definition {
    /// Checks everything a definition must keep to be imported (as a draft): its slug, times and results
    /// policy, and its content as `Content::check_draft` does — a draft exported unfinished imports unfinished.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(p) = check_slug(&self.slug) {
            problems.push(format!("slug: {p}"));
        }
        if let (Some(o), Some(c)) = (self.opens_at, self.closes_at) {
            if c <= o {
                problems.push("closes_at: the closing time must be after the opening time".to_string());
            }
        }
        if !["officers", "cabinet", "public"].contains(&self.results_visibility.as_str()) {
            problems.push("results_visibility: must be one of officers, cabinet, public".to_string());
        }
        if let Err(more) = self.content.check_draft() {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The longest slug: it is part of every address of the consultation.
pub const MAX_SLUG: usize = 80;

/// Slugs are lowercase words joined by hyphens, safe in addresses: `irmp-2027`.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "‘{slug}’ is not a web address name: use 1 to {MAX_SLUG} lowercase letters, digits and single hyphens, \
             like irmp-2027"
        ))
    }
}

/// A slug made from a title: "Library opening hours 2026" becomes `library-opening-hours-2026`.
pub fn slug_from(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_SLUG - 4 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "consultation".into()
    } else {
        slug
    }
}

/// The shape a definition's JSON must have, walked before serde reads it so that every problem is named.
mod shape {
    use serde_json::Value;

    pub enum Shape {
        /// A string of at most this many characters.
        Str(usize),
        /// Authored text: a string, or `{"en": …, "cy": …}`.
        Text,
        Bool,
        Int,
        /// An RFC 3339 time, or null.
        Time,
        OneOf(&'static [&'static str]),
        List(&'static Shape, usize),
        Object(&'static [Field]),
        /// Absent or null, or the shape.
        Nullable(&'static Shape),
    }

    pub struct Field {
        pub name: &'static str,
        pub shape: Shape,
        pub required: bool,
    }

    const fn req(name: &'static str, shape: Shape) -> Field {
        Field { name, shape, required: true }
    }

    const fn opt(name: &'static str, shape: Shape) -> Field {
        Field { name, shape, required: false }
    }

    const KEY: usize = 64;
    const KINDS: &[&str] =
        &["single_choice", "multiple_choice", "scale", "short_text", "long_text", "number", "date", "ranking", "grid"];

    pub const CHOICE: Shape = Shape::Object(&[
        req("key", Shape::Str(KEY)),
        req("label", Shape::Text),
        opt("other", Shape::Bool),
        opt("exclusive", Shape::Bool),
    ]);

    pub const QUESTION: Shape = Shape::Object(&[
        req("key", Shape::Str(KEY)),
        req("kind", Shape::OneOf(KINDS)),
        req("prompt", Shape::Text),
        opt("hint", Shape::Nullable(&Shape::Text)),
        req("required", Shape::Bool),
        opt("options", Shape::List(&CHOICE, 1_000)),
        opt("rows", Shape::List(&CHOICE, 1_000)),
        opt("min_selections", Shape::Nullable(&Shape::Int)),
        opt("max_selections", Shape::Nullable(&Shape::Int)),
        opt("max_length", Shape::Nullable(&Shape::Int)),
        opt("min", Shape::Nullable(&Shape::Int)),
        opt("max", Shape::Nullable(&Shape::Int)),
        opt("purpose", Shape::OneOf(&["opinion", "profile", "equality_monitoring"])),
    ]);

    pub const SECTION: Shape = Shape::Object(&[
        req("key", Shape::Str(KEY)),
        req("title", Shape::Text),
        opt("description", Shape::Nullable(&Shape::Text)),
        req("questions", Shape::List(&QUESTION, 1_000)),
    ]);

    pub const RULE: Shape = Shape::Object(&[
        req("target", Shape::OneOf(&["section", "question"])),
        req("key", Shape::Str(KEY)),
        req("action", Shape::OneOf(&["show", "skip"])),
        req(
            "when",
            Shape::Object(&[req("question", Shape::Str(KEY)), req("any_of", Shape::List(&Shape::Str(KEY), 1_000))]),
        ),
    ]);

    pub const DEFINITION: Shape = Shape::Object(&[
        req("slug", Shape::Str(200)),
        opt("opens_at", Shape::Time),
        opt("closes_at", Shape::Time),
        req("results_visibility", Shape::OneOf(&["officers", "cabinet", "public"])),
        req("title", Shape::Text),
        req("summary", Shape::Text),
        req("body", Shape::Text),
        req("sections", Shape::List(&SECTION, 1_000)),
        opt("routing", Shape::List(&RULE, 1_000)),
    ]);

    fn at(path: &str, name: &str) -> String {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    }

    fn describe(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "true or false",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    pub fn check(shape: &Shape, v: &Value, path: &str, problems: &mut Vec<String>) {
        let here = if path.is_empty() { "The definition" } else { path };
        let mut wrong = |expected: &str| problems.push(format!("{here}: must be {expected}, not {}", describe(v)));
        match shape {
            Shape::Str(max) => match v.as_str() {
                Some(s) if s.chars().count() > *max => {
                    problems.push(format!("{here}: must be {max} characters or fewer"))
                }
                Some(_) => {}
                None => wrong("a string"),
            },
            Shape::Text => match v {
                Value::String(_) => {}
                Value::Object(map) => {
                    if !map.get("en").is_some_and(Value::is_string) {
                        problems.push(format!("{here}: needs the English text as \"en\""));
                    }
                    if map.get("cy").is_some_and(|cy| !cy.is_string() && !cy.is_null()) {
                        problems.push(format!("{here}.cy: must be a string"));
                    }
                    for k in map.keys().filter(|k| *k != "en" && *k != "cy") {
                        problems.push(format!("{here}: unknown language ‘{k}’ (use \"en\" and \"cy\")"));
                    }
                }
                _ => wrong("a string, or an object with \"en\" and \"cy\" strings"),
            },
            Shape::Bool => {
                if !v.is_boolean() {
                    wrong("true or false")
                }
            }
            Shape::Int => {
                if !v.is_i64() {
                    wrong("a whole number")
                }
            }
            Shape::Time => match v {
                Value::Null => {}
                Value::String(s) if super::utc::parse(s).is_some() => {}
                Value::String(s) => problems
                    .push(format!("{here}: ‘{s}’ is not a time: write it as RFC 3339, like 2027-01-31T23:59:00Z")),
                _ => wrong("a time as a string, like 2027-01-31T23:59:00Z"),
            },
            Shape::OneOf(allowed) => match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                Some(s) => problems.push(format!("{here}: ‘{s}’ is not one of {}", allowed.join(", "))),
                None => wrong(&format!("one of {}", allowed.join(", "))),
            },
            Shape::Nullable(inner) => {
                if !v.is_null() {
                    check(inner, v, path, problems)
                }
            }
            Shape::List(item, max) => match v.as_array() {
                Some(items) if items.len() > *max => problems.push(format!("{here}: has more than {max} items")),
                Some(items) => {
                    for (i, item_value) in items.iter().enumerate() {
                        check(item, item_value, &format!("{path}[{i}]"), problems);
                    }
                }
                None => wrong("a list"),
            },
            Shape::Object(fields) => {
                let Some(map) = v.as_object() else { return wrong("an object") };
                for field in fields.iter() {
                    match map.get(field.name) {
                        None if field.required => problems.push(format!("{}: is missing", at(path, field.name))),
                        None => {}
                        Some(value) => check(&field.shape, value, &at(path, field.name), problems),
                    }
                }
                for key in map.keys().filter(|k| !fields.iter().any(|f| f.name == k.as_str())) {
                    problems.push(format!("{}: is not a field of a definition here", at(path, key)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_definitions_parse() {
        for source in [include_str!("../demo/irmp.json"), include_str!("../demo/closed.json")] {
            let mut v: serde_json::Value = serde_json::from_str(source).unwrap();
            let map = v.as_object_mut().unwrap();
            map.remove("organisation");
            map.remove("outcome");
            let bytes = serde_json::to_vec(&v).unwrap();
            let d = parse(&bytes).unwrap_or_else(|p| panic!("{p:?}"));
            // Export then import gives the same definition.
            assert_eq!(parse(&serde_json::to_vec(&d).unwrap()).unwrap(), d);
        }
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let json = serde_json::json!({
            "slug": "Bad Slug",
            "opens_at": "next tuesday",
            "results_visibility": "everyone",
            "title": "",
            "summary": {"cy": "Crynodeb"},
            "body": "x",
            "colour": "red",
            "sections": [{"key": "s", "title": "S", "questions": [
                {"key": "q", "kind": "slider", "prompt": "P", "required": "yes"},
                {"key": "r", "kind": "scale", "prompt": "R", "required": true, "options": [{"key": "a"}]}
            ]}]
        });
        let problems = parse(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        for expected in [
            "opens_at: ‘next tuesday’ is not a time",
            "results_visibility: ‘everyone’ is not one of",
            "summary: needs the English text",
            "colour: is not a field",
            "sections[0].questions[0].kind: ‘slider’ is not one of",
            "sections[0].questions[0].required: must be true or false",
            "sections[0].questions[1].options[0].label: is missing",
        ] {
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected} in {problems:#?}");
        }
        // Once the shape is right, the rules of a questionnaire are checked, each named too.
        let json = serde_json::json!({
            "slug": "Bad Slug", "results_visibility": "public", "title": "", "summary": "S", "body": "",
            "sections": [{"key": "s", "title": "S", "questions": [
                {"key": "r", "kind": "scale", "prompt": "R", "required": true, "options": [{"key": "a", "label": "A"}]}
            ]}],
            "routing": [{"target": "question", "key": "gone", "action": "show", "when": {"question": "r", "any_of": ["a"]}}]
        });
        let problems = parse(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        for expected in ["slug: ‘Bad Slug’", "needs a title", "needs at least two options", "question ‘gone’ (deleted)"]
        {
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected} in {problems:#?}");
        }
    }

    #[test]
    fn slugs_are_made_and_checked() {
        assert_eq!(slug_from("Library opening hours: 2026!"), "library-opening-hours-2026");
        assert!(check_slug("irmp-2027").is_ok());
        assert!(check_slug("-x").is_err() && check_slug("a--b").is_err() && check_slug("A").is_err());
    }
}
