//! The OpenAPI document against the server, as DESIGN.md's "Interfaces that other tools rely on" requires: every
//! documented operation is exercised, the public ones and the officers' (with tokens of each role); every status
//! the server answers with must be documented for that operation; the Content-Type must be the documented media
//! type, the documented headers must be sent, and the body must validate against the documented schema for that
//! status. Request bodies the server accepts must validate against the documented request schema too. The
//! document is the one the running server serves, which utoipa makes from the handlers and their types.
//!
//! A small JSON Schema checker below covers the keywords the document uses and refuses any it does not know, so
//! a new keyword cannot quietly go unchecked. Beyond JSON Schema, a body may not carry a property its schema
//! does not declare (where the schema lists its properties and says nothing of others), so a field added to the
//! server but not to the document is caught too.
//!
//! Documented answers that this suite cannot produce are listed in `NOT_PRODUCED` with the reason; they are the
//! only documented statuses left out of the coverage check.

use crate::helpers::{spawn_app, spawn_app_with, TestApp, CLOSED, IRMP, NORTHSHIRE_FIRE};
use haveyoursay::domain::answers::canonical_json;
use haveyoursay::domain::questionnaire::Questionnaire;
use rand::SeedableRng;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// Every operation `every_documented_operation_answers_as_documented` exercises, as (path template, method).
/// `the_document_lists_exactly_the_exercised_operations_and_every_api_route` holds this to the document.
const EXERCISED: &[(&str, &str)] = &[
    ("/healthz", "get"),
    ("/api/openapi.json", "get"),
    ("/api/v1/consultations", "get"),
    ("/api/v1/consultations", "post"),
    ("/api/v1/consultations/{slug}", "get"),
    ("/api/v1/consultations/{slug}", "patch"),
    ("/api/v1/consultations/{slug}/definition", "get"),
    ("/api/v1/consultations/{slug}/definition", "put"),
    ("/api/v1/consultations/{slug}/publish", "post"),
    ("/api/v1/consultations/{slug}/responses", "post"),
    ("/api/v1/consultations/{slug}/responses", "get"),
    ("/api/v1/consultations/{slug}/results", "get"),
    ("/api/v1/consultations/{slug}/results/stream", "get"),
    ("/api/v1/consultations/{slug}/results/publish", "post"),
    ("/api/v1/consultations/{slug}/results/published", "get"),
];

/// Documented answers that are not produced, as (path, method, status), `*` for any; each with why not.
const NOT_PRODUCED: &[(&str, &str, &str, &str)] = &[
    ("*", "*", "503", "needs the database taken away, or the submission queue full, mid-test"),
    (
        "/api/v1/consultations/{slug}/definition",
        "put",
        "409",
        "needs another request to change the draft between this one's read and its write, in one transaction",
    ),
];

fn not_produced(path: &str, method: &str, status: &str) -> bool {
    NOT_PRODUCED.iter().any(|(p, m, s, _)| (*p == "*" || *p == path) && (*m == "*" || *m == method) && *s == status)
}

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// A token of the right shape that no account has.
const UNKNOWN_TOKEN: &str = "hys_0000000000000000000000000000000000000000000000000000000000000000";

/// The document as the running server serves it.
async fn served_document(app: &TestApp) -> Value {
    let r = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    serde_json::from_str(&r.text().await.unwrap()).expect("the served document is JSON")
}

// ---------------------------------------------------------------------------------------------------------------
// A small JSON Schema (2020-12, the subset the document uses) checker.
// ---------------------------------------------------------------------------------------------------------------

mod schema {
    use serde_json::Value;

    /// The errors of `instance` against `schema`, each as "at <instance pointer> (schema <schema pointer>): …".
    /// `root` is the whole document, against which `$ref`s are resolved; `schema_at` names where `schema` is.
    pub fn validate(root: &Value, schema: &Value, schema_at: &str, instance: &Value) -> Vec<String> {
        let mut v = Validator { root, errors: Vec::new(), depth: 0 };
        v.check(schema, schema_at, instance, "");
        v.errors
    }

    /// Properties the server sends that the schema does not declare, where the schema declares its properties
    /// and says nothing of others. JSON Schema allows them, so `validate` does not report them; but a field the
    /// server adds without documenting it is a change integrations cannot see, so responses are held to this too.
    pub fn undeclared(root: &Value, schema: &Value, instance: &Value, at: &str) -> Vec<String> {
        let views = views(root, schema, instance, 0);
        let mut found = Vec::new();
        match instance {
            Value::Object(obj) => {
                let open =
                    views.iter().any(|v| v.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)));
                let declared: Vec<&serde_json::Map<String, Value>> =
                    views.iter().filter_map(|v| v.get("properties").and_then(Value::as_object)).collect();
                for (name, value) in obj {
                    let subs: Vec<&Value> = declared.iter().filter_map(|d| d.get(name)).collect();
                    let here = format!("{at}/{}", escape(name));
                    if subs.is_empty() && !open && !declared.is_empty() {
                        found.push(format!("at {here}: the server sends {name:?}, which the schema does not declare"));
                    }
                    for sub in subs {
                        found.extend(undeclared(root, sub, value, &here));
                    }
                }
            }
            Value::Array(items) => {
                for items_schema in views.iter().filter_map(|v| v.get("items")) {
                    for (i, item) in items.iter().enumerate() {
                        found.extend(undeclared(root, items_schema, item, &format!("{at}/{i}")));
                    }
                }
            }
            _ => {}
        }
        found
    }

    /// `schema` with its `$ref`s followed, its `allOf`s spread out, and of its `oneOf`s and `anyOf`s the
    /// branches `instance` is valid against (a nullable object is `oneOf` null and the object's schema).
    fn views<'a>(root: &'a Value, schema: &'a Value, instance: &Value, depth: usize) -> Vec<&'a Value> {
        if depth > 64 {
            return vec![];
        }
        let mut all = vec![schema];
        if let Some(target) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            all.extend(root.pointer(target).map(|t| views(root, t, instance, depth + 1)).unwrap_or_default());
        }
        for sub in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            all.extend(views(root, sub, instance, depth + 1));
        }
        for keyword in ["oneOf", "anyOf"] {
            for sub in schema.get(keyword).and_then(Value::as_array).into_iter().flatten() {
                if validate(root, sub, "#", instance).is_empty() {
                    all.extend(views(root, sub, instance, depth + 1));
                }
            }
        }
        all
    }

    struct Validator<'a> {
        root: &'a Value,
        errors: Vec<String>,
        depth: usize,
    }

    fn escape(token: &str) -> String {
        token.replace('~', "~0").replace('/', "~1")
    }

    fn short(v: &Value) -> String {
        let text = v.to_string();
        if text.chars().count() > 120 {
            format!("{}…", text.chars().take(120).collect::<String>())
        } else {
            text
        }
    }

    fn type_name(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// "integer" is a JSON integer as written (no fraction or exponent: serde_json reads `3.0` as a float), since
    /// that is what a strictly typed client can read into an integer; "number" is any number.
    fn has_type(v: &Value, t: &str) -> Option<bool> {
        Some(match t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            _ => return None,
        })
    }

    impl Validator<'_> {
        fn fail(&mut self, at: &str, schema_at: &str, message: String) {
            let at = if at.is_empty() { "/" } else { at };
            self.errors.push(format!("at {at} (schema {schema_at}): {message}"));
        }

        fn passes(&self, schema: &Value, schema_at: &str, v: &Value, at: &str) -> Result<(), Vec<String>> {
            let mut sub = Validator { root: self.root, errors: Vec::new(), depth: self.depth };
            sub.check(schema, schema_at, v, at);
            if sub.errors.is_empty() {
                Ok(())
            } else {
                Err(sub.errors)
            }
        }

        fn check(&mut self, schema: &Value, sat: &str, v: &Value, at: &str) {
            if self.depth > 64 {
                self.fail(at, sat, "$ref nesting deeper than 64: a cycle?".into());
                return;
            }
            let keywords = match schema {
                Value::Bool(true) => return,
                Value::Bool(false) => return self.fail(at, sat, format!("no value is allowed, got {}", short(v))),
                Value::Object(o) => o,
                other => return self.fail(at, sat, format!("the schema is not an object or boolean: {other}")),
            };
            for (keyword, s) in keywords {
                let sk = format!("{sat}/{}", escape(keyword));
                match keyword.as_str() {
                    // Annotations only.
                    "description" | "title" | "examples" | "default" | "deprecated" | "readOnly" | "writeOnly" => {}
                    "$ref" => {
                        let Some(target) = s.as_str().and_then(|r| r.strip_prefix('#')) else {
                            self.fail(at, &sk, format!("only local references are supported: {s}"));
                            continue;
                        };
                        let Some(resolved) = self.root.pointer(target) else {
                            self.fail(at, &sk, format!("the reference {s} points at nothing"));
                            continue;
                        };
                        self.depth += 1;
                        self.check(resolved, &format!("#{target}"), v, at);
                        self.depth -= 1;
                    }
                    "type" => {
                        let allowed: Vec<&str> = match s {
                            Value::String(t) => vec![t.as_str()],
                            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                            _ => vec![],
                        };
                        let mut ok = false;
                        for t in &allowed {
                            match has_type(v, t) {
                                Some(matches) => ok |= matches,
                                None => self.fail(at, &sk, format!("unknown type {t:?}")),
                            }
                        }
                        if !ok {
                            self.fail(at, &sk, format!("expected type {s}, got {} {}", type_name(v), short(v)));
                        }
                    }
                    "properties" => {
                        if let (Some(props), Some(obj)) = (s.as_object(), v.as_object()) {
                            for (name, sub) in props {
                                if let Some(value) = obj.get(name) {
                                    let (sub_sat, sub_at) =
                                        (format!("{sk}/{}", escape(name)), format!("{at}/{}", escape(name)));
                                    self.check(sub, &sub_sat, value, &sub_at);
                                }
                            }
                        }
                    }
                    "required" => {
                        if let Some(obj) = v.as_object() {
                            for name in s.as_array().into_iter().flatten().filter_map(Value::as_str) {
                                if !obj.contains_key(name) {
                                    self.fail(at, &sk, format!("the required property {name:?} is missing"));
                                }
                            }
                        }
                    }
                    "additionalProperties" => {
                        if let Some(obj) = v.as_object() {
                            let declared = keywords.get("properties").and_then(Value::as_object);
                            for (name, value) in obj {
                                if !declared.is_some_and(|d| d.contains_key(name)) {
                                    if s == &Value::Bool(false) {
                                        self.fail(at, &sk, format!("the property {name:?} is not allowed"));
                                    } else {
                                        self.check(s, &sk, value, &format!("{at}/{}", escape(name)));
                                    }
                                }
                            }
                        }
                    }
                    "items" => {
                        if let Some(items) = v.as_array() {
                            for (i, item) in items.iter().enumerate() {
                                self.check(s, &sk, item, &format!("{at}/{i}"));
                            }
                        }
                    }
                    "minItems" | "maxItems" => {
                        if let (Some(items), Some(limit)) = (v.as_array(), s.as_u64()) {
                            let n = items.len() as u64;
                            if (keyword == "minItems" && n < limit) || (keyword == "maxItems" && n > limit) {
                                self.fail(at, &sk, format!("{n} items, {keyword} is {limit}"));
                            }
                        }
                    }
                    "minimum" | "maximum" => {
                        if let (Some(n), Some(limit)) = (v.as_f64(), s.as_f64()) {
                            if (keyword == "minimum" && n < limit) || (keyword == "maximum" && n > limit) {
                                self.fail(at, &sk, format!("{n} is past the {keyword} {limit}"));
                            }
                        }
                    }
                    "propertyNames" => {
                        if let Some(obj) = v.as_object() {
                            for name in obj.keys() {
                                let name_at = format!("{at}/{}", escape(name));
                                self.check(s, &sk, &Value::String(name.clone()), &name_at);
                            }
                        }
                    }
                    "minLength" | "maxLength" => {
                        if let (Some(text), Some(limit)) = (v.as_str(), s.as_u64()) {
                            let n = text.chars().count() as u64;
                            if (keyword == "minLength" && n < limit) || (keyword == "maxLength" && n > limit) {
                                self.fail(at, &sk, format!("{n} characters, {keyword} is {limit}"));
                            }
                        }
                    }
                    "enum" => {
                        if !s.as_array().is_some_and(|options| options.contains(v)) {
                            self.fail(at, &sk, format!("{} is not one of {s}", short(v)));
                        }
                    }
                    "const" => {
                        if s != v {
                            self.fail(at, &sk, format!("{} is not {s}", short(v)));
                        }
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        let subs = s.as_array().cloned().unwrap_or_default();
                        let results: Vec<Result<(), Vec<String>>> = subs
                            .iter()
                            .enumerate()
                            .map(|(i, sub)| self.passes(sub, &format!("{sk}/{i}"), v, at))
                            .collect();
                        let passed = results.iter().filter(|r| r.is_ok()).count();
                        match keyword.as_str() {
                            "allOf" => {
                                for errors in results.into_iter().filter_map(Result::err) {
                                    self.errors.extend(errors);
                                }
                            }
                            "anyOf" if passed == 0 => {
                                let why: Vec<String> = results.into_iter().filter_map(Result::err).flatten().collect();
                                self.fail(at, &sk, format!("{} matches none of the schemas: {why:?}", short(v)));
                            }
                            "oneOf" if passed != 1 => {
                                let why: Vec<String> = results.into_iter().filter_map(Result::err).flatten().collect();
                                self.fail(
                                    at,
                                    &sk,
                                    format!("{} matches {passed} of the schemas, not exactly one: {why:?}", short(v)),
                                );
                            }
                            _ => {}
                        }
                    }
                    "pattern" => {
                        if let (Some(text), Some(p)) = (v.as_str(), s.as_str()) {
                            match super::pattern::is_match(p, text) {
                                Ok(true) => {}
                                Ok(false) => self.fail(at, &sk, format!("{text:?} does not match {p}")),
                                Err(e) => self.fail(at, &sk, e),
                            }
                        }
                    }
                    // A format applies to values of its type only, as in JSON Schema; the checker asserts each.
                    "format" => match (s.as_str(), v) {
                        (Some("date-time"), Value::String(text)) => {
                            if let Err(e) = chrono::DateTime::parse_from_rfc3339(text) {
                                self.fail(at, &sk, format!("{text:?} is not an RFC 3339 date-time: {e}"));
                            }
                        }
                        // The range of an integer; a number that is no integer is left to `type`.
                        (Some("int32"), Value::Number(n)) if n.is_i64() || n.is_u64() => {
                            if n.as_i64().is_none_or(|i| i32::try_from(i).is_err()) {
                                self.fail(at, &sk, format!("{n} is not a 32-bit integer"));
                            }
                        }
                        (Some("int64"), Value::Number(n)) if n.is_u64() && !n.is_i64() => {
                            self.fail(at, &sk, format!("{n} is not a 64-bit integer"));
                        }
                        // Every JSON number serde_json reads is a double.
                        (Some("double" | "float"), _) => {}
                        (Some("date-time" | "int32" | "int64"), _) => {}
                        _ => self.fail(at, &sk, format!("the checker does not know the format {s}")),
                    },
                    other => self.fail(at, &sk, format!("the checker does not support the keyword {other:?}")),
                }
            }
        }
    }
}

/// A hand-written matcher for the patterns the document uses: `^`/`$` anchors, literal characters (or `\`-escaped
/// punctuation), character classes with ranges (`[2-9A-Z]`, `[^…]`) and the quantifiers `{n}`, `{n,m}`, `{n,}`,
/// `*`, `+`, `?`. Anything else is refused, not guessed at.
mod pattern {
    enum Atom {
        Char(char),
        Class { ranges: Vec<(char, char)>, negated: bool },
    }

    impl Atom {
        fn matches(&self, c: char) -> bool {
            match self {
                Atom::Char(a) => *a == c,
                Atom::Class { ranges, negated } => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
            }
        }
    }

    struct Piece {
        atom: Atom,
        min: usize,
        max: usize,
    }

    pub fn is_match(pattern: &str, text: &str) -> Result<bool, String> {
        let (pieces, anchored_start, anchored_end) = compile(pattern)?;
        let text: Vec<char> = text.chars().collect();
        let last_start = if anchored_start { 0 } else { text.len() };
        Ok((0..=last_start).any(|start| matches_here(&pieces, &text[start..], anchored_end)))
    }

    fn matches_here(pieces: &[Piece], text: &[char], anchored_end: bool) -> bool {
        let Some((piece, rest)) = pieces.split_first() else {
            return !anchored_end || text.is_empty();
        };
        let mut n = 0;
        while n < piece.max && n < text.len() && piece.atom.matches(text[n]) {
            n += 1;
        }
        n >= piece.min && (piece.min..=n).rev().any(|k| matches_here(rest, &text[k..], anchored_end))
    }

    fn compile(pattern: &str) -> Result<(Vec<Piece>, bool, bool), String> {
        let unsupported = |what: &str| Err(format!("the pattern checker does not support {what} in {pattern:?}"));
        let mut chars: Vec<char> = pattern.chars().collect();
        let anchored_start = chars.first() == Some(&'^');
        if anchored_start {
            chars.remove(0);
        }
        let anchored_end = chars.last() == Some(&'$') && (chars.len() < 2 || chars[chars.len() - 2] != '\\');
        if anchored_end {
            chars.pop();
        }
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let atom = match chars[i] {
                '[' => {
                    i += 1;
                    let negated = chars.get(i) == Some(&'^');
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        let lo = match chars.get(i) {
                            None => return unsupported("an unclosed class"),
                            Some(']') if !ranges.is_empty() => break,
                            Some('\\') => match chars.get(i + 1) {
                                Some(c) if c.is_ascii_punctuation() => {
                                    i += 1;
                                    *c
                                }
                                _ => return unsupported("a class escape"),
                            },
                            Some(c) => *c,
                        };
                        i += 1;
                        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                            let hi = chars[i + 1];
                            if hi == '\\' || hi < lo {
                                return unsupported("this range");
                            }
                            ranges.push((lo, hi));
                            i += 2;
                        } else {
                            ranges.push((lo, lo));
                        }
                    }
                    i += 1;
                    Atom::Class { ranges, negated }
                }
                '\\' => match chars.get(i + 1) {
                    Some(c) if c.is_ascii_punctuation() => {
                        i += 2;
                        Atom::Char(*c)
                    }
                    _ => return unsupported("this escape"),
                },
                c if "().|*+?{}^$".contains(c) => return unsupported(&format!("{c:?} here")),
                c => {
                    i += 1;
                    Atom::Char(c)
                }
            };
            let (min, max) = match chars.get(i) {
                Some('*') => (0, usize::MAX),
                Some('+') => (1, usize::MAX),
                Some('?') => (0, 1),
                Some('{') => {
                    let close = match chars[i..].iter().position(|c| *c == '}') {
                        Some(p) => i + p,
                        None => return unsupported("an unclosed {"),
                    };
                    let inside: String = chars[i + 1..close].iter().collect();
                    let number =
                        |s: &str| s.trim().parse::<usize>().map_err(|_| format!("bad quantifier {{{inside}}}"));
                    let bounds = match inside.split_once(',') {
                        None => number(&inside).map(|n| (n, n)),
                        Some((lo, "")) => number(lo).map(|lo| (lo, usize::MAX)),
                        Some((lo, hi)) => number(lo).and_then(|lo| number(hi).map(|hi| (lo, hi))),
                    }?;
                    i = close;
                    bounds
                }
                _ => {
                    pieces.push(Piece { atom, min: 1, max: 1 });
                    continue;
                }
            };
            i += 1;
            if matches!(chars.get(i), Some('?' | '+')) {
                return unsupported("a lazy or possessive quantifier");
            }
            pieces.push(Piece { atom, min, max });
        }
        Ok((pieces, anchored_start, anchored_end))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Holding the server's answers to the document.
// ---------------------------------------------------------------------------------------------------------------

/// Records every exchange, checks it against the document and collects every disagreement, so that one run
/// reports them all.
struct Conformance {
    doc: Value,
    exercised: BTreeSet<(String, String, String)>,
    failures: Vec<String>,
}

impl Conformance {
    fn operation(&self, path: &str, method: &str) -> Option<&Value> {
        self.doc["paths"].get(path).and_then(|item| item.get(method))
    }

    /// Checks one answer: the operation is in `EXERCISED`, the status is the one the test expected and is
    /// documented, the media type is the documented one, the documented headers are sent, and the body
    /// validates against that status's schema (a problem's `status` being the answer's). `body` is what the
    /// schema is applied to (the body, or for an event stream, one event's data). Returns the body parsed as
    /// JSON when the documented media type is JSON.
    fn record(
        &mut self,
        (path, method): (&str, &str),
        expected: u16,
        status: u16,
        headers: &HeaderMap,
        body: &str,
    ) -> Value {
        let op = format!("{} {path} → {status}", method.to_uppercase());
        if !EXERCISED.contains(&(path, method)) {
            self.failures.push(format!("{op}: the test exercised an operation missing from EXERCISED"));
        }
        self.exercised.insert((path.to_string(), method.to_string(), status.to_string()));
        if status != expected {
            self.failures.push(format!("{op}: the test expected {expected}; body: {body:.300}"));
        }
        let Some(operation) = self.operation(path, method).cloned() else {
            self.failures.push(format!("{op}: the operation is not documented"));
            return Value::Null;
        };
        let Some(response) = operation["responses"].get(status.to_string()) else {
            let documented: Vec<&String> =
                operation["responses"].as_object().map(|r| r.keys().collect()).unwrap_or_default();
            self.failures.push(format!(
                "{op}: the server answered {status}, which is not documented (documented: {documented:?}); body: {body:.300}"
            ));
            return Value::Null;
        };
        for name in response["headers"].as_object().into_iter().flat_map(|h| h.keys()) {
            if !headers.contains_key(name.as_str()) {
                self.failures.push(format!("{op}: the documented header {name} was not sent"));
            }
        }
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let content = response["content"].as_object().cloned().unwrap_or_default();
        let Some(documented) = content.get(&media) else {
            let types: Vec<&String> = content.keys().collect();
            self.failures
                .push(format!("{op}: the server sent Content-Type {content_type:?}, the document says {types:?}"));
            return Value::Null;
        };
        let pointer = format!(
            "#/paths/{}/{method}/responses/{status}/content/{}/schema",
            path.replace('~', "~0").replace('/', "~1"),
            media.replace('/', "~1")
        );
        let instance = if media == "application/json" || media.ends_with("+json") {
            match serde_json::from_str::<Value>(body) {
                Ok(v) => v,
                Err(e) => {
                    self.failures.push(format!("{op}: the {media} body is not JSON ({e}): {body:.300}"));
                    return Value::Null;
                }
            }
        } else {
            Value::String(body.to_string())
        };
        if media == "application/problem+json" && instance["status"] != status {
            self.failures.push(format!("{op}: the problem's status is {}", instance["status"]));
        }
        let mut errors = schema::validate(&self.doc, &documented["schema"], &pointer, &instance);
        errors.extend(schema::undeclared(&self.doc, &documented["schema"], &instance, ""));
        self.failures.extend(errors.into_iter().map(|e| format!("{op}: {e}")));
        instance
    }

    async fn exchange(&mut self, operation: (&str, &str), expected: u16, r: reqwest::Response) -> Value {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.expect("the body reads");
        self.record(operation, expected, status, &headers, &body)
    }

    /// Checks a JSON request body the test sends, and the server accepts, against the documented request body
    /// schema, undeclared properties included.
    fn request_body(&mut self, (path, method): (&str, &str), body: &Value) {
        let schema = self
            .operation(path, method)
            .and_then(|op| op["requestBody"]["content"]["application/json"].get("schema"))
            .cloned();
        let Some(schema) = schema else {
            self.failures.push(format!("{method} {path}: no application/json request body is documented"));
            return;
        };
        let pointer =
            format!("#/paths/{}/{method}/requestBody/content/application~1json/schema", path.replace('/', "~1"));
        let mut errors = schema::validate(&self.doc, &schema, &pointer, body);
        errors.extend(schema::undeclared(&self.doc, &schema, body, ""));
        self.failures.extend(
            errors
                .into_iter()
                .map(|e| format!("{} {path} request body the server accepts: {e}", method.to_uppercase())),
        );
    }

    /// A results stream: status, headers and media type as for any answer; then the first event must be named
    /// `results` and its data must validate as the `Report` the operation's description names (the stream's
    /// schema itself is only `type: string`).
    async fn stream(&mut self, slug: &str, token: Option<&str>, expected: u16, app: &TestApp) {
        let operation = ("/api/v1/consultations/{slug}/results/stream", "get");
        let path = format!("/api/v1/consultations/{slug}/results/stream");
        let mut r = send(app, Method::GET, &path, token, None).await;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        if status != 200 || !content_type(&r).starts_with("text/event-stream") {
            self.exchange(operation, expected, r).await;
            return;
        }
        let (name, data) = first_event(&mut r).await;
        self.record(operation, expected, status, &headers, &data);
        if name.as_deref() != Some("results") {
            self.failures
                .push(format!("GET {} (slug {slug}): the first event is named {name:?}, not \"results\"", operation.0));
        }
        let described = self.operation(operation.0, operation.1).and_then(|o| o["description"].as_str());
        if !described.is_some_and(|d| d.contains("Report")) {
            self.failures.push(format!("GET {}: the description does not name the events' schema", operation.0));
        }
        match serde_json::from_str::<Value>(&data) {
            Ok(results) => {
                let report = json!({"$ref": "#/components/schemas/Report"});
                let mut errors = schema::validate(&self.doc, &report, "#", &results);
                errors.extend(schema::undeclared(&self.doc, &report, &results, ""));
                self.failures.extend(
                    errors.into_iter().map(|e| format!("GET {} (slug {slug}) first event's data: {e}", operation.0)),
                );
            }
            Err(e) => self.failures.push(format!(
                "GET {} (slug {slug}): the first event's data is not JSON ({e}): {data:.300}",
                operation.0
            )),
        }
    }
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// The first event carrying data, as (event name, data), within five seconds; comment lines are passed over.
async fn first_event(stream: &mut reqwest::Response) -> (Option<String>, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buffer = String::new();
    loop {
        let normalised = buffer.replace("\r\n", "\n");
        if let Some(end) = normalised.find("\n\n") {
            let event = &normalised[..end];
            let field = |name: &str| -> Vec<String> {
                event
                    .lines()
                    .filter_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
                    .map(|v| v.strip_prefix(' ').unwrap_or(v).to_string())
                    .collect()
            };
            let data = field("data");
            if !data.is_empty() {
                return (field("event").pop(), data.join("\n"));
            }
            buffer = normalised[end + 2..].to_string();
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within 5 seconds; so far: {buffer:?}"))
            .expect("the stream reads")
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).expect("events are UTF-8"));
    }
}

/// `{"answers": …}`: a random valid response to `q`, the same for the same seed.
fn valid_body(q: &Questionnaire, seed: u64) -> Value {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let answers = haveyoursay::demo::random_answers(q, &mut rng, "", &[]);
    json!({ "answers": serde_json::from_str::<Value>(&canonical_json(&answers)).unwrap() })
}

/// A request with an optional bearer token and an optional body, given with its media type.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    request.send().await.expect("the server answers")
}

/// A JSON body.
fn json_body(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", serde_json::to_vec(v).unwrap()))
}

/// A body larger than the server takes.
fn huge_body() -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", format!(r#"{{"answers": {{"name": "{}"}}}}"#, "x".repeat(1024 * 1024)).into_bytes()))
}

async fn post_response(
    app: &TestApp,
    slug: &str,
    key: Option<&str>,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{slug}/responses")))
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("POST answers")
}

/// An open consultation whose results only officers may see, so that its results answer 403.
async fn create_officers_only(app: &TestApp, slug: &str) {
    use diesel::prelude::*;
    use haveyoursay::db::schema::consultations::dsl;
    let q = json!({"sections": [{"key": "only", "title": "Questions", "questions": [
        {"key": "pick", "kind": "single_choice", "prompt": "Pick one", "required": false,
         "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]}]}]});
    let id = app.create_consultation(slug, "open", q).await;
    app.db(move |conn| {
        diesel::update(dsl::consultations.find(id)).set(dsl::results_visibility.eq("officers")).execute(conn).unwrap()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------------------------

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    send(app, Method::GET, path, token, None).await
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    // Loopback is exempt from the per-address caps in tests; a small per-instance cap on results streams lets
    // the test reach it.
    let app = spawn_app_with(|s| s.limits.streams_per_instance = 12).await;
    create_officers_only(&app, "officers-only").await;
    // The accounts whose tokens the officers' operations are tried with. The IRMP consultation is the fire and
    // rescue service's; the closed one is the county council's.
    for (email, role, organisation) in [
        ("officer@example.org", "officer", Some(NORTHSHIRE_FIRE)),
        ("analyst@example.org", "analyst", Some(NORTHSHIRE_FIRE)),
        ("cabinet@example.org", "cabinet", Some(NORTHSHIRE_FIRE)),
        ("elsewhere@example.org", "officer", Some("Another Council")),
        ("admin@example.org", "admin", None),
    ] {
        app.add_user(email, role, organisation).await;
    }
    let officer = app.token_for("officer@example.org").await;
    let analyst = app.token_for("analyst@example.org").await;
    let cabinet = app.token_for("cabinet@example.org").await;
    let elsewhere = app.token_for("elsewhere@example.org").await;
    let admin = app.token_for("admin@example.org").await;

    // The document itself, as served: an answer like any other.
    let openapi = ("/api/openapi.json", "get");
    let r = get(&app, "/api/openapi.json", None).await;
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the served document is JSON");
    let mut c = Conformance { doc, exercised: BTreeSet::new(), failures: Vec::new() };
    c.record(openapi, 200, status, &headers, &text);
    c.exchange(openapi, 401, get(&app, "/api/openapi.json", Some(UNKNOWN_TOKEN)).await).await;

    c.exchange(("/healthz", "get"), 200, get(&app, "/healthz", None).await).await;
    let list = ("/api/v1/consultations", "get");
    c.exchange(list, 200, get(&app, "/api/v1/consultations", None).await).await;
    c.exchange(list, 200, get(&app, "/api/v1/consultations", Some(&cabinet)).await).await;
    c.exchange(list, 401, get(&app, "/api/v1/consultations", Some(UNKNOWN_TOKEN)).await).await;

    let show = ("/api/v1/consultations/{slug}", "get");
    let mut questionnaires = Vec::new();
    for slug in [IRMP, CLOSED, "officers-only"] {
        let body = c.exchange(show, 200, get(&app, &format!("/api/v1/consultations/{slug}"), None).await).await;
        questionnaires.push(serde_json::from_value::<Questionnaire>(body).expect("the questionnaire reads"));
    }
    c.exchange(show, 404, get(&app, "/api/v1/consultations/no-such-consultation", None).await).await;
    c.exchange(show, 401, get(&app, &format!("/api/v1/consultations/{IRMP}"), Some("hys_not-a-token")).await).await;

    let submit = ("/api/v1/consultations/{slug}/responses", "post");
    let json_type = "application/json";
    let body = valid_body(&questionnaires[0], 1);
    c.request_body(submit, &body);
    let bytes = serde_json::to_vec(&body).unwrap();
    let post = |key: &'static str, token: Option<&str>, content_type: &'static str, body: Vec<u8>| {
        let token = token.map(str::to_string);
        let app = &app;
        async move { post_response(app, IRMP, Some(key), token.as_deref(), content_type, body).await }
    };
    c.exchange(submit, 201, post("openapi-1", None, json_type, bytes.clone()).await).await;
    c.exchange(submit, 200, post("openapi-1", None, json_type, bytes.clone()).await).await;
    let other = valid_body(&questionnaires[0], 2);
    assert_ne!(other, body);
    c.request_body(submit, &other);
    let other = serde_json::to_vec(&other).unwrap();
    c.exchange(submit, 422, post("openapi-1", None, json_type, other).await).await;
    let invalid = br#"{"answers": {"support_closer_working": "not_an_option"}}"#.to_vec();
    c.exchange(submit, 422, post("openapi-2", None, json_type, invalid).await).await;
    // A receipt asked for, to an address and to something that is not one.
    let mut with_email = valid_body(&questionnaires[0], 5);
    with_email["email"] = json!("receipt@example.org");
    c.request_body(submit, &with_email);
    let with_email_bytes = serde_json::to_vec(&with_email).unwrap();
    c.exchange(submit, 201, post("openapi-email-1", None, json_type, with_email_bytes).await).await;
    with_email["email"] = json!("not an address");
    let bad_email = serde_json::to_vec(&with_email).unwrap();
    let problem = c.exchange(submit, 422, post("openapi-email-2", None, json_type, bad_email).await).await;
    assert_eq!(problem["errors"][0]["question"], "email", "{problem}");
    c.exchange(submit, 400, post_response(&app, IRMP, None, None, json_type, bytes.clone()).await).await;
    let malformed = br#"{"answers": {"#.to_vec();
    c.exchange(submit, 400, post("openapi-3", None, json_type, malformed).await).await;
    let unknown = "no-such-consultation";
    let missing = post_response(&app, unknown, Some("openapi-4"), None, json_type, bytes.clone()).await;
    c.exchange(submit, 404, missing).await;
    let closed = valid_body(&questionnaires[1], 3);
    c.request_body(submit, &closed);
    let closed = serde_json::to_vec(&closed).unwrap();
    c.exchange(submit, 409, post_response(&app, CLOSED, Some("openapi-5"), None, json_type, closed).await).await;
    let huge = huge_body().unwrap().1;
    c.exchange(submit, 413, post("openapi-6", None, json_type, huge).await).await;
    c.exchange(submit, 415, post("openapi-7", None, "text/plain", bytes.clone()).await).await;
    c.exchange(submit, 401, post("openapi-8", Some(UNKNOWN_TOKEN), json_type, bytes.clone()).await).await;
    // An officer keys in a paper response: the channel needs a token, of a role that keys responses, of the
    // consultation's organisation, and a channel that is keyed.
    let mut keyed = valid_body(&questionnaires[0], 4);
    keyed["channel"] = json!("paper");
    c.request_body(submit, &keyed);
    let keyed_bytes = serde_json::to_vec(&keyed).unwrap();
    c.exchange(submit, 201, post("openapi-keyed-1", Some(&officer), json_type, keyed_bytes.clone()).await).await;
    c.exchange(submit, 401, post("openapi-keyed-2", None, json_type, keyed_bytes.clone()).await).await;
    c.exchange(submit, 403, post("openapi-keyed-3", Some(&analyst), json_type, keyed_bytes.clone()).await).await;
    c.exchange(submit, 404, post("openapi-keyed-4", Some(&elsewhere), json_type, keyed_bytes).await).await;
    keyed["channel"] = json!("api");
    let not_keyed = serde_json::to_vec(&keyed).unwrap();
    c.exchange(submit, 422, post("openapi-keyed-5", Some(&officer), json_type, not_keyed).await).await;

    let results = ("/api/v1/consultations/{slug}/results", "get");
    for slug in [IRMP, CLOSED] {
        c.exchange(results, 200, get(&app, &format!("/api/v1/consultations/{slug}/results"), None).await).await;
    }
    c.exchange(results, 403, get(&app, "/api/v1/consultations/officers-only/results", None).await).await;
    let missing = get(&app, "/api/v1/consultations/no-such-consultation/results", None).await;
    c.exchange(results, 404, missing).await;
    let refused = get(&app, &format!("/api/v1/consultations/{IRMP}/results"), Some(UNKNOWN_TOKEN)).await;
    c.exchange(results, 401, refused).await;
    // With a token, what the policy allows the account's role; a cross-tab with `by`.
    c.exchange(results, 200, get(&app, "/api/v1/consultations/officers-only/results", Some(&admin)).await).await;
    for (by, token) in [("respondent_type", None), ("channel", Some(&cabinet)), ("age_band", Some(&officer))] {
        let path = format!("/api/v1/consultations/{IRMP}/results?by={by}");
        c.exchange(results, 200, get(&app, &path, token.map(String::as_str)).await).await;
    }
    let bad_by = get(&app, &format!("/api/v1/consultations/{IRMP}/results?by=no_such_question"), None).await;
    c.exchange(results, 422, bad_by).await;

    for (slug, token, status) in [
        (IRMP, None, 200),
        (CLOSED, None, 200),
        ("officers-only", None, 403),
        ("no-such-consultation", None, 404),
        (IRMP, Some(UNKNOWN_TOKEN), 401),
        ("officers-only", Some(admin.as_str()), 200),
    ] {
        c.stream(slug, token, status, &app).await;
    }
    // An instance holds only so many streams open (and each address only so many): the next is refused for a
    // while.
    let mut held = Vec::new();
    while held.len() < 12 {
        let r = get(&app, &format!("/api/v1/consultations/{IRMP}/results/stream"), None).await;
        if r.status() != 200 {
            break;
        }
        held.push(r);
    }
    c.stream(IRMP, None, 429, &app).await;
    drop(held);

    // The officers' API. The definition, draft or published:
    let definition = ("/api/v1/consultations/{slug}/definition", "get");
    let of = |slug: &str| format!("/api/v1/consultations/{slug}/definition");
    let irmp = c.exchange(definition, 200, get(&app, &of(IRMP), Some(&analyst)).await).await;
    c.exchange(definition, 200, get(&app, &of(CLOSED), Some(&admin)).await).await;
    c.exchange(definition, 401, get(&app, &of(IRMP), None).await).await;
    c.exchange(definition, 401, get(&app, &of(IRMP), Some("hys_not-a-token")).await).await;
    c.exchange(definition, 403, get(&app, &of(IRMP), Some(&cabinet)).await).await;
    c.exchange(definition, 404, get(&app, &of("officers-only"), Some(&analyst)).await).await;
    c.exchange(definition, 404, get(&app, &of("no-such-consultation"), Some(&analyst)).await).await;

    // Every response, in each format, to the organisation's readers only.
    let export = ("/api/v1/consultations/{slug}/responses", "get");
    let of = |slug: &str, format: &str| format!("/api/v1/consultations/{slug}/responses?format={format}");
    for format in ["csv", "xlsx", "json"] {
        c.exchange(export, 200, get(&app, &of(IRMP, format), Some(&analyst)).await).await;
    }
    c.exchange(export, 400, get(&app, &of(IRMP, "pdf"), Some(&officer)).await).await;
    c.exchange(export, 401, get(&app, &of(IRMP, "csv"), None).await).await;
    c.exchange(export, 403, get(&app, &of(IRMP, "csv"), Some(&cabinet)).await).await;
    c.exchange(export, 404, get(&app, &of(IRMP, "csv"), Some(&elsewhere)).await).await;
    let of = |slug: &str| format!("/api/v1/consultations/{slug}/definition");

    // Publishing a closed consultation's results, then reading them as open data.
    app.create_consultation("openapi-closed", "closed", crate::api::every_kind()).await;
    let publish_results = ("/api/v1/consultations/{slug}/results/publish", "post");
    let to = |slug: &str| format!("/api/v1/consultations/{slug}/results/publish");
    let decided = json!({"outcome": "We decided to **go ahead**."});
    c.request_body(publish_results, &decided);
    let closed = to("openapi-closed");
    let first = c
        .exchange(publish_results, 201, send(&app, Method::POST, &closed, Some(&admin), json_body(&decided)).await)
        .await;
    assert_eq!(first["publication"], 1);
    let again = c
        .exchange(publish_results, 200, send(&app, Method::POST, &closed, Some(&admin), json_body(&decided)).await)
        .await;
    assert_eq!(again["publication"], 2);
    // The body is optional: none, or `{}`, takes the snapshot keeping the decision recorded.
    let nothing = json!({});
    c.request_body(publish_results, &nothing);
    let refreshed = c.exchange(publish_results, 200, send(&app, Method::POST, &closed, Some(&admin), None).await).await;
    assert_eq!(refreshed["publication"], 3);
    c.exchange(publish_results, 200, send(&app, Method::POST, &closed, Some(&admin), json_body(&nothing)).await).await;
    let wrong = json!({"decided": "x"});
    c.exchange(publish_results, 400, send(&app, Method::POST, &closed, Some(&admin), json_body(&wrong)).await).await;
    c.exchange(publish_results, 401, send(&app, Method::POST, &closed, None, json_body(&decided)).await).await;
    c.exchange(publish_results, 403, send(&app, Method::POST, &to(IRMP), Some(&analyst), json_body(&decided)).await)
        .await;
    c.exchange(publish_results, 404, send(&app, Method::POST, &closed, Some(&elsewhere), json_body(&decided)).await)
        .await;
    c.exchange(publish_results, 409, send(&app, Method::POST, &to(IRMP), Some(&officer), json_body(&decided)).await)
        .await;
    c.exchange(publish_results, 413, send(&app, Method::POST, &closed, Some(&admin), huge_body()).await).await;
    let as_text = Some(("text/plain", serde_json::to_vec(&decided).unwrap()));
    c.exchange(publish_results, 415, send(&app, Method::POST, &closed, Some(&admin), as_text).await).await;
    let empty = json!({"outcome": ""});
    c.exchange(publish_results, 422, send(&app, Method::POST, &closed, Some(&admin), json_body(&empty)).await).await;
    let published = ("/api/v1/consultations/{slug}/results/published", "get");
    let at = |slug: &str| format!("/api/v1/consultations/{slug}/results/published");
    for slug in [CLOSED, "openapi-closed"] {
        let body = c.exchange(published, 200, get(&app, &at(slug), None).await).await;
        assert!(body["questions"].as_array().is_some_and(|q| !q.is_empty()), "{body}");
    }
    c.exchange(published, 200, get(&app, &format!("{}?format=csv", at(CLOSED)), None).await).await;
    c.exchange(published, 400, get(&app, &format!("{}?format=xml", at(CLOSED)), None).await).await;
    c.exchange(published, 401, get(&app, &at(CLOSED), Some(UNKNOWN_TOKEN)).await).await;
    c.exchange(published, 404, get(&app, &at(IRMP), None).await).await;

    // A new draft from the IRMP definition under another slug, then replaced, scheduled and published.
    let create = ("/api/v1/consultations", "post");
    let mut draft = irmp.clone();
    draft["slug"] = json!("openapi-draft");
    draft["title"] = json!("A consultation the OpenAPI test made");
    c.request_body(create, &draft);
    let new = "/api/v1/consultations";
    let created = c.exchange(create, 201, send(&app, Method::POST, new, Some(&officer), json_body(&draft)).await).await;
    assert_eq!(created["slug"], "openapi-draft");
    c.exchange(create, 409, send(&app, Method::POST, new, Some(&officer), json_body(&draft)).await).await;
    c.exchange(create, 401, send(&app, Method::POST, new, None, json_body(&draft)).await).await;
    c.exchange(create, 403, send(&app, Method::POST, new, Some(&analyst), json_body(&draft)).await).await;
    let twice = "/api/v1/consultations?organisation=a&organisation=b";
    c.exchange(create, 400, send(&app, Method::POST, twice, Some(&admin), json_body(&draft)).await).await;
    c.exchange(create, 413, send(&app, Method::POST, new, Some(&officer), huge_body()).await).await;
    let as_text = Some(("text/plain", serde_json::to_vec(&draft).unwrap()));
    c.exchange(create, 415, send(&app, Method::POST, new, Some(&officer), as_text).await).await;
    let mut invalid = draft.clone();
    invalid["results_visibility"] = json!("everyone");
    invalid["colour"] = json!("red");
    let problem =
        c.exchange(create, 422, send(&app, Method::POST, new, Some(&officer), json_body(&invalid)).await).await;
    assert!(problem["problems"].as_array().is_some_and(|p| p.len() == 2), "each problem named: {problem}");
    c.exchange(definition, 200, get(&app, &of("openapi-draft"), Some(&officer)).await).await;

    let replace = ("/api/v1/consultations/{slug}/definition", "put");
    let path = of("openapi-draft");
    let mut changed = draft.clone();
    changed["summary"] = json!({"en": "Changed by a PUT", "cy": "Newidiwyd gan PUT"});
    c.request_body(replace, &changed);
    let replaced =
        c.exchange(replace, 200, send(&app, Method::PUT, &path, Some(&officer), json_body(&changed)).await).await;
    assert_eq!(replaced["slug"], "openapi-draft");
    c.exchange(replace, 401, send(&app, Method::PUT, &path, None, json_body(&changed)).await).await;
    c.exchange(replace, 403, send(&app, Method::PUT, &path, Some(&analyst), json_body(&changed)).await).await;
    c.exchange(replace, 404, send(&app, Method::PUT, &path, Some(&elsewhere), json_body(&changed)).await).await;
    c.exchange(replace, 413, send(&app, Method::PUT, &path, Some(&officer), huge_body()).await).await;
    let as_text = Some(("text/plain", serde_json::to_vec(&changed).unwrap()));
    c.exchange(replace, 415, send(&app, Method::PUT, &path, Some(&officer), as_text).await).await;
    let mut moved = changed.clone();
    moved["slug"] = json!("another-slug");
    c.exchange(replace, 422, send(&app, Method::PUT, &path, Some(&officer), json_body(&moved)).await).await;
    // The draft, with its Welsh summary, reads back as the schema says.
    c.exchange(definition, 200, get(&app, &path, Some(&officer)).await).await;

    let patch = ("/api/v1/consultations/{slug}", "patch");
    let path = "/api/v1/consultations/openapi-draft";
    let now = chrono::Utc::now();
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let schedule = json!({
        "opens_at": time(now - chrono::Duration::days(1)),
        "closes_at": time(now + chrono::Duration::days(10)),
        "results_visibility": "cabinet",
    });
    c.request_body(patch, &schedule);
    let scheduled =
        c.exchange(patch, 200, send(&app, Method::PATCH, path, Some(&officer), json_body(&schedule)).await).await;
    assert_eq!(scheduled["status"], "draft");
    assert!(scheduled["warnings"].as_array().is_some_and(|w| !w.is_empty()), "ten days is short: {scheduled}");
    let not_object = Some((json_type, b"[1]".to_vec()));
    c.exchange(patch, 400, send(&app, Method::PATCH, path, Some(&officer), not_object).await).await;
    c.exchange(patch, 401, send(&app, Method::PATCH, path, None, json_body(&schedule)).await).await;
    c.exchange(patch, 403, send(&app, Method::PATCH, path, Some(&analyst), json_body(&schedule)).await).await;
    c.exchange(patch, 404, send(&app, Method::PATCH, path, Some(&elsewhere), json_body(&schedule)).await).await;
    c.exchange(patch, 413, send(&app, Method::PATCH, path, Some(&officer), huge_body()).await).await;
    let as_text = Some(("text/plain", serde_json::to_vec(&schedule).unwrap()));
    c.exchange(patch, 415, send(&app, Method::PATCH, path, Some(&officer), as_text).await).await;
    let wrong = json!({"opens_at": "next tuesday", "colour": "red"});
    let problem =
        c.exchange(patch, 422, send(&app, Method::PATCH, path, Some(&officer), json_body(&wrong)).await).await;
    assert!(problem["problems"].as_array().is_some_and(|p| p.len() == 2), "each problem named: {problem}");

    let publish = ("/api/v1/consultations/{slug}/publish", "post");
    let path = "/api/v1/consultations/openapi-draft/publish";
    let published = c.exchange(publish, 200, send(&app, Method::POST, path, Some(&officer), None).await).await;
    assert_eq!(published["version"], 1);
    // Nothing is left to publish.
    c.exchange(publish, 422, send(&app, Method::POST, path, Some(&officer), None).await).await;
    c.exchange(publish, 401, send(&app, Method::POST, path, None, None).await).await;
    c.exchange(publish, 403, send(&app, Method::POST, path, Some(&analyst), None).await).await;
    c.exchange(publish, 404, send(&app, Method::POST, path, Some(&elsewhere), None).await).await;

    // Published, it is open to residents, and its stage follows from its times.
    c.exchange(show, 200, get(&app, "/api/v1/consultations/openapi-draft", None).await).await;
    let public = json!({"results_visibility": "public"});
    c.request_body(patch, &public);
    let path = "/api/v1/consultations/openapi-draft";
    let scheduled =
        c.exchange(patch, 200, send(&app, Method::PATCH, path, Some(&admin), json_body(&public)).await).await;
    assert_eq!(scheduled["status"], "open");
    // Each person responding once: the anonymous API is refused.
    let once = json!({"one_response_per_person": true, "retention_days": 30});
    c.request_body(patch, &once);
    let rules = c.exchange(patch, 200, send(&app, Method::PATCH, path, Some(&officer), json_body(&once)).await).await;
    assert_eq!((rules["one_response_per_person"].clone(), rules["retention_days"].clone()), (json!(true), json!(30)));
    let anonymous = br#"{"answers": {}}"#.to_vec();
    let refused = post_response(&app, "openapi-draft", Some("openapi-once"), None, json_type, anonymous).await;
    let problem = c.exchange(submit, 409, refused).await;
    assert_eq!(problem["type"], "/problems/confirmed-respondents-only", "{problem}");

    // Every documented status of every operation was produced, but those that cannot be (see NOT_PRODUCED).
    let mut documented = BTreeSet::new();
    for (path, item) in c.doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap().iter().filter(|(m, _)| HTTP_METHODS.contains(&m.as_str()))
        {
            for status in operation["responses"].as_object().unwrap().keys() {
                if !not_produced(path, method, status) {
                    documented.insert((path.clone(), method.clone(), status.clone()));
                }
            }
        }
    }
    for (path, method, status) in documented.difference(&c.exercised) {
        c.failures
            .push(format!("{} {path} → {status} is documented but the test never produced it", method.to_uppercase()));
    }
    let exercised: BTreeSet<(&str, &str)> = c.exercised.iter().map(|(p, m, _)| (p.as_str(), m.as_str())).collect();
    let listed: BTreeSet<(&str, &str)> = EXERCISED.iter().copied().collect();
    if exercised != listed {
        c.failures.push(format!("EXERCISED lists {listed:?} but the test exercised {exercised:?}"));
    }

    assert!(c.failures.is_empty(), "the server and the OpenAPI document disagree:\n  {}", c.failures.join("\n  "));
}

#[tokio::test]
async fn the_document_lists_exactly_the_exercised_operations_and_every_api_route() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if HTTP_METHODS.contains(&method.as_str()) {
                documented.insert((path.clone(), method.clone()));
            }
        }
    }
    let exercised: BTreeSet<(String, String)> = EXERCISED.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect();
    assert_eq!(
        documented, exercised,
        "every documented operation is exercised by every_documented_operation_answers_as_documented, and nothing else"
    );

    // The routes the server registers for the API (and /healthz), from its own route table: exactly the
    // documented operations.
    let routes: BTreeSet<(String, String)> = haveyoursay::web::routes::table()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") || r.path == "/healthz")
        .map(|r| (r.path.to_string(), r.method.as_str().to_ascii_lowercase()))
        .collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(undocumented.is_empty(), "the server routes these, which the document does not describe: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(unrouted.is_empty(), "the document describes these, which the server does not route: {unrouted:?}");

    // Each operation that needs a token says so, and only those: the route table's rule is the truth.
    for r in haveyoursay::web::routes::table().into_iter().filter(|r| r.path.starts_with("/api/")) {
        let operation = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
        let security = operation["security"].as_array().cloned().unwrap_or_default();
        let needs_token = matches!(r.access, haveyoursay::web::routes::Access::Api(_));
        let optional = security.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()));
        let bearer = security.iter().any(|s| s.get("bearer").is_some());
        assert_eq!(needs_token, bearer && !optional, "{} {}: security {security:?}", r.method, r.path);
        if needs_token {
            assert!(operation["responses"].get("403").is_some(), "{} {} documents 403", r.method, r.path);
        }
        assert!(operation["responses"].get("401").is_some(), "{} {} documents 401", r.method, r.path);
    }
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer", "{}", doc["components"]);
}

#[test]
fn the_pattern_matcher_matches_the_documents_patterns() {
    let reference = "^HYS-[2-9A-Z]{4}-[2-9A-Z]{4}$";
    for (text, ok) in [
        ("HYS-7KQ3-M9XP", true),
        ("HYS-2222-ZZZZ", true),
        ("HYS-7KQ3-M9X", false),
        ("HYS-7KQ3-M9XPQ", false),
        ("HYS-7KQ1-M9XP", false),
        ("HYS-7kQ3-M9XP", false),
        ("XHYS-7KQ3-M9XP", false),
        ("HYS_7KQ3-M9XP", false),
        ("", false),
    ] {
        assert_eq!(pattern::is_match(reference, text), Ok(ok), "{text}");
    }
    let key = "^[a-z0-9_]+$";
    for (text, ok) in [
        ("support_closer_working", true),
        ("a", true),
        ("q1", true),
        ("", false),
        ("Agree", false),
        ("a-b", false),
        ("a b", false),
    ] {
        assert_eq!(pattern::is_match(key, text), Ok(ok), "{text}");
    }
    assert_eq!(pattern::is_match("b+c", "abbbcd"), Ok(true), "an unanchored pattern matches anywhere");
    assert_eq!(pattern::is_match("^a{2,3}$", "aaaa"), Ok(false));
    assert!(pattern::is_match("^(a|b)$", "a").is_err(), "groups are refused, not guessed at");
    assert!(pattern::is_match("^\\d+$", "1").is_err());
}

/// Schemas of the shapes utoipa writes, for testing the checker apart from the document it checks.
fn fixture() -> Value {
    json!({"components": {"schemas": {
        "Reference": {"type": "object", "required": ["reference"],
            "properties": {"reference": {"type": "string", "pattern": "^HYS-[2-9A-Z]{4}-[2-9A-Z]{4}$"}}},
        "Phase": {"type": "string", "enum": ["forthcoming", "open", "closed"]},
        "Summary": {"type": "object", "description": "A summary", "required": ["slug", "status", "opens_at"],
            "properties": {
                "slug": {"type": "string", "maxLength": 80},
                "status": {"$ref": "#/components/schemas/Phase", "description": "Where it stands"},
                "opens_at": {"type": ["string", "null"], "format": "date-time"},
                "count": {"type": "integer", "format": "int32", "minimum": 0}}},
        "Text": {"oneOf": [{"type": "string"}, {"type": "object", "required": ["en"], "additionalProperties": false,
            "properties": {"en": {"type": "string"}, "cy": {"type": ["string", "null"]}}}]},
        "Detail": {"allOf": [{"$ref": "#/components/schemas/Summary"}, {"type": "object", "required": ["version"],
            "properties": {
                "version": {"type": "integer", "format": "int64"},
                "hint": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Text"}]},
                "child": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Reference"}]}}}]},
        "Body": {"type": "object", "required": ["answers"], "additionalProperties": false, "properties": {
            "answers": {"type": "object", "propertyNames": {"type": "string", "pattern": "^[a-z_]+$"},
                "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "integer", "format": "int64"},
                    {"type": "array", "items": {"type": "string"}}, {"type": "null"}]}}}},
        "Interval": {"type": ["array", "null"], "items": {"type": "number", "format": "double"},
            "minItems": 2, "maxItems": 2},
    }}})
}

#[test]
fn the_schema_checker_finds_what_is_wrong() {
    let doc = fixture();
    let check = |name: &str, v: Value| {
        schema::validate(&doc, &json!({"$ref": format!("#/components/schemas/{name}")}), "#", &v)
    };
    let undeclared = |name: &str, v: &Value| {
        schema::undeclared(&doc, &json!({"$ref": format!("#/components/schemas/{name}")}), v, "")
    };
    let none = Vec::<String>::new();

    assert_eq!(check("Reference", json!({"reference": "HYS-7KQ3-M9XP"})), none);
    let errors = check("Reference", json!({"reference": "HYS-7KQ3"}));
    assert!(errors.len() == 1 && errors[0].contains("/reference") && errors[0].contains("pattern"), "{errors:?}");
    assert_eq!(check("Reference", json!({})).len(), 1);

    // $ref beside an annotation, type lists, formats and minimum.
    let summary = json!({"slug": "s", "status": "open", "opens_at": "2027-01-01T00:00:00Z", "count": 3});
    assert_eq!(check("Summary", summary.clone()), none);
    assert_eq!(check("Summary", json!({"slug": "s", "status": "closed", "opens_at": null})), none);
    let mut bad = summary.clone();
    bad["status"] = json!("draft");
    bad["opens_at"] = json!("1 January 2027");
    bad["count"] = json!(-1);
    bad["slug"] = json!("x".repeat(81));
    let errors = check("Summary", bad);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("at /status (schema #/components/schemas/Phase/enum)")), "{errors:?}");
    for (count, ok) in [(json!(2147483647), true), (json!(2147483648_i64), false), (json!(1.5), false)] {
        let mut s = summary.clone();
        s["count"] = count.clone();
        assert_eq!(check("Summary", s).is_empty(), ok, "count {count}");
    }
    let mut s = summary.clone();
    s["opens_at"] = json!(5);
    assert_eq!(check("Summary", s).len(), 1, "a format does not apply to another type, but the type does");

    // allOf: both halves apply; oneOf: exactly one branch, nullable references included.
    let mut detail = summary.clone();
    detail["version"] = json!(1);
    assert_eq!(check("Detail", detail.clone()), none);
    for (hint, ok) in [
        (json!(null), true),
        (json!("Plain English"), true),
        (json!({"en": "English", "cy": "Cymraeg"}), true),
        (json!({"en": "English", "cy": null}), true),
        (json!({"cy": "Cymraeg"}), false),
        (json!({"en": "English", "fr": "Français"}), false),
        (json!(3), false),
    ] {
        let mut d = detail.clone();
        d["hint"] = hint.clone();
        assert_eq!(check("Detail", d).is_empty(), ok, "hint {hint}");
    }
    let mut d = detail.clone();
    d["version"] = json!(1.5);
    d.as_object_mut().unwrap().remove("slug");
    assert_eq!(check("Detail", d).len(), 2);

    // additionalProperties (false, and a schema); propertyNames; "integer" is not 2.5.
    assert_eq!(check("Body", json!({"answers": {"a": "x", "b": 3, "c": ["x"], "d": null}})), none);
    assert_eq!(check("Body", json!({"answers": {}, "extra": 1})).len(), 1);
    assert_eq!(check("Body", json!({"answers": {"a": 2.5, "b": [1], "c": {}}})).len(), 3);
    assert_eq!(check("Body", json!({"answers": {"Not-A-Key": "x"}})).len(), 1);

    // minItems/maxItems, and a nullable array.
    assert_eq!(check("Interval", json!([1.0, 2.5])), none);
    assert_eq!(check("Interval", json!(null)), none);
    assert_eq!(check("Interval", json!([1.0, 2.0, 3.0])).len(), 1);
    assert_eq!(check("Interval", json!([1.0])).len(), 1);

    // A property the schema does not declare is allowed by JSON Schema, and reported apart: through $ref,
    // allOf and the oneOf branch that matches.
    let extra = json!({"reference": "HYS-7KQ3-M9XP", "receipt": 1});
    assert_eq!(check("Reference", extra.clone()), none);
    assert_eq!(undeclared("Reference", &extra).len(), 1);
    let mut d = detail.clone();
    d["placeholder"] = json!("x");
    d["child"] = extra;
    let found = undeclared("Detail", &d);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|f| f.starts_with("at /placeholder")), "{found:?}");
    assert!(found.iter().any(|f| f.starts_with("at /child/receipt")), "{found:?}");
    assert_eq!(undeclared("Body", &json!({"answers": {"anything": 1}})), none);

    // Lengths, const, and keywords or formats the checker does not know.
    let s = json!({"type": "string", "minLength": 1, "maxLength": 2});
    assert_eq!(schema::validate(&doc, &s, "#", &json!("")).len(), 1);
    assert_eq!(schema::validate(&doc, &s, "#", &json!("éé")), none);
    assert_eq!(schema::validate(&doc, &json!({"const": "ok"}), "#", &json!("no")).len(), 1);
    assert_eq!(schema::validate(&doc, &json!({"maximum": 1}), "#", &json!(2)).len(), 1);
    let unknown = schema::validate(&doc, &json!({"multipleOf": 2}), "#", &json!(2));
    assert_eq!(unknown.len(), 1, "an unknown keyword is reported: {unknown:?}");
    let unknown = schema::validate(&doc, &json!({"format": "uuid"}), "#", &json!("x"));
    assert_eq!(unknown.len(), 1, "an unknown format is reported: {unknown:?}");
}
