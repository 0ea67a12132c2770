//! Small-number suppression for anything residents or the public see: a count under the threshold (10) is
//! replaced by "fewer than 10", and where a published total would let a reader work a suppressed count out
//! from the others beside it, a second count is suppressed too (secondary suppression).

/// Counts under this are suppressed in every view that is not an officer's own working view.
pub const THRESHOLD: i64 = 10;

/// Which cells of a table to suppress. `cells[r][c]` is the count of row `r` (an option) in column `c` (a
/// group). `row_totals` says the total of each row is published (so a single suppressed cell in a row could
/// be worked out from it); `column_totals` the same for columns: true where the cells of a column add up to a
/// published base (a single choice question's options within one group), false where they need not (the
/// options of a multiple choice question). A zero is never suppressed on its own account; it may be as a
/// second cell.
pub fn suppress(cells: &[Vec<i64>], row_totals: bool, column_totals: bool) -> Vec<Vec<bool>> {
    let hidden: Vec<Vec<bool>> = cells.iter().map(|r| r.iter().map(|n| *n > 0 && *n < THRESHOLD).collect()).collect();
    suppress_from(cells, hidden, row_totals, column_totals)
}

/// As `suppress`, starting from cells already hidden for another reason (a whole group too small to show):
/// second cells are then found for those too, so no published total gives one of them away.
pub fn suppress_from(
    cells: &[Vec<i64>],
    mut hidden: Vec<Vec<bool>>,
    row_totals: bool,
    column_totals: bool,
) -> Vec<Vec<bool>> {
    let rows = cells.len();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    for (r, row) in cells.iter().enumerate() {
        for (c, n) in row.iter().enumerate() {
            hidden[r][c] |= *n > 0 && *n < THRESHOLD;
        }
    }
    // Secondary suppression until nothing changes: every published total covering a hidden cell must cover at
    // least two, so that no hidden count is the total minus the counts shown.
    loop {
        let mut changed = false;
        if row_totals {
            for r in 0..rows {
                let line: Vec<(usize, i64, bool)> =
                    (0..cells[r].len()).map(|c| (c, cells[r][c], hidden[r][c])).collect();
                if let Some(c) = second(&line) {
                    hidden[r][c] = true;
                    changed = true;
                }
            }
        }
        if column_totals {
            for c in 0..columns {
                let line: Vec<(usize, i64, bool)> =
                    (0..rows).filter(|r| c < cells[*r].len()).map(|r| (r, cells[r][c], hidden[r][c])).collect();
                if let Some(r) = second(&line) {
                    hidden[r][c] = true;
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
pub fn publish(count: i64, hidden: bool) -> Option<i64> {
    (!hidden).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_hidden_and_a_second_cell_hides_them_from_the_totals() {
        // Two options (rows) by three groups (columns), single choice: columns add up to their bases.
        let cells = vec![vec![50, 4, 30], vec![20, 40, 35]];
        let hidden = suppress(&cells, true, true);
        // 4 is hidden; its column would give it away (base 44), so 40 is hidden too; its row would give it
        // away (total 84), so the smallest other in the row, 30, goes; then 30's column needs a second: 35.
        assert_eq!(hidden, vec![vec![false, true, true], vec![false, true, true]]);
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
        assert_eq!(suppress(&cells, false, false), vec![vec![false, true], vec![false, false]]);
        // With column totals, the zero beside the 4's column is not its partner: the other cell in its column is.
        assert_eq!(suppress(&cells, false, true), vec![vec![false, true], vec![false, true]]);
    }

    #[test]
    fn nothing_small_means_nothing_hidden() {
        let cells = vec![vec![10, 20], vec![30, 0]];
        assert_eq!(suppress(&cells, true, true), vec![vec![false, false], vec![false, false]]);
    }
}
