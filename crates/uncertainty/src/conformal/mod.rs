//! Split conformal prediction sets for classification (Vovk et al. 2005; Angelopoulos &
//! Bates 2021) with three non-conformity scores:
//! - **LAC** (Sadinle, Lei & Wasserman 2019): `s(x, y) = 1 − p_y`.
//! - **APS** (Romano, Sesia & Candès 2020): the probability mass of the classes ranked at or
//!   above `y` (sorted by probability, ties by class index); randomised:
//!   `s = mass above y + u·p_y` with `u ~ U(0, 1)`, else `mass above y + p_y`.
//! - **RAPS** (Angelopoulos, Bates, Malik & Jordan 2021): APS plus `λ·max(0, rank(y) − k_reg)`
//!   with `rank` 1-based.
//!
//! Calibration: with `n` calibration scores, `q̂` is the `k`-th smallest for
//! `k = ⌈(n + 1)(1 − α)⌉`; when `k > n`, `q̂ = +∞` (every class). The prediction set is
//! `{y : s(x, y) ≤ q̂}` (for randomised scores with one `u` per test input). Under
//! exchangeability, `P(y ∈ set) ≥ 1 − α` (and `≤ 1 − α + 1/(n + 1)` without ties).
//!
//! Files, lowest first (there is no family trait: one predictor, several scores):
//! - `scores.rs`: [`ConformalScore`], [`ConformalConfig`] and the [`score`] function;
//! - `split.rs`: [`SplitConformal`] (calibrate, predict sets) and [`conformal_quantile`];
//! - `evaluation.rs`: [`evaluate_conformal`] over `K` random calibration/test splits →
//!   [`ConformalReport`] (`conformal.json`).

mod evaluation;
mod scores;
mod split;

pub use evaluation::{ConformalReport, ConformalSplit, evaluate_conformal};
pub use scores::{ConformalConfig, ConformalScore, score};
pub use split::{SplitConformal, conformal_quantile};
