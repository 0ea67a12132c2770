//! The demo: the fire and rescue service's IRMP consultation (open, public live results, a few hundred
//! generated responses with about 97% support on the headline question) and a closed library consultation
//! with "We asked, you said, we did", published as officers publish results. Responses go through the real
//! submission path.

use crate::db::{self, Pool};
use crate::domain::answers::{Answer, Answers, Value};
use crate::domain::definition::Definition;
use crate::domain::questionnaire::{Kind, Question, Questionnaire};
use crate::domain::{routing, validation};
use crate::models::{self, consultation, organisation, response::Channel, version};
use crate::submissions::{Options, Outcome, Submission, Submitter};
use anyhow::{bail, Context};
use chrono::{Duration, NaiveDate};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use std::sync::Arc;

/// A demo file: a definition, with what was decided for the closed one.
#[derive(Deserialize)]
struct DemoFile {
    #[serde(flatten)]
    definition: Definition,
    organisation: String,
    outcome: Option<String>,
}

struct Plan {
    source: &'static str,
    responses: usize,
    /// Option weights for one question, to give the headline figure its shape.
    bias: (&'static str, &'static [(&'static str, u32)]),
    closed: bool,
}

const PLANS: [Plan; 2] = [
    Plan {
        source: include_str!("demo/irmp.json"),
        responses: 420,
        // About 97% of those answering agree or strongly agree.
        bias: (
            "support_closer_working",
            &[
                ("strongly_agree", 590),
                ("agree", 380),
                ("neither", 12),
                ("disagree", 8),
                ("strongly_disagree", 6),
                ("dont_know", 4),
            ],
        ),
        closed: false,
    },
    Plan { source: include_str!("demo/closed.json"), responses: 240, bias: ("", &[]), closed: true },
];

/// The slugs of the demo consultations, with whether each was loaded now (or was there already).
pub type Loaded = Vec<(String, bool)>;

pub fn describe(loaded: &Loaded) -> String {
    let parts: Vec<String> = loaded
        .iter()
        .map(|(slug, new)| format!("{slug} ({})", if *new { "loaded" } else { "already present" }))
        .collect();
    format!("demo consultations: {}", parts.join(", "))
}

/// Loads each demo consultation that is absent. Deterministic: the same responses every time. Runs under the
/// start-up lock, so that instances starting together on one database load it once.
pub fn load(pool: &Pool, zone: chrono_tz::Tz) -> anyhow::Result<Loaded> {
    let mut lock = pool.get()?;
    db::with_startup_lock(&mut lock, |_| load_absent(pool, zone))
}

fn load_absent(pool: &Pool, zone: chrono_tz::Tz) -> anyhow::Result<Loaded> {
    let submitter = Submitter::start(
        pool.clone(),
        Options::new(1, 10_000, zone, crate::live::Notifier::default(), Default::default()),
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut loaded = Vec::new();
    for (n, plan) in PLANS.iter().enumerate() {
        let file: DemoFile = serde_json::from_str(plan.source).context("a demo definition does not parse")?;
        let def = file.definition;
        let slug = def.slug.clone();
        let mut conn = pool.get()?;
        if consultation::find_by_slug(&mut conn, &slug)?.is_some() {
            loaded.push((slug, false));
            continue;
        }
        if let Err(problems) = def.content.questionnaire.check() {
            bail!("the demo questionnaire {slug} is invalid: {}", problems.join("; "));
        }
        let now = models::now();
        let (id, version_id) = db::write(&mut conn, |conn| -> anyhow::Result<(i64, i64)> {
            let organisation = organisation::find_or_create(conn, &file.organisation)?;
            let id = consultation::insert(
                conn,
                &consultation::NewConsultation {
                    organisation_id: organisation.id,
                    slug: &def.slug,
                    opens_at: (now - Duration::days(21)).date().and_hms_opt(9, 0, 0),
                    closes_at: (now + Duration::days(70)).date().and_hms_opt(23, 59, 0),
                    results_visibility: &def.results_visibility,
                    outcome: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok((id, version::publish_content(conn, id, &def.content)?))
        })?;
        drop(conn);
        let live = Arc::new(version::load(&mut *pool.get()?, version_id)?);
        let q = &live.content.questionnaire;
        let mut rng = rand::rngs::StdRng::seed_from_u64(2027 + n as u64);
        let submissions: Vec<Submission> = (0..plan.responses)
            .map(|i| Submission {
                consultation_id: id,
                version: live.clone(),
                channel: if i % 9 == 0 { Channel::Paper } else { Channel::Online },
                entered_by: None,
                idempotency_key: format!("demo:{i}"),
                answers: random_answers(q, &mut rng, plan.bias.0, plan.bias.1),
                journey: None,
                receipt: None,
                respondent: None,
            })
            .collect();
        // All at once, so that group commit stores them in a few transactions.
        let outcomes =
            runtime.block_on(futures_util::future::join_all(submissions.into_iter().map(|s| submitter.submit(s))));
        for outcome in outcomes {
            if !matches!(outcome, Ok(Outcome::Created { .. })) {
                bail!("a demo response was not stored: {outcome:?}");
            }
        }
        if plan.closed {
            close_in_the_past(pool, id)?;
            let outcome = file.outcome.as_deref().context("the closed demo says what was decided")?;
            let mut conn = pool.get()?;
            let c = consultation::find(&mut conn, id)?;
            // A demo consultation just loaded has nobody waiting for its results: no email, no link is made.
            let mail = crate::email::Mail::new("", crate::email::Wake::default());
            crate::workspace::publish_results(
                &mut conn,
                &models::audit::Actor::command_line(),
                &c,
                Some(outcome),
                &mail,
            )
            .map_err(|e| anyhow::anyhow!("the closed demo's results are not published: {e}"))?;
        }
        loaded.push((slug, true));
    }
    Ok(loaded)
}

/// Moves a demo consultation's dates into the past, as if it ran early in 2026.
fn close_in_the_past(pool: &Pool, id: i64) -> anyhow::Result<()> {
    use crate::db::schema::consultations::dsl;
    use diesel::prelude::*;
    let at = |m, d| NaiveDate::from_ymd_opt(2026, m, d).and_then(|d| d.and_hms_opt(9, 0, 0));
    diesel::update(dsl::consultations.find(id))
        .set((dsl::opens_at.eq(at(1, 12)), dsl::closes_at.eq(at(3, 8))))
        .execute(&mut pool.get()?)?;
    Ok(())
}

const PHRASES: [&str; 6] = [
    "Sharing stations makes sense if response times do not suffer.",
    "Please keep our local station staffed at night.",
    "Joint control rooms worked well elsewhere.",
    "More home safety visits for older people living alone.",
    "Make sure the money saved goes back into frontline services.",
    "I would like to see more water safety work near the river.",
];

/// A random response that is valid for `q` and follows its routing: every shown required question answered,
/// about 70% of shown optional ones. `bias` weights the options of the question named `biased`.
pub fn random_answers<R: Rng>(q: &Questionnaire, rng: &mut R, biased: &str, bias: &[(&str, u32)]) -> Answers {
    let mut answers = Answers::new();
    for question in q.questions() {
        if !routing::shown(q, &answers).question(&question.key) || (!question.required && !rng.random_bool(0.7)) {
            continue;
        }
        let value = if question.key == biased {
            let keys: Vec<&(&str, u32)> = bias.iter().collect();
            let pick = keys.choose_weighted(rng, |(_, w)| *w).map(|(k, _)| k.to_string()).unwrap_or_default();
            Value::Choice(pick)
        } else {
            random_value(question, rng)
        };
        let chose_other = question.other_option().is_some_and(|o| value.option_keys().contains(&o.key));
        let answer = Answer { value, other: chose_other.then(|| "Community groups".to_string()) };
        debug_assert_eq!(validation::check(question, &answer), Ok(()));
        answers.insert(question.key.clone(), answer);
    }
    answers
}

fn random_value<R: Rng>(question: &Question, rng: &mut R) -> Value {
    let keys: Vec<String> = question.options.iter().map(|o| o.key.clone()).collect();
    match question.kind {
        Kind::SingleChoice | Kind::Scale => Value::Choice(keys.choose(rng).cloned().unwrap_or_default()),
        Kind::MultipleChoice => {
            let exclusive = question.options.iter().find(|o| o.exclusive);
            if let Some(none) = exclusive.filter(|_| rng.random_bool(0.1)) {
                return Value::Choices(vec![none.key.clone()]);
            }
            let choosable: Vec<&String> = question.options.iter().filter(|o| !o.exclusive).map(|o| &o.key).collect();
            let lo = question.min_selections.unwrap_or(1).max(1) as usize;
            let hi = (question.max_selections.map_or(choosable.len(), |m| m as usize)).min(choosable.len()).max(lo);
            let n = rng.random_range(lo..=hi);
            let chosen: Vec<&String> = choosable.choose_multiple(rng, n).copied().collect();
            // Questionnaire order, as the pages send it.
            Value::Choices(keys.iter().filter(|k| chosen.contains(k)).cloned().collect())
        }
        Kind::Ranking => {
            let mut order = keys;
            order.shuffle(rng);
            Value::Ranking(order)
        }
        Kind::ShortText | Kind::LongText => {
            let text = PHRASES.choose(rng).copied().unwrap_or_default();
            let max = question.max_length().unwrap_or(200) as usize;
            Value::Text(text.chars().take(max).collect())
        }
        Kind::Number => Value::Number(rng.random_range(question.min.unwrap_or(0)..=question.max.unwrap_or(100))),
        Kind::Date => {
            let start = NaiveDate::from_ymd_opt(2015, 1, 1).expect("a real date");
            Value::Date(start + Duration::days(rng.random_range(0..3650)))
        }
        Kind::Grid => {
            let mut rows = std::collections::BTreeMap::new();
            for row in &question.rows {
                if question.required || rng.random_bool(0.8) {
                    rows.insert(row.key.clone(), keys.choose(rng).cloned().unwrap_or_default());
                }
            }
            if rows.is_empty() {
                let row = &question.rows[0];
                rows.insert(row.key.clone(), keys[0].clone());
            }
            Value::Grid(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_definitions_are_valid_and_generate_valid_responses() {
        for plan in &PLANS {
            let file: DemoFile = serde_json::from_str(plan.source).unwrap();
            let q = &file.definition.content.questionnaire;
            assert_eq!(q.check(), Ok(()), "{}", file.definition.slug);
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            for _ in 0..200 {
                let answers = random_answers(q, &mut rng, plan.bias.0, plan.bias.1);
                let json: serde_json::Value =
                    serde_json::from_str(&crate::domain::answers::canonical_json(&answers)).unwrap();
                let parsed = validation::from_json(q, json.as_object().unwrap());
                assert_eq!(parsed, Ok(answers));
            }
        }
    }
}
