//! `aegis-uncertainty` binary.
fn main() {}
