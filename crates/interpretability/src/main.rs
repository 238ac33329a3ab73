//! `aegis-interpretability` binary.
fn main() {}
