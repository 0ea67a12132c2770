//! A resident's progress through a questionnaire: answers so far and the sections visited, and which page may
//! come next. Routing is applied afresh on every step, so a routed-past section is never visited and its
//! answers are dropped as soon as the answers that routed past it change.

use super::answers::{Answer, Answers, Value};
use super::fields;
use super::questionnaire::{Kind, Question, Questionnaire, Section, Target};
use super::routing::{self, Shown};
use super::validation::Form;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One page of questions: a section, or part of one. A section is split before any question whose routing
/// depends on an answer given on the same page, so every page's questions are decided by earlier pages alone
/// and a routed-past question is never put in front of a resident.
#[derive(Debug, Clone)]
pub struct PageDef<'a> {
    /// The section key for a section's first page, then `{section}-2`, `{section}-3`…
    pub key: String,
    pub section: &'a Section,
    pub questions: Vec<&'a Question>,
    /// Whether this is the section's first page (which shows the section's description).
    pub first_of_section: bool,
}

pub fn pages(q: &Questionnaire) -> Vec<PageDef<'_>> {
    let mut pages: Vec<PageDef> = Vec::new();
    for section in &q.sections {
        let mut number = 1;
        pages.push(PageDef { key: section.key.clone(), section, questions: Vec::new(), first_of_section: true });
        for question in &section.questions {
            let page = pages.last_mut().expect("a page was just pushed");
            let depends_on_page = q.routing.iter().any(|r| {
                r.target == Target::Question
                    && r.key == question.key
                    && page.questions.iter().any(|on_page| on_page.key == r.when.question)
            });
            if depends_on_page {
                number += 1;
                pages.push(PageDef {
                    key: format!("{}-{number}", section.key),
                    section,
                    questions: vec![question],
                    first_of_section: false,
                });
            } else {
                page.questions.push(question);
            }
        }
    }
    pages
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub answers: Answers,
    /// The keys of the pages answered.
    pub visited: BTreeSet<String>,
}

/// A page of the journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Questions(String),
    Check,
}

impl Progress {
    pub fn shown(&self, q: &Questionnaire) -> Shown {
        routing::shown(q, &self.answers)
    }

    fn page_shown(shown: &Shown, page: &PageDef) -> bool {
        page.questions.iter().any(|question| shown.question(&question.key))
    }

    /// Replaces a page's answers with those just given, then forgets whatever routing no longer shows.
    pub fn record(&mut self, q: &Questionnaire, page: &PageDef, given: Answers) {
        for question in &page.questions {
            self.answers.remove(&question.key);
        }
        self.answers.extend(given);
        self.visited.insert(page.key.clone());
        let shown = self.shown(q);
        self.answers.retain(|key, _| shown.question(key));
        let live: BTreeSet<String> =
            pages(q).into_iter().filter(|p| Self::page_shown(&shown, p)).map(|p| p.key).collect();
        self.visited.retain(|key| live.contains(key));
    }

    /// Keeps a page's answers without moving on ("Save and come back later"): the valid answers given replace
    /// the page's, and the page counts as answered only if it did before and nothing on it is wrong now, so
    /// that coming back opens it again (as `next`) until it is finished with "Continue".
    pub fn keep(&mut self, q: &Questionnaire, page: &PageDef, given: Answers, valid: bool) {
        let answered = self.visited.contains(&page.key);
        self.record(q, page, given);
        if !(answered && valid) {
            self.visited.remove(&page.key);
        }
    }

    /// The first page shown and not yet answered, or the check page when there is none.
    pub fn next(&self, q: &Questionnaire) -> Page {
        let shown = self.shown(q);
        pages(q)
            .into_iter()
            .find(|p| Self::page_shown(&shown, p) && !self.visited.contains(&p.key))
            .map_or(Page::Check, |p| Page::Questions(p.key))
    }

    /// Whether `page` may be opened now: a shown page with every shown page before it answered, or the check
    /// page once all are. Anything else sends the resident to `next`.
    pub fn may_visit(&self, q: &Questionnaire, page: &Page) -> bool {
        match page {
            Page::Check => self.next(q) == Page::Check,
            Page::Questions(key) => {
                let shown = self.shown(q);
                let all = pages(q);
                let Some(at) = all.iter().position(|p| &p.key == key) else { return false };
                Self::page_shown(&shown, &all[at])
                    && all[..at].iter().all(|p| !Self::page_shown(&shown, p) || self.visited.contains(&p.key))
            }
        }
    }

    /// The page before `page`: the last shown page before it, or none for the first.
    pub fn previous(&self, q: &Questionnaire, page: &Page) -> Option<String> {
        let shown = self.shown(q);
        let all = pages(q);
        let end = match page {
            Page::Check => all.len(),
            Page::Questions(key) => all.iter().position(|p| &p.key == key).unwrap_or(0),
        };
        all[..end].iter().rev().find(|p| Self::page_shown(&shown, p)).map(|p| p.key.clone())
    }
}

/// The form fields that show stored answers again on their page, named as the page's inputs are.
pub fn to_form(q: &Questionnaire, answers: &Answers) -> Form {
    let mut form = Form::new();
    for question in q.questions() {
        let Some(Answer { value, other }) = answers.get(&question.key) else { continue };
        let key = &question.key;
        match (value, question.kind) {
            (Value::Ranking(ks), Kind::Ranking) => {
                for (i, k) in ks.iter().enumerate() {
                    form.insert(fields::part_name(key, k), vec![(i + 1).to_string()]);
                }
            }
            (Value::Date(d), _) => {
                form.insert(fields::part_name(key, "day"), vec![d.format("%-d").to_string()]);
                form.insert(fields::part_name(key, "month"), vec![d.format("%-m").to_string()]);
                form.insert(fields::part_name(key, "year"), vec![d.format("%Y").to_string()]);
            }
            (Value::Grid(rows), _) => {
                for (row, option) in rows {
                    form.insert(fields::part_name(key, row), vec![option.clone()]);
                }
            }
            (Value::Choices(ks), _) => {
                form.insert(fields::name(key), ks.clone());
            }
            (v, _) => {
                form.insert(fields::name(key), vec![v.to_stored()]);
            }
        }
        if let Some(other) = other {
            form.insert(fields::other_name(key), vec![other.clone()]);
        }
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;

    fn answer(v: Value) -> Answer {
        Answer { value: v, other: None }
    }

    #[test]
    fn routed_past_pages_are_skipped_and_their_answers_forgotten() {
        let q = sample();
        let mut p = Progress::default();
        let all = pages(&q);
        let keys: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
        // why_not depends on support, asked on the same page: a new page starts with it.
        assert_eq!(keys, ["views", "views-2", "details"]);
        assert_eq!(p.next(&q), Page::Questions("views".into()));
        assert!(!p.may_visit(&q, &Page::Questions("details".into())));

        let mut support = Answers::new();
        support.insert("support".into(), answer(Value::Choice("disagree".into())));
        p.record(&q, &all[0], support);
        assert_eq!(p.next(&q), Page::Questions("views-2".into()));
        assert!(p.shown(&q).question("why_not"));
        let mut services = Answers::new();
        services.insert("why_not".into(), answer(Value::Text("Cost".into())));
        services.insert("services".into(), answer(Value::Choices(vec!["police".into()])));
        p.record(&q, &all[1], services.clone());
        assert_eq!(p.next(&q), Page::Questions("details".into()));
        let mut details = Answers::new();
        details.insert("people".into(), answer(Value::Number(2)));
        p.record(&q, &all[2], details);
        assert_eq!(p.next(&q), Page::Check);
        assert_eq!(p.previous(&q, &Page::Check).as_deref(), Some("details"));

        // Changing the checkbox answer routes past the details page: its answers go.
        services.insert("services".into(), answer(Value::Choices(vec!["none".into()])));
        p.record(&q, &all[1], services);
        assert!(!p.answers.contains_key("people"));
        assert_eq!(p.next(&q), Page::Check);
        assert_eq!(p.previous(&q, &Page::Check).as_deref(), Some("views-2"));

        // Agreeing routes past why_not: its answer goes too.
        let mut agree = Answers::new();
        agree.insert("support".into(), answer(Value::Choice("agree".into())));
        p.record(&q, &all[0], agree);
        assert!(!p.answers.contains_key("why_not"));
    }

    #[test]
    fn a_page_kept_for_later_opens_again_unless_it_was_finished_and_still_is() {
        let q = sample();
        let all = pages(&q);
        let mut support = Answers::new();
        support.insert("support".into(), answer(Value::Choice("disagree".into())));
        let mut p = Progress::default();
        p.keep(&q, &all[0], support.clone(), true);
        assert_eq!(p.answers.len(), 1, "the answers are kept");
        assert_eq!(p.next(&q), Page::Questions("views".into()), "the page is not finished by saving");

        p.record(&q, &all[0], support.clone());
        p.keep(&q, &all[0], support.clone(), true);
        assert_eq!(p.next(&q), Page::Questions("views-2".into()), "a finished page stays finished");
        p.keep(&q, &all[0], Answers::new(), false);
        assert_eq!(p.next(&q), Page::Questions("views".into()), "a page with a problem is unfinished again");
    }
}
