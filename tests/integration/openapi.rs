//! The OpenAPI document against the server, as DESIGN.md's "Interfaces that other tools rely on" requires: every
//! documented operation is exercised, every status the server answers with must be documented for that operation,
//! the Content-Type must be the documented media type, and the body must validate against the documented schema
//! for that status. A small JSON Schema checker below covers the keywords the document uses and refuses any it
//! does not know, so a new keyword cannot quietly go unchecked. Beyond JSON Schema, a response may not carry a
//! property its schema does not declare (where the schema lists its properties and says nothing of others), so
//! a field added to the server but not to the document is caught too.
//!
//! The 503 responses (database down, submission queue full) are documented but not produced here: they need the
//! database taken away or the writer saturated mid-test, which this suite has no switch for. They are the only
//! documented statuses left out of the coverage check.

use crate::helpers::{spawn_app, TestApp, CLOSED, IRMP, NORTHSHIRE_FIRE};
use haveyoursay::domain::answers::canonical_json;
use haveyoursay::domain::questionnaire::Questionnaire;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// The document as the server embeds it.
const DOCUMENT: &str = include_str!("../../src/web/api/openapi.json");

/// Every operation `every_documented_operation_answers_as_documented` exercises, as (path template, method).
/// `the_document_lists_exactly_the_exercised_operations_and_every_api_route` holds this to the document.
const EXERCISED: &[(&str, &str)] = &[
    ("/healthz", "get"),
    ("/api/openapi.json", "get"),
    ("/api/v1/consultations", "get"),
    ("/api/v1/consultations/{slug}", "get"),
    ("/api/v1/consultations/{slug}/definition", "get"),
    ("/api/v1/consultations/{slug}/responses", "post"),
    ("/api/v1/consultations/{slug}/results", "get"),
    ("/api/v1/consultations/{slug}/results/stream", "get"),
];

/// Documented statuses that are not produced (see the module comment).
const NOT_PRODUCED: &[&str] = &["503"];

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

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
        let views = views(root, schema, 0);
        let mut found = Vec::new();
        match instance {
            Value::Object(obj) => {
                let open = views.iter().any(|v| v.get("additionalProperties").is_some());
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

    /// `schema` with its `$ref`s followed and its `allOf`s spread out.
    fn views<'a>(root: &'a Value, schema: &'a Value, depth: usize) -> Vec<&'a Value> {
        if depth > 64 {
            return vec![];
        }
        let mut all = vec![schema];
        if let Some(target) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            all.extend(root.pointer(target).map(|t| views(root, t, depth + 1)).unwrap_or_default());
        }
        for sub in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            all.extend(views(root, sub, depth + 1));
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
                    "format" => {
                        if let Some(text) = v.as_str() {
                            match s.as_str() {
                                Some("date-time") => {
                                    if let Err(e) = chrono::DateTime::parse_from_rfc3339(text) {
                                        self.fail(at, &sk, format!("{text:?} is not an RFC 3339 date-time: {e}"));
                                    }
                                }
                                _ => self.fail(at, &sk, format!("the checker does not know the format {s}")),
                            }
                        }
                    }
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
    /// documented, the media type is the documented one, and the body validates against that status's schema.
    /// `data` is what the body schema is applied to (the body, or for an event stream, one event's data).
    /// Returns the body parsed as JSON when the documented media type is JSON.
    fn record(
        &mut self,
        (path, method): (&str, &str),
        expected: u16,
        status: u16,
        content_type: &str,
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
        let mut errors = schema::validate(&self.doc, &documented["schema"], &pointer, &instance);
        errors.extend(schema::undeclared(&self.doc, &documented["schema"], &instance, ""));
        self.failures.extend(errors.into_iter().map(|e| format!("{op}: {e}")));
        instance
    }

    async fn exchange(&mut self, operation: (&str, &str), expected: u16, r: reqwest::Response) -> Value {
        let status = r.status().as_u16();
        let content_type = content_type(&r);
        let body = r.text().await.expect("the body reads");
        self.record(operation, expected, status, &content_type, &body)
    }

    /// Checks a request body the test sends as valid against the documented request body schema.
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
        let errors = schema::validate(&self.doc, &schema, &pointer, body);
        self.failures.extend(
            errors
                .into_iter()
                .map(|e| format!("{} {path} request body the server accepts: {e}", method.to_uppercase())),
        );
    }

    /// A results stream: status and media type as for any answer; then the first event must be named `results`
    /// and its data must validate as `Results` (the stream's documented schema is only `type: string`, and its
    /// description says each event's data is a Results document).
    async fn stream(&mut self, slug: &str, expected: u16, app: &TestApp) {
        let operation = ("/api/v1/consultations/{slug}/results/stream", "get");
        let mut r =
            app.client.get(app.url(&format!("/api/v1/consultations/{slug}/results/stream"))).send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = content_type(&r);
        if status != 200 || !content_type.starts_with("text/event-stream") {
            self.exchange(operation, expected, r).await;
            return;
        }
        let (name, data) = first_event(&mut r).await;
        self.record(operation, expected, status, &content_type, &data);
        if name.as_deref() != Some("results") {
            self.failures
                .push(format!("GET {} (slug {slug}): the first event is named {name:?}, not \"results\"", operation.0));
        }
        match serde_json::from_str::<Value>(&data) {
            Ok(results) => {
                let results_schema = &self.doc["components"]["schemas"]["Results"];
                let mut errors = schema::validate(&self.doc, results_schema, "#/components/schemas/Results", &results);
                errors.extend(schema::undeclared(&self.doc, results_schema, &results, ""));
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

async fn post(app: &TestApp, slug: &str, key: Option<&str>, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{slug}/responses")))
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
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

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let app = spawn_app().await;
    create_officers_only(&app, "officers-only").await;

    // The document itself, as served: the same as the file, and an answer like any other.
    let r = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    let (status, served_type) = (r.status().as_u16(), content_type(&r));
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the served document is JSON");
    assert_eq!(doc, serde_json::from_str::<Value>(DOCUMENT).unwrap(), "the server serves the document in src/");
    let mut c = Conformance { doc, exercised: BTreeSet::new(), failures: Vec::new() };
    c.record(("/api/openapi.json", "get"), 200, status, &served_type, &text);

    let get = |path: String| app.client.get(app.url(&path)).send();
    c.exchange(("/healthz", "get"), 200, get("/healthz".into()).await.unwrap()).await;
    c.exchange(("/api/v1/consultations", "get"), 200, get("/api/v1/consultations".into()).await.unwrap()).await;

    let show = ("/api/v1/consultations/{slug}", "get");
    let mut questionnaires = Vec::new();
    for slug in [IRMP, CLOSED, "officers-only"] {
        let body = c.exchange(show, 200, get(format!("/api/v1/consultations/{slug}")).await.unwrap()).await;
        questionnaires.push(serde_json::from_value::<Questionnaire>(body).expect("the questionnaire reads"));
    }
    c.exchange(show, 404, get("/api/v1/consultations/no-such-consultation".into()).await.unwrap()).await;

    let submit = ("/api/v1/consultations/{slug}/responses", "post");
    let json_type = "application/json";
    let body = valid_body(&questionnaires[0], 1);
    c.request_body(submit, &body);
    let bytes = serde_json::to_vec(&body).unwrap();
    c.exchange(submit, 201, post(&app, IRMP, Some("openapi-1"), json_type, bytes.clone()).await).await;
    c.exchange(submit, 200, post(&app, IRMP, Some("openapi-1"), json_type, bytes.clone()).await).await;
    let other = valid_body(&questionnaires[0], 2);
    assert_ne!(other, body);
    c.request_body(submit, &other);
    let other = serde_json::to_vec(&other).unwrap();
    c.exchange(submit, 422, post(&app, IRMP, Some("openapi-1"), json_type, other).await).await;
    let invalid = br#"{"answers": {"support_closer_working": "not_an_option"}}"#.to_vec();
    c.exchange(submit, 422, post(&app, IRMP, Some("openapi-2"), json_type, invalid).await).await;
    c.exchange(submit, 400, post(&app, IRMP, None, json_type, bytes.clone()).await).await;
    let malformed = br#"{"answers": {"#.to_vec();
    c.exchange(submit, 400, post(&app, IRMP, Some("openapi-3"), json_type, malformed).await).await;
    let unknown = "no-such-consultation";
    c.exchange(submit, 404, post(&app, unknown, Some("openapi-4"), json_type, bytes.clone()).await).await;
    let closed = valid_body(&questionnaires[1], 3);
    c.request_body(submit, &closed);
    let closed = serde_json::to_vec(&closed).unwrap();
    c.exchange(submit, 409, post(&app, CLOSED, Some("openapi-5"), json_type, closed).await).await;
    let huge = format!(r#"{{"answers": {{"name": "{}"}}}}"#, "x".repeat(1024 * 1024)).into_bytes();
    c.exchange(submit, 413, post(&app, IRMP, Some("openapi-6"), json_type, huge).await).await;
    c.exchange(submit, 415, post(&app, IRMP, Some("openapi-7"), "text/plain", bytes.clone()).await).await;

    let results = ("/api/v1/consultations/{slug}/results", "get");
    for slug in [IRMP, CLOSED] {
        c.exchange(results, 200, get(format!("/api/v1/consultations/{slug}/results")).await.unwrap()).await;
    }
    c.exchange(results, 403, get("/api/v1/consultations/officers-only/results".into()).await.unwrap()).await;
    c.exchange(results, 404, get("/api/v1/consultations/no-such-consultation/results".into()).await.unwrap()).await;

    for (slug, status) in [(IRMP, 200), (CLOSED, 200), ("officers-only", 403), ("no-such-consultation", 404)] {
        c.stream(slug, status, &app).await;
    }

    // The officers' API, with tokens: the definition, draft or published.
    let definition = ("/api/v1/consultations/{slug}/definition", "get");
    app.add_user("analyst@example.org", "analyst", Some(NORTHSHIRE_FIRE)).await;
    app.add_user("cabinet@example.org", "cabinet", Some(NORTHSHIRE_FIRE)).await;
    let analyst = app.token_for("analyst@example.org").await;
    let cabinet = app.token_for("cabinet@example.org").await;
    app.add_user("admin@example.org", "admin", None).await;
    let admin = app.token_for("admin@example.org").await;
    let with_token = |slug: &str, token: Option<&str>| {
        let mut request = app.client.get(app.url(&format!("/api/v1/consultations/{slug}/definition")));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    // The closed one is the county council's: an admin's token sees it.
    for (slug, token) in [(IRMP, &analyst), (CLOSED, &admin)] {
        c.exchange(definition, 200, with_token(slug, Some(token)).await.unwrap()).await;
    }
    c.exchange(definition, 401, with_token(IRMP, None).await.unwrap()).await;
    c.exchange(definition, 401, with_token(IRMP, Some("hys_not-a-token")).await.unwrap()).await;
    c.exchange(definition, 403, with_token(IRMP, Some(&cabinet)).await.unwrap()).await;
    c.exchange(definition, 404, with_token("officers-only", Some(&analyst)).await.unwrap()).await;
    c.exchange(definition, 404, with_token("no-such-consultation", Some(&analyst)).await.unwrap()).await;

    // Every documented status of every operation was produced, but those that cannot be (see the module comment).
    let mut documented = BTreeSet::new();
    for (path, item) in c.doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap().iter().filter(|(m, _)| HTTP_METHODS.contains(&m.as_str()))
        {
            for status in operation["responses"].as_object().unwrap().keys() {
                if !NOT_PRODUCED.contains(&status.as_str()) {
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

#[test]
fn the_document_lists_exactly_the_exercised_operations_and_every_api_route() {
    let doc: Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
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

    // The routes the server registers for the API (and /healthz), from its own route table: each must be
    // documented.
    let routes: Vec<(String, String)> = haveyoursay::web::routes::table()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") || r.path == "/healthz")
        .map(|r| (r.path.to_string(), r.method.as_str().to_ascii_lowercase()))
        .collect();
    assert!(routes.len() >= documented.len(), "the route table has too few API routes: {routes:?}");
    for route in &routes {
        assert!(
            documented.contains(route),
            "the server routes {} {} but the document does not describe it",
            route.1,
            route.0
        );
    }
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

#[test]
fn the_schema_checker_finds_what_is_wrong() {
    let doc: Value = serde_json::from_str(DOCUMENT).unwrap();
    let check = |name: &str, v: Value| {
        schema::validate(&doc, &json!({"$ref": format!("#/components/schemas/{name}")}), "#", &v)
    };

    assert_eq!(check("Reference", json!({"reference": "HYS-7KQ3-M9XP"})), Vec::<String>::new());
    let errors = check("Reference", json!({"reference": "HYS-7KQ3"}));
    assert!(errors.len() == 1 && errors[0].contains("/reference") && errors[0].contains("pattern"), "{errors:?}");
    assert_eq!(check("Reference", json!({})).len(), 1);

    let summary =
        json!({"slug": "s", "title": "t", "status": "open", "opens_at": "2027-01-01T00:00:00Z", "closes_at": null});
    assert_eq!(check("ConsultationSummary", summary.clone()), Vec::<String>::new());
    let mut bad = summary.clone();
    bad["status"] = json!("draft");
    bad["opens_at"] = json!("1 January 2027");
    bad["closes_at"] = json!(5);
    let errors = check("ConsultationSummary", bad);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("at /status (schema #/components/schemas/Phase/enum)")), "{errors:?}");

    // allOf: both halves of a Questionnaire apply.
    let mut q = summary.clone();
    q["summary"] = json!("s");
    q["version"] = json!(1);
    q["sections"] = json!([]);
    q["routing"] = json!([]);
    assert_eq!(check("Questionnaire", q.clone()), Vec::<String>::new());
    q["version"] = json!(1.5);
    q.as_object_mut().unwrap().remove("slug");
    assert_eq!(check("Questionnaire", q).len(), 2);

    // additionalProperties (false, and a oneOf schema); oneOf needs exactly one match; "integer" is not 2.5.
    assert_eq!(
        check("ResponseBody", json!({"answers": {"a": "x", "b": 3, "c": ["x"], "d": null}})),
        Vec::<String>::new()
    );
    assert_eq!(check("ResponseBody", json!({"answers": {}, "extra": 1})).len(), 1);
    assert_eq!(check("ResponseBody", json!({"answers": {"a": 2.5, "b": [1], "c": {}}})).len(), 3);

    // minItems/maxItems and list types.
    let option = json!({"key": "a", "label": "A", "count": 1, "percent": 50.0, "ci95": [1.0, 2.0]});
    assert_eq!(check("OptionResult", option.clone()), Vec::<String>::new());
    let mut three = option.clone();
    three["ci95"] = json!([1.0, 2.0, 3.0]);
    assert_eq!(check("OptionResult", three).len(), 1);
    let mut none = option;
    none["ci95"] = Value::Null;
    none["percent"] = Value::Null;
    assert_eq!(check("OptionResult", none), Vec::<String>::new());

    // A property the schema does not declare is allowed by JSON Schema, and reported apart.
    let extra = json!({"reference": "HYS-7KQ3-M9XP", "receipt": 1});
    assert_eq!(check("Reference", extra.clone()), Vec::<String>::new());
    let reference = json!({"$ref": "#/components/schemas/Reference"});
    assert_eq!(schema::undeclared(&doc, &reference, &extra, "").len(), 1);
    let mut q = summary.clone();
    q["summary"] = json!("s");
    q["version"] = json!(1);
    q["routing"] = json!([]);
    q["sections"] = json!([{"key": "s", "title": "S", "questions": [{"key": "q", "kind": "date", "prompt": "P",
        "required": false, "options": [], "placeholder": "x"}]}]);
    let questionnaire = json!({"$ref": "#/components/schemas/Questionnaire"});
    let found = schema::undeclared(&doc, &questionnaire, &q, "");
    assert_eq!(found.len(), 1, "properties declared in either half of an allOf count: {found:?}");
    assert!(found[0].starts_with("at /sections/0/questions/0/placeholder"), "{found:?}");
    let body = json!({"$ref": "#/components/schemas/ResponseBody"});
    assert_eq!(schema::undeclared(&doc, &body, &json!({"answers": {"anything": 1}}), ""), Vec::<String>::new());

    // Lengths, const, and keywords the checker does not know.
    let s = json!({"type": "string", "minLength": 1, "maxLength": 2});
    assert_eq!(schema::validate(&doc, &s, "#", &json!("")).len(), 1);
    assert_eq!(schema::validate(&doc, &s, "#", &json!("éé")), Vec::<String>::new());
    assert_eq!(schema::validate(&doc, &json!({"const": "ok"}), "#", &json!("no")).len(), 1);
    assert_eq!(
        schema::validate(&doc, &json!({"minimum": 1}), "#", &json!(2)).len(),
        1,
        "an unknown keyword is reported"
    );
}
