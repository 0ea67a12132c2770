//! The columns of a response export and what goes in each cell: one plan over every published version, so the
//! CSV, the Excel workbook and the JSON file say the same thing about the same response.
//!
//! Columns: `reference`, `channel`, `version`, `submitted_at`; then one per question key across all versions
//! (results order: the latest version's, then questions only earlier versions asked); then, question by
//! question, `<key>.<option>` (1 or empty) for each option of a multiple-choice question, `<key>.<row>` (the
//! option chosen) for each row of a grid, and `<key>.other` for the "please specify" text of a question with an
//! "Other" option (where an option is itself keyed `other`, that name is the text's).

use crate::domain::answers::{Answer, Value};
use crate::domain::questionnaire::{Kind, Question, Questionnaire};
use crate::results::report::{choices_across, questions_across};

/// The fixed columns every export starts with.
pub const FIXED: [&str; 4] = ["reference", "channel", "version", "submitted_at"];

/// What one column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// The answer to a question, in words of option keys.
    Answer,
    /// Whether an option of a multiple-choice question was chosen.
    Chosen(String),
    /// The option chosen for one row of a grid.
    Row(String),
    /// The "please specify" text.
    Other,
}

/// One column after the fixed ones.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub question: String,
    pub kind: Kind,
    pub cell: Cell,
    /// The latest wording of the question (and, for an option or row column, of the option or row).
    pub prompt: String,
    /// What the column holds, in words, for the data dictionary.
    pub meaning: String,
    /// The question's options, as `key = label`, for the data dictionary.
    pub options: String,
}

/// The columns of an export over the published questionnaires (oldest first).
#[derive(Debug, Clone)]
pub struct Plan {
    pub columns: Vec<Column>,
    /// Every question, by the number `question` gives its key: rows carry that number, not the key, so
    /// that a million responses' answers are matched to their columns without hashing a key for each cell.
    questions: Vec<Planned>,
    /// Looked up once per stored answer: a fast hash, since the keys are the council's, not an attacker's.
    by_key: rustc_hash::FxHashMap<String, usize>,
}

/// A question of the plan: its key, its kind (to read stored answers back) and the indexes of its columns.
#[derive(Debug, Clone)]
struct Planned {
    key: String,
    kind: Kind,
    columns: Vec<usize>,
}

impl Plan {
    pub fn new(published: &[&Questionnaire]) -> Plan {
        let questions = questions_across(published);
        let mut columns = Vec::new();
        for (q, removed) in &questions {
            let note = if *removed { " (no longer asked)" } else { "" };
            let meaning = match q.kind {
                Kind::MultipleChoice => "The option keys chosen, in questionnaire order, joined by ;".to_string(),
                Kind::Ranking => "Every option key, most preferred first, joined by ;".to_string(),
                Kind::SingleChoice | Kind::Scale => "The option key chosen".to_string(),
                Kind::Grid => "row=option for each row answered, joined by ;".to_string(),
                Kind::Number => "The number given".to_string(),
                Kind::Date => "The date given, YYYY-MM-DD".to_string(),
                Kind::ShortText | Kind::LongText => "The text given".to_string(),
            };
            columns.push(column(q, Cell::Answer, q.key.clone(), q.prompt.to_string(), format!("{meaning}{note}")));
        }
        for (q, _) in &questions {
            let has_other = published.iter().any(|v| v.question(&q.key).is_some_and(|q| q.other_option().is_some()));
            if q.kind == Kind::MultipleChoice {
                // An option keyed `other` would share its column's name with the text given with "Other": that
                // column is the text's, and the question's own column says whether it was chosen.
                let options = choices_across(published, &q.key, |q| &q.options);
                for (o, _) in options.into_iter().filter(|(o, _)| !(has_other && o.key == "other")) {
                    let name = format!("{}.{}", q.key, o.key);
                    let prompt = format!("{}: {}", q.prompt, o.label);
                    let meaning = format!("1 when ‘{}’ was chosen, empty otherwise", o.label);
                    columns.push(column(q, Cell::Chosen(o.key.clone()), name, prompt, meaning));
                }
            }
            if q.kind == Kind::Grid {
                for (r, _) in choices_across(published, &q.key, |q| &q.rows) {
                    let name = format!("{}.{}", q.key, r.key);
                    let prompt = format!("{}: {}", q.prompt, r.label);
                    let meaning = format!("The option key chosen for the row ‘{}’", r.label);
                    columns.push(column(q, Cell::Row(r.key.clone()), name, prompt, meaning));
                }
            }
            if has_other {
                let name = format!("{}.other", q.key);
                let prompt = format!("{}: other (please specify)", q.prompt);
                columns.push(column(q, Cell::Other, name, prompt, "The text given with ‘Other’".to_string()));
            }
        }
        let planned: Vec<Planned> = questions
            .iter()
            .map(|(q, _)| Planned {
                key: q.key.clone(),
                kind: q.kind,
                columns: (0..columns.len()).filter(|i| columns[*i].question == q.key).collect(),
            })
            .collect();
        let by_key = planned.iter().enumerate().map(|(i, q)| (q.key.clone(), i)).collect();
        Plan { columns, questions: planned, by_key }
    }

    /// Every column name, the fixed ones first: the header row.
    pub fn header(&self) -> Vec<&str> {
        FIXED.iter().copied().chain(self.columns.iter().map(|c| c.name.as_str())).collect()
    }

    /// The number of the question keyed `key` (none for a question no version asked, which validation never
    /// lets an answer to in), and its kind.
    pub fn question(&self, key: &str) -> Option<(usize, Kind)> {
        self.by_key.get(key).map(|&i| (i, self.questions[i].kind))
    }

    /// How many questions the plan has (the most answers a response can have).
    pub fn questions(&self) -> usize {
        self.questions.len()
    }

    /// The key of question number `question`.
    pub fn key(&self, question: usize) -> &str {
        &self.questions[question].key
    }

    /// Fills the answer columns of one response with its answer to question number `question`: `cells[i]`
    /// is column `i` after the fixed ones, empty before (the caller clears and reuses them, so that writing a
    /// million rows allocates next to nothing).
    pub fn fill(&self, cells: &mut [String], question: usize, answer: &Answer) {
        for &i in &self.questions[question].columns {
            let cell = &mut cells[i];
            match (&self.columns[i].cell, &answer.value) {
                (Cell::Answer, v) => write_answer(cell, v),
                (Cell::Chosen(o), v) => {
                    if v.option_keys().contains(o) {
                        cell.push('1');
                    }
                }
                (Cell::Row(r), Value::Grid(rows)) => cell.push_str(rows.get(r).map_or("", String::as_str)),
                (Cell::Row(_), _) => {}
                (Cell::Other, _) => cell.push_str(answer.other.as_deref().unwrap_or("")),
            }
        }
    }
}

fn column(q: &Question, cell: Cell, name: String, prompt: String, meaning: String) -> Column {
    let options = q.options.iter().map(|o| format!("{} = {}", o.key, o.label)).collect::<Vec<_>>().join("; ");
    Column { name, question: q.key.clone(), kind: q.kind, cell, prompt, meaning, options }
}

/// Writes an answer as its question's own column holds it.
fn write_answer(cell: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::Choice(k) | Value::Text(k) => cell.push_str(k),
        Value::Choices(ks) | Value::Ranking(ks) => {
            for (i, k) in ks.iter().enumerate() {
                if i > 0 {
                    cell.push(';');
                }
                cell.push_str(k);
            }
        }
        Value::Number(n) => write!(cell, "{n}").expect("a String takes any write"),
        // A date's Display is YYYY-MM-DD, written without parsing a format string for each cell.
        Value::Date(d) => write!(cell, "{d}").expect("a String takes any write"),
        Value::Grid(rows) => {
            for (i, (r, o)) in rows.iter().enumerate() {
                if i > 0 {
                    cell.push(';');
                }
                cell.push_str(r);
                cell.push('=');
                cell.push_str(o);
            }
        }
    }
}

/// A cell as a spreadsheet may safely open it: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return would be read as a formula (OWASP's CSV injection), so it gets a leading `'`. Used for every text
/// cell of the CSV and the workbook, officer-authored text included.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Whether a column's cells are whole numbers (a number question's answers), written as numbers: an integer
/// validation let through, such as -4, is no formula, and is left as it is.
pub fn is_number(column: &Column) -> bool {
    column.kind == Kind::Number && column.cell == Cell::Answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;

    #[test]
    fn formulas_are_neutralised_and_nothing_else_changes() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for fine in ["", "hello", "1", "a=b", " =1", "'=1"] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn the_plan_has_a_column_per_question_then_options_rows_and_other() {
        let q = sample();
        let plan = Plan::new(&[&q]);
        let header = plan.header();
        assert_eq!(&header[..4], &FIXED);
        let questions: Vec<&str> = q.questions().map(|q| q.key.as_str()).collect();
        assert_eq!(&header[4..4 + questions.len()], questions.as_slice());
        assert!(header.contains(&"services.police"), "{header:?}");
        let mut cells = vec![String::new(); plan.columns.len()];
        let answer = Answer { value: Value::Choices(vec!["police".into()]), other: None };
        let (services, kind) = plan.question("services").unwrap();
        assert_eq!((plan.key(services), kind), ("services", Kind::MultipleChoice));
        plan.fill(&mut cells, services, &answer);
        let at = |name: &str| plan.columns.iter().position(|c| c.name == name).unwrap();
        assert_eq!(cells[at("services")], "police");
        assert_eq!(cells[at("services.police")], "1");
    }
}
