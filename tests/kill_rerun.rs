//! Crash safety of `aegis audit`: SIGKILL at many points of a standard audit leaves no torn
//! file, and running the same audit again in the same folder (reusing what the killed one
//! cached) ends with the `audit.json` of an audit that was never interrupted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aegis::model::{DataSource, TrainConfig, TrainRequest, train_run};

#[path = "support/kill.rs"]
mod kill;

use kill::{assert_json_files_parse, kill_after, read_json, without_keys};

/// What differs between two complete audits of the same model: when, how long, and whether a
/// stage came from the cache.
const VOLATILE: [&str; 3] = ["created", "seconds", "status"];

fn audit(run: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aegis"));
    cmd.args(["audit", "--profile", "standard", "--run"])
        .arg(run)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn a_killed_audit_leaves_no_torn_file_and_a_rerun_ends_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.train = TrainConfig::new().with_epochs(5);
    req.out = Some(run.clone());
    train_run(&req).unwrap();

    let reference = tmp.path().join("reference");
    assert!(audit(&run, &reference).status().unwrap().success());
    let expected = without_keys(&read_json(&reference.join("audit.json")), &VOLATILE);

    let mut landed = 0;
    for (i, ms) in [30u64, 120, 250, 400, 600, 900, 1300, 1800]
        .into_iter()
        .enumerate()
    {
        let out = tmp.path().join(format!("killed{i}"));
        landed += usize::from(kill_after(
            &mut audit(&run, &out),
            Duration::from_millis(ms),
        ));
        assert_json_files_parse(&out);
        let rerun = audit(&run, &out).output().unwrap();
        assert!(
            rerun.status.success(),
            "rerun after a kill at {ms} ms: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        let got = without_keys(&read_json(&out.join("audit.json")), &VOLATILE);
        assert_eq!(got, expected, "rerun after a kill at {ms} ms");
    }
    assert!(
        landed >= 4,
        "only {landed} kills landed before the audit finished"
    );
}
