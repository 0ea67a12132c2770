//! Officers' forms: the values sent and the problems found, field by field, as the GOV.UK error pattern shows
//! them (an error summary linking to each field, the message beside it, the values kept), and the reading of
//! dates and times given in the council's time zone.

use crate::domain::validation::Form;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;

/// A form's values and its problems.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    form: Form,
    errors: Vec<(String, String)>,
}

/// One field as the field macros (templates/components/fields.html) take it.
#[derive(Debug, Serialize)]
pub struct FieldView {
    pub name: String,
    pub id: String,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ErrorLink {
    pub target: String,
    pub message: String,
}

/// The id of a field's input, which error summaries link to.
pub fn id_of(name: &str) -> String {
    format!("f-{}", name.replace(['.', '_'], "-"))
}

impl Fields {
    pub fn from(form: Form) -> Fields {
        Fields { form, errors: Vec::new() }
    }

    /// The trimmed value of a field ("" when absent).
    pub fn value(&self, name: &str) -> String {
        self.form.get(name).and_then(|v| v.first()).map(|v| v.trim().to_string()).unwrap_or_default()
    }

    /// Every value sent for a field (checkboxes).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.form.get(name).cloned().unwrap_or_default()
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.form.insert(name.to_string(), vec![value.into()]);
    }

    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push((name.to_string(), message.into()));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// A field that must be filled in: its value, or the message recorded.
    pub fn required(&mut self, name: &str, message: &str) -> String {
        let v = self.value(name);
        if v.is_empty() {
            self.error(name, message);
        }
        v
    }

    /// A field of at most `max` characters.
    pub fn at_most(&mut self, name: &str, max: usize, what: &str) -> String {
        let v = self.value(name);
        if v.chars().count() > max {
            self.error(name, format!("{what} must be {max} characters or fewer"));
        }
        v
    }

    pub fn field(&self, name: &str) -> FieldView {
        FieldView {
            name: name.to_string(),
            id: id_of(name),
            value: self.value(name),
            error: self.errors.iter().find(|(n, _)| n == name).map(|(_, m)| m.clone()),
        }
    }

    /// Views of the named fields, for the template's `form`.
    pub fn view(&self, names: &[&str]) -> BTreeMap<String, FieldView> {
        names.iter().map(|n| (n.to_string(), self.field(n))).collect()
    }

    pub fn summary(&self) -> Vec<ErrorLink> {
        self.errors.iter().map(|(n, m)| ErrorLink { target: id_of(n), message: m.clone() }).collect()
    }

    /// A date and time given as `<prefix>_day`, `_month`, `_year` and `_time` in the council's zone, as UTC;
    /// none when all four are blank. A problem is recorded against the day field, in words.
    pub fn local_time(&mut self, prefix: &str, what: &str, zone: Tz) -> Option<NaiveDateTime> {
        let part = |p: &str| format!("{prefix}_{p}");
        let (d, m, y, t) = (
            self.value(&part("day")),
            self.value(&part("month")),
            self.value(&part("year")),
            self.value(&part("time")),
        );
        if d.is_empty() && m.is_empty() && y.is_empty() && t.is_empty() {
            return None;
        }
        let date = match (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) {
            (Ok(d), Ok(m), Ok(y)) if (2000..=2100).contains(&y) => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        };
        let Some(date) = date else {
            self.error(&part("day"), format!("{what} must be a real date, like 27 3 2027"));
            return None;
        };
        let Some(time) = parse_time(&t) else {
            self.error(&part("day"), format!("{what} must include a time, like 9am or 11:59pm"));
            return None;
        };
        match zone.from_local_datetime(&date.and_time(time)).earliest() {
            Some(local) => Some(local.naive_utc()),
            None => {
                self.error(
                    &part("day"),
                    format!("{what}: that time does not exist on that day (the clocks go forward)"),
                );
                None
            }
        }
    }

    /// Fills `<prefix>_day` … `_time` with a UTC time as the council's clock shows it.
    pub fn set_local_time(&mut self, prefix: &str, at: Option<NaiveDateTime>, zone: Tz) {
        let Some(at) = at else { return };
        let local = at.and_utc().with_timezone(&zone);
        self.set(&format!("{prefix}_day"), local.format("%-d").to_string());
        self.set(&format!("{prefix}_month"), local.format("%-m").to_string());
        self.set(&format!("{prefix}_year"), local.format("%Y").to_string());
        self.set(&format!("{prefix}_time"), local.format("%-I:%M%P").to_string().replace(":00", ""));
    }

    /// The four field views of a date and time, for the `date_time` macro.
    pub fn date_time_view(&self, prefix: &str) -> [FieldView; 4] {
        ["day", "month", "year", "time"].map(|p| self.field(&format!("{prefix}_{p}")))
    }
}

/// A time of day as people write it: "9am", "9:30am", "11:59pm", "12pm", "midnight", "midday", "13:00".
pub fn parse_time(raw: &str) -> Option<NaiveTime> {
    let t = raw.trim().to_lowercase().replace([' ', '.'], "");
    match t.as_str() {
        "midnight" => return NaiveTime::from_hms_opt(0, 0, 0),
        "midday" | "noon" => return NaiveTime::from_hms_opt(12, 0, 0),
        _ => {}
    }
    let (clock, half) = match t.strip_suffix("am") {
        Some(c) => (c, Some(false)),
        None => match t.strip_suffix("pm") {
            Some(c) => (c, Some(true)),
            None => (t.as_str(), None),
        },
    };
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if half.is_some() => (clock.parse::<u32>().ok()?, 0),
        None => return None,
    };
    let hour = match half {
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => h,
    };
    NaiveTime::from_hms_opt(hour, m, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_write_them() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_time("9am"), t(9, 0));
        assert_eq!(parse_time("11:59 PM"), t(23, 59));
        assert_eq!(parse_time("12pm"), t(12, 0));
        assert_eq!(parse_time("12am"), t(0, 0));
        assert_eq!(parse_time("13:05"), t(13, 5));
        assert_eq!(parse_time("midnight"), t(0, 0));
        assert_eq!(parse_time("13pm"), None);
        assert_eq!(parse_time("9"), None);
    }

    #[test]
    fn local_times_become_utc_and_back() {
        let zone: Tz = "Europe/London".parse().unwrap();
        let mut f = Fields::default();
        for (k, v) in [("o_day", "1"), ("o_month", "7"), ("o_year", "2027"), ("o_time", "9am")] {
            f.set(k, v);
        }
        let utc = f.local_time("o", "The opening date", zone).unwrap();
        assert_eq!(utc.to_string(), "2027-07-01 08:00:00");
        let mut g = Fields::default();
        g.set_local_time("o", Some(utc), zone);
        assert_eq!(g.value("o_time"), "9am");
        f.set("o_day", "31");
        f.set("o_month", "2");
        assert_eq!(f.local_time("o", "The opening date", zone), None);
        assert!(f.has_errors());
    }
}
