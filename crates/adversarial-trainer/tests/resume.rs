//! `train --resume` of an adversarial training killed with SIGKILL ends with the same metrics,
//! weights and PGD-40 report as the same training never interrupted (TRADES with dropout on
//! breast cancer: the resume point must carry Adam's state and the dropout streams, and the
//! inner attack's random starts must not depend on where the process started).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aegis_model::burn::tensor::Device;

#[path = "../../../tests/support/kill.rs"]
mod kill;
use kill::{metrics_without_time, test_probabilities};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aegis-adversarial-trainer"))
}

/// TRADES at ε = 0.25 std, 3 inner steps, dropout 0.2, 40 epochs of 455 rows.
const RECIPE: [&str; 15] = [
    "train",
    "--data",
    "breast-cancer",
    "--method",
    "trades",
    "--eps",
    "0.25",
    "--steps",
    "3",
    "--dropout",
    "0.2",
    "--epochs",
    "40",
    "--warmup-epochs",
    "5",
];

fn pgd_report(run: &Path) -> serde_json::Value {
    let path = run.join("attack-pgd-eps0.25").join("attack.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let r = r.as_object_mut().unwrap();
    r.retain(|k, _| !k.contains("seconds"));
    serde_json::Value::Object(r.clone())
}

/// Starts the recipe into `out` and kills it once `epochs` epochs are complete (its resume
/// point says so), before it finishes.
fn train_and_kill_after(out: &Path, epochs: usize) -> bool {
    let mut child = bin()
        .args(RECIPE)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = out.join("resume").join("state.json");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        let done = std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epochs_done"].as_u64());
        if done.is_some_and(|d| d as usize >= epochs) || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().ok(); // SIGKILL
    child.wait().unwrap();
    !out.join("metrics.json").is_file()
}

#[test]
fn a_killed_adversarial_training_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let reference = tmp.path().join("uninterrupted");
    let full = bin()
        .args(RECIPE)
        .arg("--out")
        .arg(&reference)
        .output()
        .unwrap();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );

    let mut killed = 0;
    for (i, epochs) in [1usize, 7, 20].into_iter().enumerate() {
        let out = tmp.path().join(format!("killed{i}"));
        if !train_and_kill_after(&out, epochs) {
            continue; // it finished before the kill landed
        }
        killed += 1;
        let resumed = bin()
            .args(["train", "--resume"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&resumed.stderr);
        assert!(resumed.status.success(), "{err}");
        assert_eq!(metrics_without_time(&out), metrics_without_time(&reference));
        assert_eq!(
            test_probabilities(&out, &device),
            test_probabilities(&reference, &device)
        );
        assert_eq!(pgd_report(&out), pgd_report(&reference));
    }
    assert!(killed > 0, "every training finished before its kill");
}

#[test]
fn plain_resume_refuses_an_adversarial_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    assert!(train_and_kill_after(&out, 1), "finished before the kill");
    let plain = Command::new(
        Path::new(env!("CARGO_BIN_EXE_aegis-adversarial-trainer")).with_file_name("aegis-model"),
    )
    .args(["train", "--resume"])
    .arg(&out)
    .output();
    // aegis-model is built beside this crate's binary in a workspace test run.
    let Ok(plain) = plain else { return };
    let err = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(plain.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another objective") && err.lines().count() == 1,
        "{err}"
    );
}
