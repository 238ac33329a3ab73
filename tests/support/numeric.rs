//! Numeric comparisons shared by the tests that check one computation against another
//! (devices against flex, Aegis against PyTorch), `#[path]`-included like `cli_contract.rs`.

/// The largest `|a[i] − b[i]|`; the slices must have the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared slices differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
