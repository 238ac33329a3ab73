//! The audit log survives SIGKILL: a review process killed between decisions loses no
//! recorded decision and duplicates none, the log still parses, and a second session finishes
//! the queue.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aegis_model::{DataSource, TrainRequest, train_run};
use aegis_oversight::{Queue, read_audit_log};

const BIN: &str = env!("CARGO_BIN_EXE_aegis-oversight");

#[test]
fn sigkill_between_decisions_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut req = TrainRequest::new(DataSource::Blobs);
    req.train = req.train.clone().with_epochs(2);
    req.hidden = Some(vec![8]);
    req.out = Some(run.clone());
    train_run(&req).unwrap();

    let qdir = tmp.path().join("q");
    let status = Command::new(BIN)
        .args(["queue", "--run"])
        .arg(&run)
        .args(["--coverage", "0.5", "--attribution", "none", "--out"])
        .arg(&qdir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let queue = Queue::load(&qdir).unwrap();
    assert!(queue.items.len() >= 20, "{} items", queue.items.len());
    let script = tmp.path().join("decisions.txt");
    let lines: Vec<String> = queue
        .items
        .iter()
        .map(|i| format!("{} accept", i.id))
        .collect();
    std::fs::write(&script, lines.join("\n")).unwrap();
    let log = qdir.join("audit.jsonl");

    let review = || {
        Command::new(BIN)
            .args([
                "review",
                "--reviewer",
                "kill-test",
                "--pause-ms",
                "40",
                "--decisions",
            ])
            .arg(&script)
            .arg(&qdir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kill two sessions part-way (SIGKILL: `Child::kill` on Unix), then let a third finish.
    let mut seen = 0;
    for _ in 0..2 {
        let mut child = review();
        let start = Instant::now();
        loop {
            let n = std::fs::read_to_string(&log)
                .map(|t| t.lines().count())
                .unwrap_or(0);
            if n >= seen + 5 || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let records = read_audit_log(&log).expect("the log parses after SIGKILL");
        assert!(
            records.len() > seen,
            "the session recorded decisions before it was killed"
        );
        seen = records.len();
    }
    assert!(
        seen < queue.items.len(),
        "the sessions were killed before finishing"
    );
    let status = review().wait().unwrap();
    assert!(status.success());
    let records = read_audit_log(&log).unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.item_id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no decision recorded twice");
    assert_eq!(ids.len(), queue.items.len(), "every decision recorded once");
    let order: Vec<&str> = queue.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids, order,
        "decisions in queue order across the three sessions"
    );
}
