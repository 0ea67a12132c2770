//! The results dashboard's figures, as the dashboard, the live fragment and the printed report show them:
//! responses by channel and by day, a headline card per chosen scale question, and per question the report's
//! counts with the net agreement (scales and grids), the number summary (numbers) and the geometry of its
//! server-drawn bar chart. Pure: built from the report and the running totals' tallies.

use super::crosstab::channel_label;
use super::figures::{self, NumberSummary};
use super::report::{OptionResult, QuestionResult, Report};
use super::stats::{percent, SMALL_BASE};
use super::suppression::{Hidden, Reason};
use super::tally::Tallies;
use crate::domain::questionnaire::Kind;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub responses: i64,
    /// Responses by channel, most first, and their chart.
    pub channels: Vec<Share>,
    pub channel_chart: Bars,
    /// Responses by day, oldest first, with the chart of them.
    pub days: Days,
    pub headlines: Vec<Headline>,
    pub questions: Vec<Figures>,
    /// Bases under this are flagged.
    pub small_base: i64,
}

/// A part of the responses.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub key: String,
    pub label: String,
    pub count: i64,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Days {
    pub rows: Vec<Day>,
    /// The most responses on one day: the chart's scale.
    pub most: i64,
    pub chart: Columns,
}

#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// YYYY-MM-DD, in the council's zone.
    pub day: String,
    pub total: i64,
    /// The day's responses by channel, in the order of `Dashboard::channels`.
    pub by_channel: Vec<i64>,
}

/// A column chart's geometry, in the units of its 600 by 200 view box.
#[derive(Debug, Clone, Serialize)]
pub struct Columns {
    pub bars: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// "97.0% agree (970 of 1,000 who answered)".
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub key: String,
    pub prompt: String,
    /// What those counted said: "agree", "support", "are satisfied".
    pub verb: &'static str,
    pub count: i64,
    pub base: i64,
    pub percent: f64,
    pub small_base: bool,
}

/// A question's figures as the dashboard shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    #[serde(flatten)]
    pub question: QuestionResult,
    /// Scales: the share agreeing minus the share disagreeing, in points.
    pub net_agreement: Option<f64>,
    /// Numbers: mean, median and range.
    pub numbers: Option<NumberSummary>,
    /// Written and date answers: nothing to chart, only how many answered.
    pub free_text: bool,
    /// The bar chart of the options (none for a grid, whose rows have one each).
    pub chart: Option<Bars>,
    /// A grid's rows: each row's net agreement and chart, in the order of `question.rows`.
    pub row_figures: Vec<RowFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowFigures {
    pub net_agreement: Option<f64>,
    pub chart: Bars,
}

/// A horizontal bar chart's geometry: per option a label line and a bar under it, in a view box 600 wide.
#[derive(Debug, Clone, Serialize)]
pub struct Bars {
    pub height: f64,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// The label, shortened to fit (the table beside the chart has it whole).
    pub label: String,
    pub label_y: f64,
    pub bar_y: f64,
    pub width: f64,
    /// "96.9%"; when suppressed, "fewer than 10", or "not shown" for a second count (the table beside the
    /// chart says why).
    pub value: String,
    pub value_x: f64,
}

/// The width of a bar at 100%, out of the 600 of the view box (the rest holds the value).
const FULL: f64 = 460.0;
const ROW: f64 = 44.0;
const LABEL_CHARS: usize = 70;

/// Builds the dashboard from a report (as its viewer may read it) and the tallies it was built from (with
/// number answers and days). `headlines`: the questions officers chose, or none for every scale question.
pub fn build(report: &Report, tallies: &Tallies, headlines: Option<&[String]>) -> Dashboard {
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_day: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for t in tallies.values() {
        for ((day, channel), n) in &t.days {
            *by_channel.entry(channel.clone()).or_default() += n;
            *by_day.entry(day.clone()).or_default().entry(channel.clone()).or_default() += n;
        }
    }
    let mut channels: Vec<Share> = by_channel
        .into_iter()
        .map(|(key, count)| Share {
            label: channel_label(&key).to_string(),
            percent: percent(count, report.responses),
            key,
            count,
        })
        .collect();
    channels.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    let rows: Vec<Day> = by_day
        .into_iter()
        .map(|(day, counts)| Day {
            total: counts.values().sum(),
            by_channel: channels.iter().map(|c| counts.get(&c.key).copied().unwrap_or(0)).collect(),
            day,
        })
        .collect();
    let most = rows.iter().map(|d| d.total).max().unwrap_or(0);
    let chart = columns(&rows.iter().map(|d| d.total).collect::<Vec<_>>(), most);
    let questions: Vec<Figures> = report.questions.iter().map(|q| figures_of(q, tallies)).collect();
    let headlines = report
        .questions
        .iter()
        .filter(|q| q.kind == Kind::Scale && !q.removed)
        .filter(|q| headlines.is_none_or(|keys| keys.contains(&q.key)))
        .filter_map(headline)
        .collect();
    Dashboard {
        responses: report.responses,
        channel_chart: bars_of(channels.iter().map(|c| (c.label.as_str(), Ok(c.count), c.percent))),
        channels,
        days: Days { rows, most, chart },
        headlines,
        questions,
        small_base: SMALL_BASE,
    }
}

/// The headline card of a scale question: the share for, over those who answered.
pub fn headline(q: &QuestionResult) -> Option<Headline> {
    let (count, percent) = figures::share_for(&q.options, q.base)?;
    let words: String = q.options.iter().map(|o| o.label.to_lowercase()).collect::<Vec<_>>().join(" ");
    let verb = if words.contains("support") {
        "support"
    } else if words.contains("satisfied") {
        "are satisfied"
    } else if words.contains("in favour") {
        "are in favour"
    } else {
        "agree"
    };
    Some(Headline {
        key: q.key.clone(),
        prompt: q.prompt.clone(),
        verb,
        count,
        base: q.base,
        percent,
        small_base: q.small_base,
    })
}

fn figures_of(q: &QuestionResult, tallies: &Tallies) -> Figures {
    let scale = matches!(q.kind, Kind::Scale | Kind::Grid);
    let numbers =
        (q.kind == Kind::Number).then(|| figures::number_summary(&figures::values_of(tallies, &q.key))).flatten();
    let chart = (!q.options.is_empty() && q.kind != Kind::Grid).then(|| bars(&q.options));
    let row_figures = q
        .rows
        .iter()
        .map(|r| RowFigures { net_agreement: figures::net_agreement(&r.options, r.base), chart: bars(&r.options) })
        .collect();
    Figures {
        net_agreement: if scale && q.kind == Kind::Scale { figures::net_agreement(&q.options, q.base) } else { None },
        numbers,
        free_text: matches!(q.kind, Kind::ShortText | Kind::LongText | Kind::Date),
        chart,
        row_figures,
        question: q.clone(),
    }
}

/// The bars of a question's options, each as wide as its percentage of the base.
pub fn bars(options: &[OptionResult]) -> Bars {
    bars_of(options.iter().map(|o| (o.label.as_str(), o.count.ok_or(o.suppression), o.percent)))
}

/// Bars for (label, count — or why it is not shown —, percentage) items.
fn bars_of<'a>(items: impl ExactSizeIterator<Item = (&'a str, Result<i64, Hidden>, Option<f64>)>) -> Bars {
    let n = items.len();
    let bars: Vec<Bar> = items
        .enumerate()
        .map(|(i, (label, count, percent))| {
            let top = i as f64 * ROW;
            let width = percent.map_or(0.0, |p| (p / 100.0 * FULL * 10.0).round() / 10.0);
            Bar {
                label: shorten(label),
                label_y: top + 14.0,
                bar_y: top + 20.0,
                width,
                value: match (count, percent) {
                    (Err(Some(Reason::Secondary)), _) => "not shown".to_string(),
                    (Err(_), _) => "fewer than 10".to_string(),
                    (Ok(_), Some(p)) => format!("{p:.1}%"),
                    (Ok(_), None) => "–".to_string(),
                },
                value_x: width + 6.0,
            }
        })
        .collect();
    Bars { height: (n as f64 * ROW).max(ROW), bars }
}

/// Columns for a series of counts, scaled to the largest, in a 600 by 200 view box.
fn columns(counts: &[i64], most: i64) -> Columns {
    if counts.is_empty() || most == 0 {
        return Columns { bars: Vec::new() };
    }
    let slot = 600.0 / counts.len() as f64;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let height = round(190.0 * *n as f64 / most as f64);
            let width = (slot * 0.8).min(40.0);
            Column {
                x: round(i as f64 * slot + (slot - width) / 2.0),
                y: round(200.0 - height),
                width: round(width),
                height,
            }
        })
        .collect();
    Columns { bars }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::tests::sample;
    use crate::domain::validation::from_json;
    use crate::results::report;
    use crate::results::tally::Tally;
    use serde_json::json;

    #[test]
    fn channels_days_headlines_and_bars_come_from_the_totals() {
        let q = sample();
        let mut t = Tally::default();
        let a = from_json(
            &q,
            json!({"support": "agree", "services": ["police"], "rank": ["a","b","c"], "people": 3})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        t.add(&q, &a, "online", "2026-12-01");
        t.add(&q, &a, "online", "2026-12-02");
        t.add(&q, &a, "paper", "2026-12-02");
        let tallies: Tallies = [(1, t)].into();
        let r = report::build("x", &[(1, &q)], &tallies);
        let d = build(&r, &tallies, None);
        assert_eq!(d.responses, 3);
        assert_eq!(
            d.channels.iter().map(|c| (c.key.as_str(), c.count)).collect::<Vec<_>>(),
            [("online", 2), ("paper", 1)]
        );
        assert_eq!(
            d.days.rows.iter().map(|x| (x.day.as_str(), x.total)).collect::<Vec<_>>(),
            [("2026-12-01", 1), ("2026-12-02", 2)]
        );
        assert_eq!(d.days.rows[1].by_channel, [1, 1]);
        assert_eq!(d.days.chart.bars[1].height, 190.0);
        let people = d.questions.iter().find(|f| f.question.key == "people").unwrap();
        assert_eq!(people.numbers.as_ref().unwrap().mean, 3.0);
        let support = d.questions.iter().find(|f| f.question.key == "support").unwrap();
        let chart = support.chart.as_ref().unwrap();
        assert!(chart.bars.iter().any(|b| b.width == FULL && b.value == "100.0%"));
        if r.questions.iter().any(|q| q.kind == Kind::Scale) {
            assert!(!d.headlines.is_empty());
        }
        assert!(build(&r, &tallies, Some(&[])).headlines.is_empty(), "officers may choose none");
    }
}
