//! Crash safety of the deep-ensemble cache: SIGKILL at many points of `evaluate` (while it
//! trains and caches members) leaves no torn file and no member that a later call accepts
//! half-trained: the rerun's report equals that of an evaluation never interrupted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aegis_model::{DataSource, TrainConfig, TrainRequest, train_run};

#[path = "../../../tests/support/kill.rs"]
mod kill;

use kill::{assert_json_files_parse, kill_after, read_json, without_keys};

fn evaluate(run: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aegis-uncertainty"));
    cmd.args(["evaluate", "--members", "4", "--passes", "5", "--run"])
        .arg(run);
    cmd
}

/// An MLP with dropout on breast cancer, trained for 40 epochs (members retrain this recipe).
fn train(dir: &Path) {
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.train = TrainConfig::new().with_epochs(40);
    req.dropout = Some(0.2);
    req.out = Some(dir.to_path_buf());
    train_run(&req).unwrap();
}

fn report(run: &Path) -> serde_json::Value {
    let path = run.join("uncertainty").join("evaluate").join("report.json");
    without_keys(&read_json(&path), &["seconds", "wall_seconds"])
}

#[test]
fn a_killed_ensemble_evaluation_reruns_to_the_uninterrupted_report() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    train(&reference);
    let done = evaluate(&reference).output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let expected = report(&reference);

    let mut landed = 0;
    for (i, ms) in [40u64, 150, 300, 500, 800].into_iter().enumerate() {
        let run = tmp.path().join(format!("killed{i}"));
        train(&run);
        landed += usize::from(kill_after(&mut evaluate(&run), Duration::from_millis(ms)));
        assert_json_files_parse(&run);
        let rerun = evaluate(&run).output().unwrap();
        assert!(
            rerun.status.success(),
            "rerun after a kill at {ms} ms: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(report(&run), expected, "rerun after a kill at {ms} ms");
    }
    assert!(
        landed >= 2,
        "only {landed} kills landed before the evaluation finished"
    );
}
