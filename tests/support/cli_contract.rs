//! The CLI error contract every Aegis binary keeps (`aegis_model::cli::run_cli`), as one
//! assertion shared by the binaries' test files (`#[path]`-included, so it is not a test of its
//! own): bad input exits with code 2 and prints exactly one stderr line, `error: …`, naming the
//! fault, and never panics.

use std::process::Output;

/// Asserts exit code 2, exactly one stderr line starting with `error:` that contains every
/// `needle`, and no panic.
pub fn assert_clean_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {err}");
    }
}
