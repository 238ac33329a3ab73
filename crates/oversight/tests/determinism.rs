//! Determinism of `aegis-oversight` (README, "Determinism"): `calibrate-threshold`, `queue`,
//! a scripted `review` and `report`, each run three times with the same seeds (twice with the
//! default thread count, once with `--threads 1`), write the same bytes; the audit log's
//! decision times are the only difference. (`serve` writes the same log from a browser's
//! answers; its reviewer tokens are random on purpose.)

use std::path::{Path, PathBuf};
use std::process::Command;

use aegis_model::DataSource;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, copy_into, train_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_aegis-oversight");
const QUEUE: &[&str] = &[
    "queue",
    "--run",
    "cnn",
    "--coverage",
    "0.9",
    "--out",
    "queue",
];

/// Decisions on the queue's first six items (labels and accepts in turn), found by building
/// the queue once in `fixtures`.
fn decisions(fixtures: &Path) -> String {
    let out = Command::new(BIN)
        .args(QUEUE)
        .current_dir(fixtures)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = std::fs::read_to_string(fixtures.join("queue/queue.jsonl")).unwrap();
    let mut lines = String::new();
    for (k, line) in items.lines().take(6).enumerate() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = item["id"].as_str().unwrap();
        let decision = if k % 2 == 0 { "3" } else { "accept" };
        lines.push_str(&format!("{id} {decision}\n"));
    }
    lines
}

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-oversight");
    let fixtures = root.join("fixtures");
    let _ = std::fs::remove_dir_all(&fixtures);
    train_fixture(&fixtures.join("cnn"), DataSource::Mnist, 1);
    let decided = decisions(&fixtures);
    let setup = |dir: &Path| {
        copy_into(&fixtures.join("cnn"), dir);
        std::fs::write(dir.join("decisions.txt"), &decided).unwrap();
    };
    assert_deterministic(
        Path::new(BIN),
        &root.join("runs"),
        &setup,
        &[
            Step::Run(&[
                "calibrate-threshold",
                "--run",
                "cnn",
                "--target-risk",
                "0.05",
                "--delta",
                "0.05",
                "--splits",
                "3",
                "--out",
                "sgr",
            ]),
            Step::Run(&[
                "calibrate-threshold",
                "--run",
                "cnn",
                "--target-risk",
                "0.2",
                "--delta",
                "0.05",
                "--splits",
                "3",
                "--confidence",
                "margin",
                "--estimator",
                "mc-dropout",
                "--passes",
                "3",
                "--out",
                "sgr-mc",
            ]),
            Step::Run(QUEUE),
            Step::Run(&[
                "queue",
                "--run",
                "cnn",
                "--sgr",
                "sgr/sgr.json",
                "--attribution",
                "saliency",
                "--out",
                "queue-sgr",
            ]),
            Step::Run(&[
                "review",
                "queue",
                "--reviewer",
                "ci",
                "--decisions",
                "decisions.txt",
            ]),
            Step::Run(&["report", "queue", "--out", "report"]),
        ],
    );
}
