//! `aegis-oversight` binary.
fn main() {}
