//! Crash safety of `train`: SIGKILL at many points leaves either no weights or a complete
//! checkpoint that loads, never a torn file; a run whose training did not finish is refused
//! by `eval` with a one-line error (exit 2) unless the user asks for the checkpoint.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aegis_model::RunDir;
use aegis_model::burn::tensor::Device;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aegis-model"))
}

/// Starts an MLP training of 30 epochs on bundled MNIST into `out` and kills it after
/// `after`, or once the first checkpoint exists when `after` is `None`.
fn train_and_kill(out: &Path, after: Option<Duration>) {
    let mut child = bin()
        .args(["train", "--model", "mlp", "--epochs", "30", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let weights = out.join("model.bpk");
    loop {
        let due = match after {
            Some(t) => start.elapsed() >= t,
            None => weights.is_file(),
        };
        if due || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn a_killed_training_leaves_a_complete_checkpoint_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let mut checkpoints = 0;
    for (i, ms) in [50u64, 300, 700, 1100, 1600, 2200, 3000]
        .into_iter()
        .enumerate()
    {
        let out = tmp.path().join(format!("run{i}"));
        train_and_kill(&out, Some(Duration::from_millis(ms)));
        let run = RunDir::new(&out);
        if run.weights_path().is_file() {
            // Never torn: whatever is there loads.
            run.load_checkpoint(&device)
                .unwrap_or_else(|e| panic!("killed after {ms} ms: {e}"));
            checkpoints += 1;
        }
        if !run.metrics_path().is_file() && run.config_path().is_file() {
            let eval = bin().args(["eval", "--run"]).arg(&out).output().unwrap();
            let err = String::from_utf8_lossy(&eval.stderr);
            if run.weights_path().is_file() {
                assert_eq!(eval.status.code(), Some(2), "{err}");
                assert!(
                    err.contains("incomplete run") && err.lines().count() == 1,
                    "{err}"
                );
            } else {
                assert_eq!(eval.status.code(), Some(2), "{err}");
            }
        }
    }
    assert!(checkpoints > 0, "no kill landed after the first epoch");
}

#[test]
fn eval_refuses_an_unfinished_run_unless_asked_for_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    train_and_kill(&out, None);
    assert!(out.join("model.bpk").is_file() && !out.join("metrics.json").is_file());
    let refused = bin().args(["eval", "--run"]).arg(&out).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("incomplete run") && err.contains("--checkpoint"),
        "{err}"
    );
    let asked = bin()
        .args(["eval", "--checkpoint", "--run"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        asked.status.success(),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );
    let said = String::from_utf8_lossy(&asked.stdout);
    assert!(
        said.starts_with("checkpoint of an unfinished run"),
        "{said}"
    );
    let report = std::fs::read_to_string(out.join("eval.json")).unwrap();
    assert!(report.contains("\"incomplete\": true"), "{report}");
}
