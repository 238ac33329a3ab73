//! Certified robustness: rows for which no perturbation within a radius can change the
//! prediction, proven (with probability `1 − α` for randomized smoothing), the other side of
//! the attacks' upper bounds.
//!
//! - `bounds/`: bound propagation (IBP, CROWN) for L∞ balls clipped to the input domain;
//! - `clopper_pearson.rs`: the statistics, from `statrs` (Clopper–Pearson lower bound,
//!   binomial test, Φ⁻¹);
//! - `smoothing.rs`: randomized smoothing (Cohen, Rosenfeld & Kolter 2019), PREDICT and
//!   CERTIFY, noise streams keyed by the global row index;
//! - `curve.rs`: certified accuracy against the radius, `curve.csv` / `curve.png`;
//! - `report.rs`: `certify.json`, shards (`partial.json`) and their merge.

pub mod bounds;
pub mod clopper_pearson;
pub mod curve;
pub mod report;
pub mod smoothing;

pub use clopper_pearson::{
    binomial_test_half, lower_confidence_bound, normal_cdf, normal_quantile,
};
pub use curve::{CurvePoint, certified_accuracy_at, certified_curve};
pub use report::{
    CERTIFY_FILE, CertifyReport, PARTIAL_CERTIFY_FILE, PartialCertification, merge_certifications,
    read_partial_certification, summarize, write_certify_report, write_partial_certification,
};
pub use smoothing::{
    Certificate, CertifiedRow, SmoothingConfig, certify_row, certify_rows, predict_row,
    sample_counts,
};
