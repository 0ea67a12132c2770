//! Small-number suppression for anything residents or the public see: a count under the threshold (10) is
//! replaced by "fewer than 10", and where a published total would let a reader work a suppressed count out
//! from the others beside it, a second count is suppressed too (secondary suppression). Each hidden cell says
//! which of the two it is, so that a reader is told "fewer than 10" only when that is true.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Counts under this are suppressed in every view that is not an officer's own working view.
pub const THRESHOLD: i64 = 10;

/// Why a count is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Reason {
    /// The count itself is under the threshold: shown as "fewer than 10".
    #[serde(rename = "fewer_than_10")]
    FewerThanTen,
    /// The count may be any size: it is hidden only so that a published total cannot give a small one away.
    #[serde(rename = "secondary")]
    Secondary,
}

/// Whether a count is hidden, and why.
pub type Hidden = Option<Reason>;

/// A count that is suppressed on its own account: under the threshold. A zero is not (it gives nothing away).
fn small(n: i64) -> bool {
    n > 0 && n < THRESHOLD
}

/// Which cells of a table to suppress, and why. `cells[r][c]` is the count of row `r` (an option) in column
/// `c` (a group). `row_totals` says the total of each row is published (so a single suppressed cell in a row
/// could be worked out from it); `column_totals` the same for columns: true where the cells of a column add up
/// to a published base (a single choice question's options within one group), false where they need not (the
/// options of a multiple choice question). A zero is never suppressed on its own account; it may be as a
/// second cell.
pub fn suppress(cells: &[Vec<i64>], row_totals: bool, column_totals: bool) -> Vec<Vec<Hidden>> {
    let shown: Vec<Vec<Hidden>> = cells.iter().map(|r| vec![None; r.len()]).collect();
    suppress_from(cells, shown, row_totals, column_totals)
}

/// As `suppress`, starting from cells already hidden for another reason (a whole group too small to show, or
/// itself hidden as a second cell): second cells are then found for those too, so no published total gives
/// one of them away.
pub fn suppress_from(
    cells: &[Vec<i64>],
    mut hidden: Vec<Vec<Hidden>>,
    row_totals: bool,
    column_totals: bool,
) -> Vec<Vec<Hidden>> {
    let rows = cells.len();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    for (r, row) in cells.iter().enumerate() {
        for (c, n) in row.iter().enumerate() {
            if small(*n) {
                hidden[r][c] = Some(Reason::FewerThanTen);
            }
        }
    }
    // Secondary suppression until nothing changes: every published total covering a hidden cell must cover at
    // least two, so that no hidden count is the total minus the counts shown.
    loop {
        let mut changed = false;
        if row_totals {
            for r in 0..rows {
                let line: Vec<(usize, i64, bool)> =
                    (0..cells[r].len()).map(|c| (c, cells[r][c], hidden[r][c].is_some())).collect();
                if let Some(c) = second(&line) {
                    hidden[r][c] = Some(Reason::Secondary);
                    changed = true;
                }
            }
        }
        if column_totals {
            for c in 0..columns {
                let line: Vec<(usize, i64, bool)> = (0..rows)
                    .filter(|r| c < cells[*r].len())
                    .map(|r| (r, cells[r][c], hidden[r][c].is_some()))
                    .collect();
                if let Some(r) = second(&line) {
                    hidden[r][c] = Some(Reason::Secondary);
                    changed = true;
                }
            }
        }
        if !changed {
            return hidden;
        }
    }
}

/// In one line of cells (index, count, hidden) under a published total: when exactly one is hidden, the
/// smallest other to hide as well (a zero first: it gives least away).
fn second(line: &[(usize, i64, bool)]) -> Option<usize> {
    if line.iter().filter(|(_, _, h)| *h).count() != 1 {
        return None;
    }
    line.iter().filter(|(_, _, h)| !h).min_by_key(|(_, n, _)| *n).map(|(i, _, _)| *i)
}

/// A count as published: `None` when suppressed.
pub fn publish(count: i64, hidden: Hidden) -> Option<i64> {
    hidden.is_none().then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Reason::{FewerThanTen as Small, Secondary};

    fn is_hidden(hidden: &[Vec<Hidden>]) -> Vec<Vec<bool>> {
        hidden.iter().map(|r| r.iter().map(Option::is_some).collect()).collect()
    }

    #[test]
    fn small_counts_are_hidden_and_a_second_cell_hides_them_from_the_totals() {
        // Two options (rows) by three groups (columns), single choice: columns add up to their bases.
        let cells = vec![vec![50, 4, 30], vec![20, 40, 35]];
        let hidden = suppress(&cells, true, true);
        // 4 is hidden; its column would give it away (base 44), so 40 is hidden too; its row would give it
        // away (total 84), so the smallest other in the row, 30, goes; then 30's column needs a second: 35.
        // Only the 4 is "fewer than 10"; the others are second cells, of any size.
        assert_eq!(
            hidden,
            vec![vec![None, Some(Small), Some(Secondary)], vec![None, Some(Secondary), Some(Secondary)]]
        );
        let hidden = is_hidden(&hidden);
        for (r, row) in cells.iter().enumerate() {
            for c in 0..row.len() {
                let in_row = (0..row.len()).filter(|cc| hidden[r][*cc]).count();
                let in_column = (0..cells.len()).filter(|rr| hidden[*rr][c]).count();
                assert!(in_row != 1 && in_column != 1, "no published total reveals a single hidden cell");
            }
        }
    }

    #[test]
    fn without_totals_only_the_small_cells_go() {
        let cells = vec![vec![50, 4], vec![0, 12]];
        assert_eq!(suppress(&cells, false, false), vec![vec![None, Some(Small)], vec![None, None]]);
        // With column totals, the zero beside the 4's column is not its partner: the other cell in its column is.
        assert_eq!(suppress(&cells, false, true), vec![vec![None, Some(Small)], vec![None, Some(Secondary)]]);
    }

    #[test]
    fn a_cell_already_hidden_keeps_its_reason_unless_it_is_small_itself() {
        // A whole column hidden as a second cell elsewhere: its 3 is still fewer than 10, its 40 is not.
        let cells = vec![vec![50, 3], vec![60, 40]];
        let from = vec![vec![None, Some(Secondary)], vec![None, Some(Secondary)]];
        assert_eq!(
            suppress_from(&cells, from, false, true),
            vec![vec![None, Some(Small)], vec![None, Some(Secondary)]]
        );
    }

    #[test]
    fn nothing_small_means_nothing_hidden() {
        let cells = vec![vec![10, 20], vec![30, 0]];
        assert_eq!(is_hidden(&suppress(&cells, true, true)), vec![vec![false, false], vec![false, false]]);
    }
}
