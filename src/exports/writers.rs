//! The three writers: CSV (the `csv` crate), Excel (rust_xlsxwriter in constant-memory mode, which keeps only
//! the current row in memory) and JSON (an array, one response per line). Each reads pages through
//! `each_page` and writes as it goes.

use super::columns::{is_number, neutralise, Plan, FIXED};
use super::{Row, Source};
use serde::Serialize;
use std::collections::BTreeMap;
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
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// The cells of one row after the fixed columns.
fn cells(plan: &Plan, row: &Row) -> Vec<String> {
    let mut cells = vec![String::new(); plan.columns.len()];
    for (key, answer) in &row.answers {
        plan.fill(&mut cells, key, answer);
    }
    cells
}

fn fixed(row: &Row) -> [String; 4] {
    [row.reference.clone(), row.channel.clone(), row.version.to_string(), row.submitted_at.clone()]
}

pub fn write_csv<W: Write>(out: W, source: &Source) -> anyhow::Result<u64> {
    let plan = source.plan;
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(plan.header().iter().map(|h| neutralise(h).into_owned()))?;
    let numbers: Vec<bool> = plan.columns.iter().map(is_number).collect();
    let written = source.each_page(|rows| {
        for row in rows {
            let cells = cells(plan, row);
            let fixed = fixed(row);
            for f in &fixed {
                csv.write_field(neutralise(f).as_bytes())?;
            }
            for (c, number) in cells.iter().zip(&numbers) {
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
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    out.write_all(b"[")?;
    let mut first = true;
    let written = source.each_page(|rows| {
        for row in rows {
            let mut answers = BTreeMap::new();
            for (key, answer) in &row.answers {
                answers.insert(key.clone(), answer.value.to_json());
                if let Some(other) = &answer.other {
                    answers.insert(format!("{key}.other"), other.clone().into());
                }
            }
            let exported = ExportedRow {
                reference: &row.reference,
                channel: &row.channel,
                version: row.version,
                submitted_at: &row.submitted_at,
                answers,
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
    let written = source.each_page(|rows| {
        for row in rows {
            if line == SHEET_ROWS {
                at = new_sheet(&mut workbook)?;
                line = 1;
            }
            let sheet = workbook.worksheet_from_index(at)?;
            for (c, value) in fixed(row).iter().enumerate() {
                sheet.write_string(line, c as u16, neutralise(value))?;
            }
            for (i, cell) in cells(plan, row).iter().enumerate() {
                let c = (FIXED.len() + i) as u16;
                if cell.is_empty() {
                    continue;
                }
                match cell.parse::<i64>() {
                    Ok(n) if numbers[i] => sheet.write_number(line, c, n as f64)?,
                    _ => sheet.write_string(line, c, neutralise(cell))?,
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
