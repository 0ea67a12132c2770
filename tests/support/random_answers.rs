//! Random but *valid* response bodies for a questionnaire (format: see the questionnaire JSON
//! format; the same JSON that `GET /api/v1/consultations/{slug}` returns).
//!
//! Included by path from the load generator and from the integration tests:
//! `#[path = "../support/random_answers.rs"] mod random_answers;`
//!
//! Rules followed:
//! - sections and questions are walked in order; routing rules are evaluated against the answers
//!   given so far (rules only reference earlier questions). A section is shown when every rule
//!   targeting it allows it; a question is shown when its section is shown and every rule
//!   targeting it allows it. A condition holds when the referenced question has an answer (so
//!   it was shown and not skipped) that is, or for a list contains, one of `any_of`.
//! - shown required questions are always answered, shown optional questions with probability
//!   [`OPTIONAL_ANSWER_PROBABILITY`], questions that are not shown never.
//!   (A question without a `required` field is treated as required: answering is always valid.)
//! - choosing an option flagged `"other": true` adds a `"<question key>.other"` text.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde_json::{json, Map, Value};

/// Probability that a shown, optional question gets an answer.
pub const OPTIONAL_ANSWER_PROBABILITY: f64 = 0.7;

/// Bias for one `single_choice` / `scale` question: `(question key, [(option key, weight), ...])`.
/// The option is drawn with probability `weight / sum of weights`; options that are not listed
/// are never chosen. Example: `("support_closer", &[("strongly_agree", 60), ("agree", 37),
/// ("disagree", 3)])`.
pub type Bias<'a> = (&'a str, &'a [(&'a str, u32)]);

/// `{"answers": {...}}`: a uniformly random valid response to `questionnaire`.
#[allow(dead_code)]
pub fn random_answers<R: Rng + ?Sized>(questionnaire: &Value, rng: &mut R) -> Value {
    random_answers_weighted(questionnaire, rng, &[])
}

/// Like [`random_answers`], but the listed `single_choice` / `scale` questions draw their option
/// from the given weights (see [`Bias`]). Panics if a biased question does not exist, is not a
/// `single_choice` / `scale` question, or names an unknown option.
#[allow(dead_code)]
pub fn random_answers_weighted<R: Rng + ?Sized>(questionnaire: &Value, rng: &mut R, biases: &[Bias<'_>]) -> Value {
    let sections = questionnaire["sections"].as_array().expect("questionnaire has no `sections` array");
    let no_rules = Vec::new();
    let rules = questionnaire["routing"].as_array().unwrap_or(&no_rules);

    for (qkey, _) in biases {
        let found =
            sections.iter().flat_map(|s| s["questions"].as_array().into_iter().flatten()).any(|q| q["key"] == *qkey);
        assert!(found, "bias for unknown question {qkey:?}");
    }

    let mut answers = Map::new();
    for section in sections {
        let section_key = section["key"].as_str().expect("section without `key`");
        if !allowed_by_routing(rules, "section", section_key, &answers) {
            continue;
        }
        for question in section["questions"].as_array().into_iter().flatten() {
            let key = question["key"].as_str().expect("question without `key`");
            if !allowed_by_routing(rules, "question", key, &answers) {
                continue;
            }
            let required = question["required"].as_bool().unwrap_or(true);
            if !required && !rng.random_bool(OPTIONAL_ANSWER_PROBABILITY) {
                continue;
            }
            let bias = biases.iter().find(|(k, _)| *k == key).map(|(_, w)| *w);
            answer_question(question, bias, rng, &mut answers);
        }
    }
    json!({ "answers": answers })
}

/// True when every routing rule targeting (`target`, `key`) allows it to be shown.
fn allowed_by_routing(rules: &[Value], target: &str, key: &str, answers: &Map<String, Value>) -> bool {
    rules.iter().filter(|rule| rule["target"] == target && rule["key"] == key).all(|rule| {
        let holds = condition_holds(&rule["when"], answers);
        match rule["action"].as_str() {
            Some("show") => holds,
            Some("skip") => !holds,
            other => panic!("routing rule for {target} {key:?}: unknown action {other:?}"),
        }
    })
}

/// The referenced question has an answer (hence was shown) that is, or contains, one of `any_of`.
fn condition_holds(when: &Value, answers: &Map<String, Value>) -> bool {
    let question = when["question"].as_str().expect("routing condition without `question`");
    let any_of: Vec<&str> = when["any_of"]
        .as_array()
        .expect("routing condition without `any_of`")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match answers.get(question) {
        Some(Value::String(answer)) => any_of.contains(&answer.as_str()),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(|answer| any_of.contains(&answer)),
        _ => false, // not shown, skipped, or not a choice answer
    }
}

fn option_key(option: &Value) -> &str {
    option["key"].as_str().expect("option without `key`")
}

fn flag(option: &Value, name: &str) -> bool {
    option[name].as_bool().unwrap_or(false)
}

/// Inserts the answer to one shown question (plus `"<key>.other"` when an "other" option is chosen).
fn answer_question<R: Rng + ?Sized>(
    question: &Value,
    bias: Option<&[(&str, u32)]>,
    rng: &mut R,
    answers: &mut Map<String, Value>,
) {
    let key = question["key"].as_str().expect("question without `key`");
    let kind = question["kind"].as_str().expect("question without `kind`");
    let no_options = Vec::new();
    let options = question["options"].as_array().unwrap_or(&no_options);
    assert!(
        bias.is_none() || matches!(kind, "single_choice" | "scale"),
        "bias for question {key:?} of kind {kind:?}: only single_choice / scale can be biased"
    );

    let (value, chose_other) = match kind {
        "single_choice" | "scale" => {
            let option = match bias {
                Some(weights) => weighted_choice(key, options, weights, rng),
                None => options.choose(rng).unwrap_or_else(|| panic!("question {key:?} has no options")),
            };
            (json!(option_key(option)), flag(option, "other"))
        }
        "multiple_choice" => {
            let chosen = multiple_choice(question, key, options, rng);
            let chose_other = chosen.iter().any(|o| flag(o, "other"));
            let keys: Vec<&str> = chosen.into_iter().map(option_key).collect();
            (json!(keys), chose_other)
        }
        "ranking" => {
            assert!(!options.is_empty(), "question {key:?} has no options");
            let mut order: Vec<&Value> = options.iter().collect();
            order.shuffle(rng);
            let keys: Vec<&str> = order.into_iter().map(option_key).collect();
            // Every option is part of a ranking, so an "other" option counts as chosen.
            (json!(keys), options.iter().any(|o| flag(o, "other")))
        }
        "short_text" => (json!(random_text(rng, max_length(question, 200), 8)), false),
        "long_text" => (json!(random_text(rng, max_length(question, 5000), 40)), false),
        "number" => {
            let (lo, hi) = match (question["min"].as_i64(), question["max"].as_i64()) {
                (Some(lo), Some(hi)) => (lo, hi),
                (Some(lo), None) => (lo, lo.max(100)),
                (None, Some(hi)) => (hi.min(0), hi),
                (None, None) => (0, 100),
            };
            assert!(lo <= hi, "question {key:?}: min {lo} > max {hi}");
            (json!(rng.random_range(lo..=hi)), false)
        }
        "date" => (json!(random_date(rng)), false),
        other => panic!("question {key:?}: unsupported kind {other:?}"),
    };

    answers.insert(key.to_owned(), value);
    if chose_other {
        answers.insert(format!("{key}.other"), json!(random_text(rng, 200, 5)));
    }
}

/// Options for a multiple-choice answer, in questionnaire order: either one exclusive option
/// alone, or between `min_selections` (default 1) and `max_selections` (default: all)
/// non-exclusive options.
fn multiple_choice<'a, R: Rng + ?Sized>(
    question: &Value,
    key: &str,
    options: &'a [Value],
    rng: &mut R,
) -> Vec<&'a Value> {
    let (exclusive, normal): (Vec<&Value>, Vec<&Value>) = options.iter().partition(|o| flag(o, "exclusive"));
    let min = question["min_selections"].as_u64().map_or(1, |n| n as usize).max(1);
    let max = question["max_selections"].as_u64().map_or(normal.len(), |n| n as usize).min(normal.len());
    let normal_possible = min <= max;
    // An exclusive option ("None of these") alone: sometimes, when a single selection is enough,
    // or always when the non-exclusive options cannot satisfy min/max.
    let use_exclusive = !exclusive.is_empty() && (!normal_possible || (min <= 1 && rng.random_bool(0.1)));
    if use_exclusive {
        return vec![*exclusive.choose(rng).unwrap()];
    }
    assert!(normal_possible, "question {key:?}: cannot choose between {min} and {max} of {} options", normal.len());
    let count = rng.random_range(min..=max);
    let mut indices: Vec<usize> = (0..normal.len()).collect();
    indices.shuffle(rng);
    indices.truncate(count);
    indices.sort_unstable();
    indices.into_iter().map(|i| normal[i]).collect()
}

fn weighted_choice<'a, R: Rng + ?Sized>(
    key: &str,
    options: &'a [Value],
    weights: &[(&str, u32)],
    rng: &mut R,
) -> &'a Value {
    let total: u64 = weights.iter().map(|&(_, w)| u64::from(w)).sum();
    assert!(total > 0, "bias for question {key:?}: weights sum to 0");
    let mut ticket = rng.random_range(0..total);
    for &(option, weight) in weights {
        if ticket < u64::from(weight) {
            return options
                .iter()
                .find(|o| o["key"] == option)
                .unwrap_or_else(|| panic!("bias for question {key:?}: unknown option {option:?}"));
        }
        ticket -= u64::from(weight);
    }
    unreachable!("ticket below total weight")
}

fn max_length(question: &Value, default: usize) -> usize {
    question["max_length"].as_u64().map_or(default, |n| n as usize)
}

const WORDS: &[&str] = &[
    "fire",
    "station",
    "crew",
    "response",
    "time",
    "rural",
    "village",
    "town",
    "safety",
    "smoke",
    "alarm",
    "flood",
    "road",
    "traffic",
    "collision",
    "rescue",
    "training",
    "volunteer",
    "on-call",
    "budget",
    "council",
    "tax",
    "community",
    "school",
    "visit",
    "prevention",
    "home",
    "check",
    "ambulance",
    "police",
    "partner",
    "cover",
    "night",
    "weekend",
    "engine",
    "water",
    "risk",
    "plan",
    "consultation",
    "agree",
    "concern",
    "support",
    "local",
    "resilience",
    "café",
    "naïve",
    "Llanelli",
    "Ynys Môn",
    "well",
    "done",
];

/// 1..=`max_words` random words separated by spaces; at most `max_length` characters (not bytes),
/// never empty or blank.
fn random_text<R: Rng + ?Sized>(rng: &mut R, max_length: usize, max_words: usize) -> String {
    let max_length = max_length.max(1);
    let words = rng.random_range(1..=max_words.max(1));
    let mut text = String::new();
    let mut chars = 0;
    for _ in 0..words {
        let word = WORDS.choose(rng).unwrap();
        let needed = word.chars().count() + usize::from(!text.is_empty());
        if chars + needed > max_length {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
        chars += needed;
    }
    if text.is_empty() {
        // Not even one word fits: a prefix of "yes" (1..=3 characters).
        text = "yes".chars().take(max_length).collect();
    }
    text
}

/// "YYYY-MM-DD" between 1950-01-01 and 2025-12-31.
fn random_date<R: Rng + ?Sized>(rng: &mut R) -> String {
    let year: u32 = rng.random_range(1950..=2025);
    let month: u32 = rng.random_range(1..=12);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let day: u32 = rng.random_range(1..=days);
    format!("{year:04}-{month:02}-{day:02}")
}
