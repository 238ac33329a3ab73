//! The certified-accuracy-vs-radius curve of a certification (Cohen et al. 2019, Figure 7 and
//! Table 1): at radius r, the fraction of rows whose certified prediction is correct with a
//! radius of at least r. Written as `curve.csv` and `curve.png`.

use std::path::Path;

use aegis_model::io::write_atomic;
use aegis_model::plot::{Series, line_chart};
use serde::{Deserialize, Serialize};

use super::smoothing::CertifiedRow;
use crate::error::Result;

/// Points of the curve per σ: radii are `k·σ/20` for `k = 0, 1, …` up to the largest radius
/// the settings can certify, so σ, σ/2 and their multiples are on the grid (σ = 0.25: 0.25,
/// 0.5, 0.75, as in Cohen et al.'s tables).
pub const STEPS_PER_SIGMA: usize = 20;

/// One point of the curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// L2 radius.
    pub radius: f64,
    /// Rows certified correct at this radius.
    pub certified: usize,
    /// `certified` over all rows.
    pub certified_accuracy: f64,
}

/// The fraction of `rows` certified correct at radius `r`: correct and `radius ≥ r`.
pub fn certified_accuracy_at(rows: &[CertifiedRow], r: f64) -> (usize, f64) {
    let k = rows.iter().filter(|x| x.correct && x.radius >= r).count();
    (k, k as f64 / rows.len().max(1) as f64)
}

/// The curve on radii `k·σ/20` from 0 to `max_radius` (inclusive where it falls on the grid,
/// plus one point past it, where the accuracy is 0).
pub fn certified_curve(rows: &[CertifiedRow], sigma: f64, max_radius: f64) -> Vec<CurvePoint> {
    let steps = STEPS_PER_SIGMA as f64;
    let last = (max_radius * steps / sigma).floor().max(0.0) as usize + 1;
    (0..=last.min(100_000))
        .map(|k| {
            let radius = sigma * k as f64 / steps;
            let (certified, certified_accuracy) = certified_accuracy_at(rows, radius);
            CurvePoint {
                radius,
                certified,
                certified_accuracy,
            }
        })
        .collect()
}

/// Writes `dir/curve.csv` (`radius,certified,certified_accuracy`) and `dir/curve.png`.
pub fn write_curve(dir: &Path, curve: &[CurvePoint], title: &str) -> Result<()> {
    let mut csv = String::from("radius,certified,certified_accuracy\n");
    for p in curve {
        csv.push_str(&format!(
            "{},{},{}\n",
            p.radius, p.certified, p.certified_accuracy
        ));
    }
    write_atomic(&dir.join("curve.csv"), csv.as_bytes())?;
    let series = Series {
        name: "certified accuracy".into(),
        points: curve
            .iter()
            .map(|p| (p.radius, p.certified_accuracy))
            .collect(),
    };
    line_chart(
        &dir.join("curve.png"),
        title,
        "L2 radius (raw input units)",
        "certified accuracy (fraction of rows)",
        &[series],
        Some((0.0, 1.0)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(correct: bool, radius: f64) -> CertifiedRow {
        CertifiedRow {
            index: 0,
            label: 0,
            prediction: Some(if correct { 0 } else { 1 }),
            count: 0,
            p_lower: 0.0,
            radius,
            correct,
            seconds: 0.0,
        }
    }

    #[test]
    fn curve_counts_correct_rows_at_least_as_robust() {
        let rows = [
            row(true, 0.3),
            row(true, 0.0),
            row(false, 0.9),
            row(true, 0.5),
        ];
        let curve = certified_curve(&rows, 0.25, 0.6);
        assert_eq!(curve.len(), 50, "0, 0.0125, …, 0.6 and one more");
        assert_eq!(curve[0].certified, 3);
        assert_eq!(curve[0].certified_accuracy, 0.75);
        let at = |r: f64| curve.iter().find(|p| p.radius == r).unwrap().certified;
        assert_eq!(at(0.25), 2);
        assert_eq!(at(0.5), 1);
        assert_eq!(curve.last().unwrap().certified, 0);
    }
}
