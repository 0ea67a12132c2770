//! How answers are named in HTML forms and linked to from error messages: the one place the `q.{key}…` field
//! names and `q-{key}…` ids are spelled. Pages, the parser of submitted forms and the templates (through the
//! views handlers build) all take them from here.

/// The name of a question's field (radios, checkboxes, text, number).
pub fn name(key: &str) -> String {
    format!("q.{key}")
}

/// The name of a part of a question's answer: a date's `day`, `month` or `year`, a ranking's option, a grid's
/// row, or the `other` text of an "Other (please specify)" option.
pub fn part_name(key: &str, part: &str) -> String {
    format!("q.{key}.{part}")
}

/// The name of the "Other (please specify)" text.
pub fn other_name(key: &str) -> String {
    part_name(key, "other")
}

/// The id of a question's first field on its page: what error summaries and Change links point at.
pub fn id(key: &str) -> String {
    format!("q-{key}")
}

/// The id of a part's field: a date's month or year, the other text, a grid row's first radio.
pub fn part_id(key: &str, part: &str) -> String {
    format!("q-{key}-{part}")
}

/// The id of the n-th (1-based) input of a group: the first is the question's (or part's) own id, so that an
/// error links to it.
pub fn nth_id(first: &str, n: usize) -> String {
    if n <= 1 {
        first.to_string()
    } else {
        format!("{first}-{n}")
    }
}

/// The id of a grid row's first radio: the question's own id for the first row.
pub fn row_id(key: &str, row_index: usize, row_key: &str) -> String {
    if row_index == 0 {
        id(key)
    } else {
        part_id(key, row_key)
    }
}
