//! Which sections and questions a resident is shown, given the answers so far.

use super::answers::Answers;
use super::questionnaire::{Action, Questionnaire, Rule, Target};
use std::collections::HashSet;

/// The sections and questions shown for one set of answers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shown {
    pub sections: HashSet<String>,
    pub questions: HashSet<String>,
}

impl Shown {
    pub fn question(&self, key: &str) -> bool {
        self.questions.contains(key)
    }

    pub fn section(&self, key: &str) -> bool {
        self.sections.contains(key)
    }
}

/// Walks the questionnaire in order. Rules depend only on earlier questions, so one pass decides everything;
/// an answer to a question that is not shown never counts towards a condition.
pub fn shown(q: &Questionnaire, answers: &Answers) -> Shown {
    let mut shown = Shown::default();
    for section in &q.sections {
        if !allowed(q, Target::Section, &section.key, answers, &shown) {
            continue;
        }
        shown.sections.insert(section.key.clone());
        for question in &section.questions {
            if allowed(q, Target::Question, &question.key, answers, &shown) {
                shown.questions.insert(question.key.clone());
            }
        }
    }
    shown
}

fn allowed(q: &Questionnaire, target: Target, key: &str, answers: &Answers, shown: &Shown) -> bool {
    q.routing
        .iter()
        .filter(|r| r.target == target && r.key == key)
        .all(|rule| holds(rule, answers, shown) == (rule.action == Action::Show))
}

fn holds(rule: &Rule, answers: &Answers, shown: &Shown) -> bool {
    shown.question(&rule.when.question)
        && answers
            .get(&rule.when.question)
            .is_some_and(|a| a.value.option_keys().iter().any(|k| rule.when.any_of.contains(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::answers::{Answer, Value};
    use crate::domain::questionnaire::tests::sample;

    fn answer(v: Value) -> Answer {
        Answer { value: v, other: None }
    }

    #[test]
    fn show_rule_needs_its_condition() {
        let q = sample();
        let mut a = Answers::new();
        a.insert("support".into(), answer(Value::Choice("agree".into())));
        assert!(!shown(&q, &a).question("why_not"));
        a.insert("support".into(), answer(Value::Choice("disagree".into())));
        assert!(shown(&q, &a).question("why_not"));
    }

    #[test]
    fn checkbox_answer_skips_a_section() {
        let q = sample();
        let mut a = Answers::new();
        a.insert("services".into(), answer(Value::Choices(vec!["police".into()])));
        assert!(shown(&q, &a).section("details"));
        a.insert("services".into(), answer(Value::Choices(vec!["none".into()])));
        let s = shown(&q, &a);
        assert!(!s.section("details"));
        assert!(!s.question("rank"));
    }
}
