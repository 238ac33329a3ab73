//! A review session: shows each pending queue item to a reviewer (interactive terminal or a
//! scripted decisions file), and appends every decision to the audit log durably before the
//! next item is shown. Items with a standing decision in the log (same item id and model hash,
//! not revoked: [`crate::Ledger`]) are not shown again, so a session killed at any point
//! resumes where it stopped, losing and duplicating nothing.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::{AuditLog, AuditRecord, Decision, now_rfc3339};
use crate::error::{OversightError, Result};
use crate::ledger::Ledger;
use crate::queue::{Queue, QueueItem, QueueMeta};
use crate::render::render_item;

/// What a reviewer answers for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Record this decision (`label` only for overrides).
    Decide(Decision, Option<usize>),
    /// Stop the session here (the item stays pending).
    Quit,
}

/// Where decisions come from.
pub trait DecisionSource {
    /// The decision for `item`, shown as item `position` of `total`.
    fn decide(
        &mut self,
        item: &QueueItem,
        meta: &QueueMeta,
        position: usize,
        total: usize,
    ) -> Result<Action>;
}

/// Parses a reviewer's answer: `a`/`accept`, `s`/`skip`, `q`/`quit`, a class index, or a class
/// name (an override when it differs from the prediction, an accept when equal).
pub fn parse_answer(
    answer: &str,
    prediction: usize,
    class_names: &[String],
    classes: usize,
) -> Option<Action> {
    let a = answer.trim();
    let label = match a.to_ascii_lowercase().as_str() {
        "a" | "accept" | "y" | "yes" => {
            return Some(Action::Decide(Decision::Accept, Some(prediction)));
        }
        "s" | "skip" => return Some(Action::Decide(Decision::Skip, None)),
        "q" | "quit" => return Some(Action::Quit),
        _ => a
            .parse::<usize>()
            .ok()
            .or_else(|| class_names.iter().position(|n| n.eq_ignore_ascii_case(a)))?,
    };
    if label >= classes {
        return None;
    }
    Some(if label == prediction {
        Action::Decide(Decision::Accept, Some(prediction))
    } else {
        Action::Decide(Decision::Override, Some(label))
    })
}

/// The interactive terminal reviewer: renders the item to `output` and reads one answer per
/// line from `input`, asking again on an answer it does not understand. End of input quits.
#[derive(Debug)]
pub struct TerminalReviewer<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> TerminalReviewer<R, W> {
    /// A reviewer on the given streams (stdin / stdout in the binary).
    pub fn new(input: R, output: W) -> Self {
        Self { input, output }
    }
}

impl<R: BufRead, W: Write> DecisionSource for TerminalReviewer<R, W> {
    fn decide(
        &mut self,
        item: &QueueItem,
        meta: &QueueMeta,
        position: usize,
        total: usize,
    ) -> Result<Action> {
        let io = |e| OversightError::io("<terminal>", e);
        write!(self.output, "{}", render_item(item, meta, position, total)).map_err(io)?;
        let classes = meta.class_names.len().max(item.prediction + 1);
        loop {
            write!(
                self.output,
                "[a]ccept, a label (0–{}{}) to override, [s]kip, [q]uit > ",
                classes - 1,
                if meta.class_names.is_empty() {
                    ""
                } else {
                    " or a class name"
                }
            )
            .map_err(io)?;
            self.output.flush().map_err(io)?;
            let mut line = String::new();
            if self.input.read_line(&mut line).map_err(io)? == 0 {
                writeln!(self.output).map_err(io)?;
                return Ok(Action::Quit);
            }
            match parse_answer(&line, item.prediction, &meta.class_names, classes) {
                Some(a) => return Ok(a),
                None => writeln!(self.output, "not understood: {:?}", line.trim()).map_err(io)?,
            }
        }
    }
}

/// Decisions read from a file, for automation and tests. One line per item:
/// `ITEM_ID ANSWER` with the answers of [`parse_answer`]; blank lines and `#` comments are
/// ignored. An item with no line ends the session (it stays pending).
#[derive(Debug, Default)]
pub struct ScriptedDecisions {
    answers: HashMap<String, String>,
}

impl ScriptedDecisions {
    /// Reads and checks the file (errors name the line).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| OversightError::io(path, e))?;
        let mut answers = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(id), Some(answer), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(OversightError::bad_line(
                    path,
                    i + 1,
                    "expected `ITEM_ID ANSWER`",
                ));
            };
            if answers.insert(id.to_string(), answer.to_string()).is_some() {
                return Err(OversightError::bad_line(
                    path,
                    i + 1,
                    format!("a second answer for {id}"),
                ));
            }
        }
        Ok(Self { answers })
    }
}

impl DecisionSource for ScriptedDecisions {
    fn decide(&mut self, item: &QueueItem, meta: &QueueMeta, _: usize, _: usize) -> Result<Action> {
        let Some(answer) = self.answers.get(&item.id) else {
            return Ok(Action::Quit);
        };
        let classes = meta.class_names.len().max(item.prediction + 1);
        parse_answer(answer, item.prediction, &meta.class_names, classes).ok_or_else(|| {
            OversightError::invalid(
                "decisions",
                format!("answer {answer:?} for {} is not understood", item.id),
            )
        })
    }
}

/// The result of [`review`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    /// Decisions recorded in this session.
    pub recorded: usize,
    /// Items already decided in the log before the session.
    pub already_decided: usize,
    /// Items still pending.
    pub pending: usize,
}

/// Reviews the pending items of `queue` in order, appending each decision to `log` before the
/// next item is shown; `pause` waits after each recorded decision (lets tests and demos
/// interrupt a session between decisions).
pub fn review(
    queue: &Queue,
    log: &mut AuditLog,
    reviewer: &str,
    source: &mut dyn DecisionSource,
    pause: Duration,
) -> Result<ReviewOutcome> {
    if reviewer.trim().is_empty() {
        return Err(OversightError::invalid("reviewer", "must name who decides"));
    }
    let hash = &queue.meta.model_hash;
    let ledger = Ledger::build(log.records(), hash, log.path())?;
    let pending: Vec<&QueueItem> = queue
        .items
        .iter()
        .filter(|i| ledger.on(&i.id).is_empty())
        .collect();
    let already = queue.items.len() - pending.len();
    let mut recorded = 0;
    for (k, item) in pending.iter().enumerate() {
        match source.decide(item, &queue.meta, already + k + 1, queue.items.len())? {
            Action::Quit => break,
            Action::Decide(decision, label) => {
                log.append(AuditRecord {
                    item_id: item.id.clone(),
                    model_hash: hash.clone(),
                    prediction: item.prediction,
                    decision,
                    label,
                    reviewer: reviewer.to_string(),
                    timestamp: now_rfc3339(),
                })?;
                recorded += 1;
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
            }
        }
    }
    Ok(ReviewOutcome {
        recorded,
        already_decided: already,
        pending: pending.len() - recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::test_queue as queue;

    #[test]
    fn answers_parse_to_decisions() {
        let names: Vec<String> = ["cat", "dog", "owl"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            parse_answer("a", 1, &names, 3),
            Some(Action::Decide(Decision::Accept, Some(1)))
        );
        assert_eq!(
            parse_answer("2", 1, &names, 3),
            Some(Action::Decide(Decision::Override, Some(2)))
        );
        assert_eq!(
            parse_answer("Cat", 1, &names, 3),
            Some(Action::Decide(Decision::Override, Some(0)))
        );
        assert_eq!(
            parse_answer("1", 1, &names, 3),
            Some(Action::Decide(Decision::Accept, Some(1)))
        );
        assert_eq!(
            parse_answer(" s ", 1, &names, 3),
            Some(Action::Decide(Decision::Skip, None))
        );
        assert_eq!(parse_answer("q", 1, &names, 3), Some(Action::Quit));
        assert_eq!(parse_answer("7", 1, &names, 3), None);
        assert_eq!(parse_answer("zebra", 1, &names, 3), None);
    }

    #[test]
    fn a_session_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(4);
        let log_path = dir.path().join("audit.jsonl");
        // Terminal session: accept the first, override the second, then end of input.
        let mut log = AuditLog::open(&log_path).unwrap();
        let mut out = Vec::new();
        let mut term = TerminalReviewer::new("a\nbanana\n0\n".as_bytes(), &mut out);
        let r = review(&q, &mut log, "ann", &mut term, Duration::ZERO).unwrap();
        assert_eq!(
            r,
            ReviewOutcome {
                recorded: 2,
                already_decided: 0,
                pending: 2
            }
        );
        let shown = String::from_utf8(out).unwrap();
        assert!(
            shown.contains("not understood") && shown.contains("item 2/4"),
            "{shown}"
        );
        drop(log);
        // Scripted session picks up at row-2; no answer for row-3 ends it.
        let script = dir.path().join("decisions.txt");
        std::fs::write(&script, "# id answer\nrow-0 skip\nrow-2 skip\n").unwrap();
        let mut log = AuditLog::open(&log_path).unwrap();
        let mut src = ScriptedDecisions::read(&script).unwrap();
        let r = review(&q, &mut log, "bob", &mut src, Duration::ZERO).unwrap();
        assert_eq!(
            r,
            ReviewOutcome {
                recorded: 1,
                already_decided: 2,
                pending: 1
            }
        );
        let ids: Vec<String> = log.records().iter().map(|r| r.item_id.clone()).collect();
        assert_eq!(
            ids,
            ["row-0", "row-1", "row-2"],
            "row-0 was not decided twice"
        );
        assert_eq!(log.records()[1].decision, Decision::Override);
        assert_eq!(log.records()[1].label, Some(0));
    }

    #[test]
    fn bad_decision_files_are_rejected_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.txt");
        std::fs::write(&p, "row-0 accept\nrow-1\n").unwrap();
        let e = ScriptedDecisions::read(&p).unwrap_err().to_string();
        assert!(e.contains("d.txt") && e.contains("line 2"), "{e}");
        std::fs::write(&p, "row-0 accept\nrow-0 skip\n").unwrap();
        assert!(
            ScriptedDecisions::read(&p)
                .unwrap_err()
                .to_string()
                .contains("second answer")
        );
        std::fs::write(&p, "row-0 maybe\n").unwrap();
        let mut src = ScriptedDecisions::read(&p).unwrap();
        let dir2 = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(&dir2.path().join("a.jsonl")).unwrap();
        assert!(review(&queue(1), &mut log, "x", &mut src, Duration::ZERO).is_err());
    }
}
