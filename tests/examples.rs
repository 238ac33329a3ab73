//! The programs of `examples/` run and print what they promise. `cargo test` builds them into
//! the target folder's `examples/` (beside this test's binaries); each runs in seconds on the
//! bundled data. Their figures come from training, so they are checked against what must hold
//! on any machine (a fraction in [0, 1], an attack that does not raise accuracy), not digits.

use std::path::PathBuf;
use std::process::Command;

/// Runs example `name` and returns its stdout; fails with its stderr.
fn run(name: &str) -> String {
    let exe: PathBuf = PathBuf::from(env!("CARGO_BIN_EXE_aegis"))
        .parent()
        .expect("target folder")
        .join("examples")
        .join(name);
    assert!(
        exe.is_file(),
        "{} is not built: `cargo test` builds the examples (or `cargo build --examples`)",
        exe.display()
    );
    let out = Command::new(&exe).output().expect("example starts");
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The number after `label` on its line of `text`.
fn number(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no number after `{label}` in `{line}`"))
}

#[test]
fn train_and_attack() {
    let out = run("train_and_attack");
    let clean = number(&out, "clean accuracy:");
    let robust = number(&out, "PGD-20 accuracy at eps 0.1:");
    assert!(clean > 0.5 && clean <= 1.0, "{out}");
    assert!(
        (0.0..=clean).contains(&robust),
        "PGD raised the accuracy:\n{out}"
    );
}

#[test]
fn import_and_explain() {
    let out = run("import_and_explain");
    assert!(out.contains("imported 20634 parameters"), "{out}");
    assert!(number(&out, "predicted class:") < 10.0, "{out}");
    assert!(number(&out, "attribution sum:").is_finite(), "{out}");
}

#[test]
fn calibrate_and_conformal() {
    let out = run("calibrate_and_conformal");
    assert!(number(&out, "temperature:") > 0.0, "{out}");
    assert!((0.0..=1.0).contains(&number(&out, "coverage:")), "{out}");
    assert!(
        (0.0..=2.0).contains(&number(&out, "mean set size:")),
        "{out}"
    );
}

#[test]
fn review_server() {
    let out = run("review_server");
    let queued = out.lines().find(|l| l.ends_with("items queued for review"));
    let count: Option<usize> = queued.and_then(|l| l.split(' ').next()?.parse().ok());
    assert!(count.is_some_and(|n| n >= 1), "no items queued:\n{out}");
    assert_eq!(out.matches("/review?token=").count(), 2, "{out}");
    assert!(out.contains("summary page: HTTP/1.1 200 OK"), "{out}");
}
