//! The review state's rules without a server: who is shown what, first decision wins, undo,
//! double review, leases and resumption from the log.

use std::path::Path;
use std::time::{Duration, Instant};

use super::state::{Answer, ItemStatus, Refusal, ReviewState};
use crate::audit::{Decision, read_audit_log};
use crate::queue::test_queue as queue;

fn open(log: &Path, n: usize, per_item: usize) -> ReviewState {
    ReviewState::open(
        queue(n),
        log,
        vec!["ann".into(), "bob".into()],
        per_item,
        Duration::from_secs(60),
    )
    .unwrap()
}

#[test]
fn first_decision_wins_and_undo_appends_a_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut s = open(&log, 3, 1);
    let t = Instant::now();
    assert_eq!(s.next_for("ann", t), Some(0));
    assert_eq!(
        s.next_for("ann", t),
        Some(0),
        "two tabs: the same held item"
    );
    assert_eq!(s.next_for("bob", t), Some(1), "row-0 is leased to ann");
    let r = s.decide("ann", "row-0", Answer::Label(2)).unwrap().unwrap();
    assert_eq!((r.decision, r.label), (Decision::Override, Some(2)));
    // Her second tab, then bob, answer the same item: refused, nothing written.
    let again = s.decide("ann", "row-0", Answer::Accept).unwrap();
    assert!(matches!(again, Err(Refusal::Conflict(m)) if m.contains("already answered")));
    let late = s.decide("bob", "row-0", Answer::Accept).unwrap();
    assert!(matches!(late, Err(Refusal::Conflict(m)) if m.contains("already decided by ann")));
    assert_eq!(read_audit_log(&log).unwrap().len(), 1);
    assert!(matches!(
        s.decide("ann", "row-9", Answer::Accept).unwrap(),
        Err(Refusal::NoSuchItem(_))
    ));
    assert!(matches!(
        s.decide("ann", "row-1", Answer::Label(3)).unwrap(),
        Err(Refusal::Invalid(_))
    ));
    // Undo: a revoke line; the item is ann's again.
    assert_eq!(s.undo("ann", t).unwrap().unwrap(), "row-0");
    let lines = read_audit_log(&log).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].decision, Decision::Revoke);
    assert_eq!(s.next_for("ann", t), Some(0));
    assert!(matches!(
        s.undo("bob", t).unwrap(),
        Err(Refusal::Conflict(_))
    ));
    // Labelling the prediction is an accept; a skip leaves the item open to others.
    let r = s.decide("ann", "row-0", Answer::Label(1)).unwrap().unwrap();
    assert_eq!(r.decision, Decision::Accept);
    s.decide("ann", "row-1", Answer::Skip).unwrap().unwrap();
    assert_eq!(s.next_for("bob", t + Duration::from_secs(61)), Some(1));
    let p = s.progress();
    assert_eq!((p.total, p.complete), (3, 1));
    assert_eq!((p.reviewers[0].decided, p.reviewers[0].remaining), (2, 1));
}

#[test]
fn double_review_shows_each_item_to_two_reviewers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut s = ReviewState::open(
        queue(2),
        &log,
        vec!["ann".into(), "bob".into(), "cy".into()],
        2,
        Duration::from_secs(60),
    )
    .unwrap();
    let t = Instant::now();
    assert_eq!(s.next_for("ann", t), Some(0));
    assert_eq!(s.next_for("bob", t), Some(0), "the second slot");
    assert_eq!(
        s.next_for("cy", t),
        Some(1),
        "both slots of row-0 are leased"
    );
    s.decide("ann", "row-0", Answer::Accept).unwrap().unwrap();
    s.decide("bob", "row-0", Answer::Label(0)).unwrap().unwrap();
    let third = s.decide("cy", "row-0", Answer::Accept).unwrap();
    assert!(matches!(third, Err(Refusal::Conflict(m)) if m.contains("ann") && m.contains("bob")));
    assert!(matches!(
        s.show("row-0", "cy", t),
        Some(ItemStatus::Complete(by)) if by == ["ann", "bob"]
    ));
    assert_eq!(s.progress().complete, 1);
    // A lease that ran out frees its slot; renewing says why it cannot.
    let later = t + Duration::from_secs(61);
    assert_eq!(s.next_for("ann", later), Some(1));
    assert!(s.renew("ann", "row-1", later).is_ok());
    assert!(matches!(
        s.renew("ann", "row-0", later),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn a_restarted_state_resumes_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let t = Instant::now();
    {
        let mut s = open(&log, 3, 1);
        s.decide("ann", "row-0", Answer::Accept).unwrap().unwrap();
        s.decide("bob", "row-1", Answer::Accept).unwrap().unwrap();
        s.undo("bob", t).unwrap().unwrap();
    }
    let mut s = open(&log, 3, 1);
    assert_eq!(s.progress().complete, 1);
    assert_eq!(
        s.next_for("bob", t),
        Some(1),
        "bob's undone item is open again"
    );
    assert!(matches!(
        s.decide("bob", "row-0", Answer::Accept).unwrap(),
        Err(Refusal::Conflict(_))
    ));
}
