//! Statistics over counts: percentages of a base and Wilson score intervals.

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Bases under this are flagged as small.
pub const SMALL_BASE: i64 = 30;

/// `count` as a percentage of `base`, to one decimal place; none when nobody answered.
pub fn percent(count: i64, base: i64) -> Option<f64> {
    (base > 0).then(|| round1(100.0 * count as f64 / base as f64))
}

/// The Wilson score 95% interval for `count` of `base`, as percentages to one decimal place.
pub fn wilson95(count: i64, base: i64) -> Option<[f64; 2]> {
    if base <= 0 {
        return None;
    }
    let n = base as f64;
    let p = count as f64 / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some([round1(100.0 * (centre - half).max(0.0)), round1(100.0 * (centre + half).min(1.0))])
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // 312 of 322: p = 96.9%, Wilson 95% interval 94.4% to 98.3%.
        assert_eq!(percent(312, 322), Some(96.9));
        assert_eq!(wilson95(312, 322), Some([94.4, 98.3]));
        // Edge cases stay inside 0..100 and are not degenerate.
        assert_eq!(wilson95(0, 10), Some([0.0, 27.8]));
        assert_eq!(wilson95(10, 10), Some([72.2, 100.0]));
        assert_eq!(wilson95(0, 0), None);
    }
}
