//! Statistical figures: the bars a test puts on what a trained model does (an accuracy, an
//! attack's success, a coverage, a correlation), `#[path]`-included like `cli_contract.rs`.
//!
//! The same seed trains a slightly different model on another CPU (its SIMD width changes the
//! order of float sums, see ARCHITECTURE.md, "Determinism across machines"), so a bar is put
//! where the spread across seeds, summation orders and ISA levels cannot reach it. Every bar
//! goes through [`at_least`], [`at_most`] or [`within`], which print one line
//!
//! ```text
//! aegis-figure<TAB>NAME<TAB>VALUE<TAB>BAR
//! ```
//!
//! before asserting. The rule for a bar: past the worst value measured by at least half the
//! measured range, and by at least one step of the figure (one row, one split), so that it
//! sits outside the spread, never inside it. Analytic bars (EVD ≥ 0) and checks that hold in
//! every run (a sanity check that passes) keep their exact value. The comment beside each
//! call states the spread measured by
//! `cargo xtask cross-cpu`, which collects those lines (`--nocapture`) while it reruns the test
//! binaries with other training seeds ([`seed`], `AEGIS_TEST_SEED_OFFSET`), with Burn's layers
//! instead of Aegis's kernels (`AEGIS_KERNELS=burn`) and under emulated CPUs.
#![allow(dead_code)]

/// The environment variable that shifts every fixture's training seed (default 0).
pub const SEED_OFFSET_ENV: &str = "AEGIS_TEST_SEED_OFFSET";

/// Set (to anything) by `cargo xtask cross-cpu`: figures are reported, not asserted, so a
/// figure past its bar does not hide the figures after it; the command judges the bars.
pub const REPORT_ONLY_ENV: &str = "AEGIS_FIGURES_REPORT_ONLY";

fn enforced() -> bool {
    std::env::var_os(REPORT_ONLY_ENV).is_none()
}

/// A fixture's training seed: `base` plus `AEGIS_TEST_SEED_OFFSET` (0 when unset). Only
/// seeds of training go through here (what differs between CPUs is the trained model);
/// attack, split and data seeds stay fixed.
pub fn seed(base: u64) -> u64 {
    let offset = std::env::var(SEED_OFFSET_ENV)
        .ok()
        .map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("{SEED_OFFSET_ENV}={v:?} is not a whole number"))
        })
        .unwrap_or(0);
    base + offset
}

fn report(name: &str, value: f64, bar: &str) {
    println!("aegis-figure\t{name}\t{value}\t{bar}");
}

/// Asserts `value >= bar` after reporting it.
pub fn at_least(name: &str, value: f64, bar: f64) {
    report(name, value, &format!(">= {bar}"));
    assert!(
        !enforced() || value >= bar,
        "{name}: {value} is below its bar {bar}"
    );
}

/// Asserts `value <= bar` after reporting it.
pub fn at_most(name: &str, value: f64, bar: f64) {
    report(name, value, &format!("<= {bar}"));
    assert!(
        !enforced() || value <= bar,
        "{name}: {value} is above its bar {bar}"
    );
}

/// Asserts that a check holds, after reporting it as 1 (holds) or 0 with the bar `>= 1`:
/// a sanity check that passes in every run measured.
pub fn holds(name: &str, passed: bool) {
    at_least(name, f64::from(u8::from(passed)), 1.0);
}

/// Asserts `lo <= value <= hi` after reporting it.
pub fn within(name: &str, value: f64, lo: f64, hi: f64) {
    report(name, value, &format!("in [{lo}, {hi}]"));
    assert!(
        !enforced() || (lo..=hi).contains(&value),
        "{name}: {value} is outside its bars [{lo}, {hi}]"
    );
}
