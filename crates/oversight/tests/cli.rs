//! The `aegis-oversight` binary end to end on a small tabular run: `calibrate-threshold`
//! writes the contract's `sgr.json`, `queue` + scripted `review` + `report` work together, and
//! bad input (a corrupt audit-log line, a missing run, an invalid parameter) is one line naming
//! the fault with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aegis_model::{DataSource, TrainRequest, train_run};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;
use cli_contract::assert_clean_error;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aegis-oversight"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn commands_work_together_and_bad_input_is_reported() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("aegis-ov-cli-{}", std::process::id()));
    let run_dir = root.join("run");
    let mut req = TrainRequest::new(DataSource::Blobs);
    req.hidden = Some(vec![16]);
    req.out = Some(run_dir.clone());
    train_run(&req).unwrap();

    let sgr = root.join("sgr");
    ok(&[
        "calibrate-threshold",
        "--run",
        &s(&run_dir),
        "--target-risk",
        "0.2",
        "--delta",
        "0.05",
        "--splits",
        "3",
        "--out",
        &s(&sgr),
    ]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sgr.join("sgr.json")).unwrap()).unwrap();
    assert!(
        v["violation_rate"].is_f64() && v["mean_coverage"].is_f64(),
        "{v}"
    );

    // A risk no threshold certifies at this size: the threshold is +∞ (null in JSON), and
    // `queue --sgr` deploys it: every row goes to review, none is decided automatically.
    let hopeless = root.join("sgr-hopeless");
    ok(&[
        "calibrate-threshold",
        "--run",
        &s(&run_dir),
        "--target-risk",
        "0.0001",
        "--delta",
        "0.001",
        "--splits",
        "2",
        "--out",
        &s(&hopeless),
    ]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(hopeless.join("sgr.json")).unwrap()).unwrap();
    assert!(
        v["deployment"]["threshold"].is_null(),
        "{}",
        v["deployment"]
    );
    let all = root.join("q-all");
    let out = ok(&[
        "queue",
        "--run",
        &s(&run_dir),
        "--sgr",
        &s(&hopeless.join("sgr.json")),
        "--out",
        &s(&all),
    ]);
    assert!(out.contains("0 decided automatically"), "{out}");

    let q = root.join("q");
    ok(&[
        "queue",
        "--run",
        &s(&run_dir),
        "--coverage",
        "0.7",
        "--out",
        &s(&q),
    ]);
    let first = std::fs::read_to_string(q.join("queue.jsonl")).unwrap();
    let id =
        serde_json::from_str::<serde_json::Value>(first.lines().next().unwrap()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let decisions = root.join("decisions.txt");
    std::fs::write(&decisions, format!("{id} accept\n")).unwrap();
    let out = ok(&[
        "review",
        &s(&q),
        "--reviewer",
        "ci",
        "--decisions",
        &s(&decisions),
    ]);
    assert!(out.contains("1 decisions recorded"), "{out}");
    let report = ok(&["report", &s(&q), "--out", &s(&root.join("rep"))]);
    assert!(report.contains("system accuracy"), "{report}");

    // A corrupt line in the audit log is named; the file is left as it was.
    let log = q.join("audit.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"item_id\": 3}\n");
    std::fs::write(&log, &text).unwrap();
    assert_clean_error(
        &run(&["review", &s(&q), "--reviewer", "ci"]),
        &["audit.jsonl", "line 2"],
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        text,
        "the log was not rewritten"
    );

    assert_clean_error(
        &run(&["calibrate-threshold", "--run", &s(&root.join("nowhere"))]),
        &["nowhere"],
    );
    assert_clean_error(
        &run(&[
            "calibrate-threshold",
            "--run",
            &s(&run_dir),
            "--delta",
            "2",
            "--out",
            &s(&root.join("x")),
        ]),
        &["delta"],
    );
    assert_clean_error(
        &run(&["report", &s(&q), "--expert-accuracy", "1.5"]),
        &["expert accuracy"],
    );
}
