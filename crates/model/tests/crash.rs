//! Crash safety of `train`: SIGKILL at many points leaves either no weights or a complete
//! checkpoint that loads, never a torn file; a run whose training did not finish is refused
//! by `eval` with a one-line error (exit 2) unless the user asks for the checkpoint; and
//! `train --resume` continues any killed run to the same weights and metrics as a run that
//! was never interrupted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aegis_model::RunDir;
use aegis_model::burn::tensor::Device;

#[path = "../../../tests/support/kill.rs"]
mod kill;
use kill::{metrics_without_time, test_probabilities};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aegis-model"))
}

/// The recipe every test here trains: an MLP with dropout (so the resume point must carry the
/// mask streams) for 30 epochs on bundled MNIST.
const RECIPE: [&str; 7] = [
    "train",
    "--model",
    "mlp",
    "--dropout",
    "0.3",
    "--epochs",
    "30",
];

/// Starts [`RECIPE`] into `out` and kills it after `after`, or once the first checkpoint
/// exists when `after` is `None`.
fn train_and_kill(out: &Path, after: Option<Duration>) {
    let mut child = bin()
        .args(RECIPE)
        .arg("--out")
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

/// Trains [`RECIPE`] to the end into `out`.
fn train_through(out: &Path) {
    let done = bin().args(RECIPE).arg("--out").arg(out).output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// Resumes the killed run `out` and checks it ends where the uninterrupted `reference` did.
fn resume_and_compare(out: &Path, reference: &Path, device: &Device) {
    let resumed = bin().args(["train", "--resume"]).arg(out).output().unwrap();
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        resumed.status.success(),
        "resuming {}: {err}",
        out.display()
    );
    assert_eq!(metrics_without_time(out), metrics_without_time(reference));
    assert_eq!(
        test_probabilities(out, device),
        test_probabilities(reference, device)
    );
    assert!(!out.join("resume").exists(), "resume/ left behind");
}

#[test]
fn a_killed_training_leaves_a_complete_checkpoint_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let reference = tmp.path().join("uninterrupted");
    train_through(&reference);
    let mut checkpoints = 0;
    let mut resumed = 0;
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
            resume_and_compare(&out, &reference, &device);
            resumed += 1;
        }
    }
    assert!(checkpoints > 0, "no kill landed after the first epoch");
    assert!(resumed > 0, "no kill landed before the end of training");
}

#[test]
fn resume_refuses_a_finished_run_and_flags_that_would_change_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    train_through(&out);
    let finished = bin()
        .args(["train", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(2), "{err}");
    assert!(
        err.contains("already finished") && err.lines().count() == 1,
        "{err}"
    );
    let changed = bin()
        .args(["train", "--epochs", "3", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(changed.status.code(), Some(2));
    let nothing = bin()
        .args(["train", "--resume"])
        .arg(tmp.path().join("absent"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&nothing.stderr);
    assert_eq!(nothing.status.code(), Some(2), "{err}");
    assert!(err.contains("not a run directory"), "{err}");
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
