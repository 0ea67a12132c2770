//! The edits an officer makes to a draft in the builder: sections and questions added, changed, moved and
//! deleted, and routing rules added and removed. Each edit keeps the draft's keys unique and its routing
//! pointing at what exists: deleting a question or section deletes the routes that depend on it or lead to
//! it, and says which. Whether the whole is ready to publish is `Questionnaire::check`'s business.

use super::questionnaire::{unique_key, Question, Questionnaire, Rule, Section, Target};

/// Which way a section or question moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// An edit that cannot be made, in words for the officer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A key for a new section or question made from its text, unique in the questionnaire.
pub fn new_key(q: &Questionnaire, text: &str) -> String {
    let base = super::questionnaire::key_from(text);
    unique_key(&base, |k| q.section(k).is_some() || q.question(k).is_some())
}

pub fn add_section(q: &mut Questionnaire, section: Section) -> Result<(), Refused> {
    if q.section(&section.key).is_some() || q.question(&section.key).is_some() {
        return Err(Refused(format!("The key ‘{}’ is already used: choose another", section.key)));
    }
    q.sections.push(section);
    Ok(())
}

/// Changes a section's key, title and description; its questions stay.
pub fn edit_section(
    q: &mut Questionnaire,
    key: &str,
    new_key: &str,
    title: super::text::Text,
    description: Option<super::text::Text>,
) -> Result<(), Refused> {
    if new_key != key && (q.section(new_key).is_some() || q.question(new_key).is_some()) {
        return Err(Refused(format!("The key ‘{new_key}’ is already used: choose another")));
    }
    let section = q.sections.iter_mut().find(|s| s.key == key).ok_or_else(|| missing("section", key))?;
    section.key = new_key.to_string();
    section.title = title;
    section.description = description;
    for rule in q.routing.iter_mut().filter(|r| r.target == Target::Section && r.key == key) {
        rule.key = new_key.to_string();
    }
    Ok(())
}

pub fn move_section(q: &mut Questionnaire, key: &str, direction: Direction) -> Result<(), Refused> {
    let at = q.sections.iter().position(|s| s.key == key).ok_or_else(|| missing("section", key))?;
    swap(&mut q.sections, at, direction);
    Ok(())
}

/// The routes that depend on or lead to anything in `keys` (question keys) or the section `section`.
pub fn routes_touching<'a>(q: &'a Questionnaire, questions: &[&str], section: Option<&str>) -> Vec<&'a Rule> {
    q.routing
        .iter()
        .filter(|r| {
            questions.contains(&r.when.question.as_str())
                || (r.target == Target::Question && questions.contains(&r.key.as_str()))
                || (r.target == Target::Section && Some(r.key.as_str()) == section)
        })
        .collect()
}

/// Deletes a section, its questions and the routes touching them; returns the routes deleted, in words.
pub fn delete_section(q: &mut Questionnaire, key: &str) -> Result<Vec<String>, Refused> {
    let section = q.section(key).ok_or_else(|| missing("section", key))?;
    let questions: Vec<String> = section.questions.iter().map(|qq| qq.key.clone()).collect();
    let keys: Vec<&str> = questions.iter().map(String::as_str).collect();
    let gone = drop_routes(q, &keys, Some(key));
    q.sections.retain(|s| s.key != key);
    Ok(gone)
}

fn drop_routes(q: &mut Questionnaire, questions: &[&str], section: Option<&str>) -> Vec<String> {
    let touching: Vec<Rule> = routes_touching(q, questions, section).into_iter().cloned().collect();
    let described = touching.iter().map(|r| q.describe_rule(r)).collect();
    q.routing.retain(|r| !touching.contains(r));
    described
}

/// Adds a question at the end of a section.
pub fn add_question(q: &mut Questionnaire, section: &str, question: Question) -> Result<(), Refused> {
    if q.question(&question.key).is_some() || q.section(&question.key).is_some() {
        return Err(Refused(format!("The key ‘{}’ is already used: choose another", question.key)));
    }
    let s = q.sections.iter_mut().find(|s| s.key == section).ok_or_else(|| missing("section", section))?;
    s.questions.push(question);
    Ok(())
}

/// Replaces the question `key` with `question` (whose key may differ), in the section `section` — its own,
/// or another it moves to (at the end). Routes follow a changed key; routes on answers the question no
/// longer offers are refused, naming them, rather than silently changed.
pub fn replace_question(q: &mut Questionnaire, key: &str, section: &str, question: Question) -> Result<(), Refused> {
    if question.key != key && (q.question(&question.key).is_some() || q.section(&question.key).is_some()) {
        return Err(Refused(format!("The key ‘{}’ is already used: choose another", question.key)));
    }
    if q.section(section).is_none() {
        return Err(missing("section", section));
    }
    let depending: Vec<&Rule> = q.routing.iter().filter(|r| r.when.question == key).collect();
    for rule in &depending {
        if !question.kind.routes() {
            return Err(Refused(format!(
                "The route “{}” depends on this question: delete the route before making it a {} question",
                q.describe_rule(rule),
                question.kind.describe()
            )));
        }
        if let Some(lost) = rule.when.any_of.iter().find(|o| question.option(o).is_none()) {
            return Err(Refused(format!(
                "The route “{}” depends on the answer ‘{lost}’: delete or change the route before removing that \
                 option or changing its key",
                q.describe_rule(rule)
            )));
        }
    }
    let (from, at) = position(q, key).ok_or_else(|| missing("question", key))?;
    let new_key = question.key.clone();
    if q.sections[from].key == section {
        q.sections[from].questions[at] = question;
    } else {
        q.sections[from].questions.remove(at);
        let to = q.sections.iter_mut().find(|s| s.key == section).expect("checked above");
        to.questions.push(question);
    }
    for rule in q.routing.iter_mut() {
        if rule.when.question == key {
            rule.when.question = new_key.clone();
        }
        if rule.target == Target::Question && rule.key == key {
            rule.key = new_key.clone();
        }
    }
    Ok(())
}

pub fn move_question(q: &mut Questionnaire, key: &str, direction: Direction) -> Result<(), Refused> {
    let (s, at) = position(q, key).ok_or_else(|| missing("question", key))?;
    swap(&mut q.sections[s].questions, at, direction);
    Ok(())
}

/// Deletes a question and the routes touching it; returns the routes deleted, in words.
pub fn delete_question(q: &mut Questionnaire, key: &str) -> Result<Vec<String>, Refused> {
    let (s, at) = position(q, key).ok_or_else(|| missing("question", key))?;
    let gone = drop_routes(q, &[key], None);
    q.sections[s].questions.remove(at);
    Ok(gone)
}

/// Adds a routing rule if it depends on an existing choice question's existing answers and leads forwards to
/// something that exists; refused otherwise, naming the problem.
pub fn add_rule(q: &mut Questionnaire, rule: Rule) -> Result<(), Refused> {
    if q.routing.contains(&rule) {
        return Err(Refused("That route already exists".into()));
    }
    let mut tried = q.clone();
    tried.routing.push(rule.clone());
    let name = tried.describe_rule(&rule);
    if let Err(problems) = tried.check() {
        // Only problems this rule brings are its own; the draft may be unfinished elsewhere.
        let before = q.check().err().unwrap_or_default();
        if let Some(p) = problems.into_iter().find(|p| !before.contains(p) && p.contains(&name)) {
            return Err(Refused(p));
        }
    }
    q.routing.push(rule);
    Ok(())
}

pub fn delete_rule(q: &mut Questionnaire, index: usize) -> Result<Rule, Refused> {
    if index >= q.routing.len() {
        return Err(Refused("That route no longer exists".into()));
    }
    Ok(q.routing.remove(index))
}

fn position(q: &Questionnaire, key: &str) -> Option<(usize, usize)> {
    q.sections
        .iter()
        .enumerate()
        .find_map(|(s, section)| section.questions.iter().position(|qq| qq.key == key).map(|at| (s, at)))
}

fn swap<T>(items: &mut [T], at: usize, direction: Direction) {
    match direction {
        Direction::Up if at > 0 => items.swap(at, at - 1),
        Direction::Down if at + 1 < items.len() => items.swap(at, at + 1),
        _ => {}
    }
}

fn missing(what: &str, key: &str) -> Refused {
    Refused(format!("There is no {what} ‘{key}’ any more: someone may have deleted it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use crate::domain::questionnaire::{Action, Condition};

    #[test]
    fn deleting_a_question_deletes_the_routes_on_it_and_names_them() {
        let mut q = sample();
        let gone = delete_question(&mut q, "support").unwrap();
        assert_eq!(gone.len(), 1);
        assert!(gone[0].contains("Show ‘Why not?’ when the answer to ‘Do you agree?’ is ‘Disagree’"), "{gone:?}");
        assert_eq!(q.routing.len(), 1);
        assert!(q.question("support").is_none());
    }

    #[test]
    fn a_changed_key_carries_its_routes_and_a_removed_answer_they_need_is_refused() {
        let mut q = sample();
        let mut support = q.question("support").unwrap().clone();
        support.key = "agree_overall".into();
        replace_question(&mut q, "support", "views", support.clone()).unwrap();
        assert_eq!(q.routing[0].when.question, "agree_overall");
        support.options.retain(|o| o.key != "disagree");
        let refused = replace_question(&mut q, "agree_overall", "views", support).unwrap_err();
        assert!(refused.0.contains("depends on the answer ‘disagree’"), "{refused}");
    }

    #[test]
    fn moves_stay_in_bounds_and_backwards_routes_are_refused() {
        let mut q = sample();
        move_question(&mut q, "support", Direction::Up).unwrap();
        assert_eq!(q.sections[0].questions[0].key, "support");
        move_section(&mut q, "details", Direction::Down).unwrap();
        assert_eq!(q.sections[1].key, "details");
        let backwards = Rule {
            target: Target::Question,
            key: "support".into(),
            action: Action::Skip,
            when: Condition { question: "area".into(), any_of: vec!["north".into()] },
        };
        let refused = add_rule(&mut q, backwards).unwrap_err();
        assert!(refused.0.contains("goes backwards"), "{refused}");
        let to_nothing = Rule {
            target: Target::Question,
            key: "gone".into(),
            action: Action::Show,
            when: Condition { question: "support".into(), any_of: vec!["agree".into()] },
        };
        assert!(add_rule(&mut q, to_nothing).unwrap_err().0.contains("no longer exists"));
        let good = Rule {
            target: Target::Question,
            key: "area".into(),
            action: Action::Show,
            when: Condition { question: "services".into(), any_of: vec!["police".into(), "coast".into()] },
        };
        add_rule(&mut q, good).unwrap();
        assert_eq!(q.routing.len(), 3);
        assert_eq!(new_key(&q, "Support"), "support_2");
    }
}

/// Keeps the Welsh of `old` in `new` where the builder (which edits English) left it out: the question's text
/// and hint, and each option and row by key.
pub fn keep_translations(old: &Question, new: &mut Question) {
    let keep = |from: &super::text::Text, to: &mut super::text::Text| {
        if to.cy.is_none() {
            to.cy = from.cy.clone();
        }
    };
    keep(&old.prompt, &mut new.prompt);
    if let (Some(from), Some(to)) = (&old.hint, &mut new.hint) {
        keep(from, to);
    }
    for (olds, news) in [(&old.options, &mut new.options), (&old.rows, &mut new.rows)] {
        for choice in news.iter_mut() {
            if let Some(was) = olds.iter().find(|o| o.key == choice.key) {
                keep(&was.label, &mut choice.label);
            }
        }
    }
}
