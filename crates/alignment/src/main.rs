//! `aegis-alignment` binary.
fn main() {}
