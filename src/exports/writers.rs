//! The three writers: CSV (the `csv` crate), Excel (rust_xlsxwriter in constant-memory mode, which keeps only
//! the current row in memory) and JSON (an array, one response per line). Each reads pages through
//! `each_page` and writes as it goes.

use super::columns::{is_number, neutralise, Plan, FIXED};
use super::{Row, Source};
use crate::domain::answers::{Answer, Value};
use serde::Serialize;
use std::io::Write;
use utoipa::ToSchema;

/// One response in a JSON export: the same fields as a CSV row, with the answers as the API takes them, so an
/// export can be read back with the code that sends responses.
#[derive(Serialize, ToSchema)]
pub struct ExportedRow<'a> {
    pub reference: &'a str,
    /// How the response reached us: online, api, paper, email or event.
    pub channel: &'a str,
    /// The number of the questionnaire version it answered.
    pub version: i32,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub submitted_at: &'a str,
    /// By question key: an option key, a list of option keys (multiple choice, ranking), a string (text, a
    /// date as YYYY-MM-DD), a number, or an object from row key to option key (grid); `<key>.other` holds
    /// the text given with "Other".
    #[schema(value_type = Object)]
    pub answers: ExportedAnswers<'a>,
}

/// A response's answers as the JSON export writes them, straight from the row (nothing copied).
pub struct ExportedAnswers<'a> {
    plan: &'a Plan,
    answers: &'a [(usize, Answer)],
}

impl Serialize for ExportedAnswers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let others = self.answers.iter().filter(|(_, a)| a.other.is_some()).count();
        let mut map = serializer.serialize_map(Some(self.answers.len() + others))?;
        for (question, answer) in self.answers {
            let key = self.plan.key(*question);
            map.serialize_entry(key, &AnswerJson(&answer.value))?;
            if let Some(other) = &answer.other {
                map.serialize_entry(&format_args!("{key}.other"), other)?;
            }
        }
        map.end()
    }
}

/// A value as the API takes it (as `Value::to_json` gives it), written without building it first.
struct AnswerJson<'a>(&'a Value);

impl Serialize for AnswerJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Choice(k) | Value::Text(k) => serializer.serialize_str(k),
            Value::Choices(ks) | Value::Ranking(ks) => serializer.collect_seq(ks),
            Value::Number(n) => serializer.serialize_i64(*n),
            // YYYY-MM-DD, as `Value::to_json` writes it.
            Value::Date(d) => serializer.collect_str(d),
            Value::Grid(rows) => serializer.collect_map(rows),
        }
    }
}

/// Bytes the writers gather before handing them on: as much as the web layer sends at once.
const BUFFER: usize = 256 * 1024;

/// The cells of a row after the fixed columns, reused from row to row: cleared, then filled.
struct Cells {
    cells: Vec<String>,
}

impl Cells {
    fn new(plan: &Plan) -> Cells {
        Cells { cells: vec![String::new(); plan.columns.len()] }
    }

    fn of(&mut self, plan: &Plan, row: &Row) -> &[String] {
        for cell in &mut self.cells {
            cell.clear();
        }
        for (question, answer) in &row.answers {
            plan.fill(&mut self.cells, *question, answer);
        }
        &self.cells
    }
}

pub fn write_csv<W: Write>(out: W, source: &Source) -> anyhow::Result<u64> {
    let plan = source.plan;
    let mut csv = csv::WriterBuilder::new().buffer_capacity(BUFFER).from_writer(out);
    csv.write_record(plan.header().iter().map(|h| neutralise(h).into_owned()))?;
    let numbers: Vec<bool> = plan.columns.iter().map(is_number).collect();
    let mut cells = Cells::new(plan);
    let mut version = itoa::Buffer::new();
    let written = source.each_page(|rows| {
        for row in rows {
            csv.write_field(neutralise(&row.reference).as_bytes())?;
            csv.write_field(neutralise(&row.channel).as_bytes())?;
            csv.write_field(version.format(row.version))?;
            csv.write_field(neutralise(&row.submitted_at).as_bytes())?;
            for (c, number) in cells.of(plan, row).iter().zip(&numbers) {
                csv.write_field(if *number { c.as_str().into() } else { neutralise(c) }.as_bytes())?;
            }
            csv.write_record(None::<&[u8]>)?;
        }
        Ok(())
    })?;
    csv.flush()?;
    Ok(written)
}

pub fn write_json<W: Write>(out: W, source: &Source) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(BUFFER, out);
    out.write_all(b"[")?;
    let mut first = true;
    let written = source.each_page(|rows| {
        for row in rows {
            let exported = ExportedRow {
                reference: &row.reference,
                channel: &row.channel,
                version: row.version,
                submitted_at: &row.submitted_at,
                answers: ExportedAnswers { plan: source.plan, answers: &row.answers },
            };
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut out, &exported)?;
        }
        Ok(())
    })?;
    out.write_all(b"\n]\n")?;
    out.flush()?;
    Ok(written)
}

/// The most rows a worksheet holds; an export of more goes on over further sheets, each with the header.
const SHEET_ROWS: u32 = 1_048_576;

/// Writes the workbook: the responses (over as many sheets as they need), then a sheet explaining each
/// column. The worksheets are in constant-memory mode; `out` receives the file when it is complete.
pub fn write_xlsx<W: Write + Send>(out: W, source: &Source) -> anyhow::Result<u64> {
    let plan = source.plan;
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    // Compressing the sheets took most of an export's time at the default level (6); the fastest level makes
    // the file about half as large again and takes a fraction of the time.
    workbook.set_zip_compression_level(1);
    let bold = Format::new().set_bold();
    let header: Vec<String> = plan.header().iter().map(|h| neutralise(h).into_owned()).collect();
    let numbers: Vec<bool> = plan.columns.iter().map(is_number).collect();
    let mut sheets = 0;
    let mut new_sheet = |workbook: &mut Workbook| -> anyhow::Result<usize> {
        sheets += 1;
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(if sheets == 1 { "Responses".to_string() } else { format!("Responses {sheets}") })?;
        for (c, name) in header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, name, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(workbook.worksheets().len() - 1)
    };
    let mut at = new_sheet(&mut workbook)?;
    let mut line: u32 = 1;
    let mut cells = Cells::new(plan);
    let mut version = itoa::Buffer::new();
    let written = source.each_page(|rows| {
        for row in rows {
            if line == SHEET_ROWS {
                at = new_sheet(&mut workbook)?;
                line = 1;
            }
            let sheet = workbook.worksheet_from_index(at)?;
            sheet.write_string(line, 0, neutralise(&row.reference))?;
            sheet.write_string(line, 1, neutralise(&row.channel))?;
            sheet.write_string(line, 2, version.format(row.version))?;
            sheet.write_string(line, 3, neutralise(&row.submitted_at))?;
            for (i, cell) in cells.of(plan, row).iter().enumerate() {
                let c = (FIXED.len() + i) as u16;
                if cell.is_empty() {
                    continue;
                }
                match numbers[i].then(|| cell.parse::<i64>().ok()).flatten() {
                    Some(n) => sheet.write_number(line, c, n as f64)?,
                    None => sheet.write_string(line, c, neutralise(cell))?,
                };
            }
            line += 1;
        }
        Ok(())
    })?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("Columns")?;
    for (c, title) in ["Column", "Question key", "Question", "Kind", "What it holds", "Options"].iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    let fixed_meanings = [
        "The response's reference, as the respondent was given it",
        "How it reached us: online, api, paper, email or event",
        "The number of the questionnaire version answered",
        "When it was submitted: RFC 3339, UTC",
    ];
    for (i, (name, meaning)) in FIXED.iter().zip(fixed_meanings).enumerate() {
        sheet.write_string(i as u32 + 1, 0, *name)?;
        sheet.write_string(i as u32 + 1, 4, meaning)?;
    }
    for (i, column) in plan.columns.iter().enumerate() {
        let r = (FIXED.len() + i + 1) as u32;
        sheet.write_string(r, 0, neutralise(&column.name))?;
        sheet.write_string(r, 1, neutralise(&column.question))?;
        sheet.write_string(r, 2, neutralise(&column.prompt))?;
        sheet.write_string(r, 3, column.kind.as_str())?;
        sheet.write_string(r, 4, neutralise(&column.meaning))?;
        sheet.write_string(r, 5, neutralise(&column.options))?;
    }
    workbook.save_to_writer(out)?;
    Ok(written)
}
