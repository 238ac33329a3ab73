//! The review state behind the server: the queue, the audit log, the standing decisions
//! ([`Ledger`]) and the leases, with the rules of who is shown what and whose answer counts.
//!
//! - An item needs `reviews_per_item` labels (1, or 2 with `--double-review`) from different
//!   reviewers; a skip records that the reviewer passed and fills no slot.
//! - First decision wins: an answer to an item whose slots are full, or a second answer of the
//!   same reviewer (two tabs), is refused with a message and writes nothing.
//! - An answer is appended to the [`AuditLog`] (written and fsync'd) before it counts, and
//!   before the caller can acknowledge it; undo appends a revoke.
//! - Everything is rebuilt from the log at start, so a restarted server resumes where each
//!   reviewer stopped. Leases live in memory only.
//!
//! The server holds one `ReviewState` behind a mutex, so checks and appends never interleave.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::leases::Leases;
use crate::audit::{AuditLog, AuditRecord, Decision, now_rfc3339};
use crate::error::{OversightError, Result};
use crate::ledger::{Ledger, Standing};
use crate::queue::{Queue, QueueItem};

/// A reviewer's answer to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The prediction is right.
    Accept,
    /// This is the label (an accept when it is the prediction).
    Label(usize),
    /// Pass: someone else decides.
    Skip,
}

/// Why an answer, an undo or a lease renewal changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No queued item has this id.
    NoSuchItem(String),
    /// Too late (first decision wins) or nothing to undo; the message is for the reviewer.
    Conflict(String),
    /// The answer does not fit the item (a label out of range).
    Invalid(String),
}

/// Where an item stands for one reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemStatus {
    /// Theirs to decide (leased to them).
    Open,
    /// They have a standing decision on it.
    DecidedByYou(String),
    /// All its review slots hold others' labels.
    Complete(Vec<String>),
    /// Its free slots are leased to these other reviewers.
    LeasedTo(Vec<String>),
}

/// One reviewer's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerProgress {
    /// The reviewer.
    pub reviewer: String,
    /// Their standing decisions on the queue (skips included).
    pub decided: usize,
    /// Items still open to them (not decided by them, a slot free).
    pub remaining: usize,
}

/// The queue's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Queued items.
    pub total: usize,
    /// Items with all their labels.
    pub complete: usize,
    /// Labels each item needs.
    pub reviews_per_item: usize,
    /// Each reviewer: those serving now, then others found in the log.
    pub reviewers: Vec<ReviewerProgress>,
}

/// Queue, log, standing decisions and leases.
#[derive(Debug)]
pub struct ReviewState {
    queue: Queue,
    position: HashMap<String, usize>,
    log: AuditLog,
    ledger: Ledger,
    leases: Leases,
    reviews_per_item: usize,
    reviewers: Vec<String>,
}

impl ReviewState {
    /// Opens the log at `log_path` (validated) for `queue`, for these reviewers.
    pub fn open(
        queue: Queue,
        log_path: &Path,
        reviewers: Vec<String>,
        reviews_per_item: usize,
        lease: Duration,
    ) -> Result<Self> {
        if !(1..=reviewers.len().max(1)).contains(&reviews_per_item) {
            return Err(OversightError::invalid(
                "reviews per item",
                format!(
                    "{reviews_per_item} needs as many reviewers, {} given",
                    reviewers.len()
                ),
            ));
        }
        let log = AuditLog::open(log_path)?;
        let ledger = Ledger::build(log.records(), &queue.meta.model_hash, log_path)?;
        let position = queue
            .items
            .iter()
            .enumerate()
            .map(|(k, i)| (i.id.clone(), k))
            .collect();
        Ok(Self {
            queue,
            position,
            log,
            ledger,
            leases: Leases::new(lease),
            reviews_per_item,
            reviewers,
        })
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The standing decisions.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The audit log.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// How long a lease lasts.
    pub fn lease_ttl(&self) -> Duration {
        self.leases.ttl()
    }

    /// The item with this id and its position in the queue.
    pub fn item(&self, id: &str) -> Option<(usize, &QueueItem)> {
        let &k = self.position.get(id)?;
        Some((k, &self.queue.items[k]))
    }

    fn slots_taken(&self, id: &str, reviewer: &str, now: Instant) -> usize {
        self.ledger.labelled(id).count() + self.leases.others(id, reviewer, now).len()
    }

    fn open_to(&self, id: &str, reviewer: &str, now: Instant) -> bool {
        self.ledger.by(id, reviewer).is_none()
            && self.slots_taken(id, reviewer, now) < self.reviews_per_item
    }

    /// The next item for `reviewer`, leased to them: the one they hold if it is still open to
    /// them, else the first open one in queue order. `None` when nothing is left for them.
    pub fn next_for(&mut self, reviewer: &str, now: Instant) -> Option<usize> {
        let held = self
            .leases
            .held_by(reviewer, now)
            .filter(|id| self.open_to(id, reviewer, now))
            .map(str::to_string);
        let id = held.or_else(|| {
            self.queue
                .items
                .iter()
                .find(|i| self.open_to(&i.id, reviewer, now))
                .map(|i| i.id.clone())
        })?;
        self.leases.grant(&id, reviewer, now);
        self.position.get(&id).copied()
    }

    /// Where item `id` stands for `reviewer`; an item open to them is leased to them.
    pub fn show(&mut self, id: &str, reviewer: &str, now: Instant) -> Option<ItemStatus> {
        self.position.get(id)?;
        let status = self.status(id, reviewer, now);
        if status == ItemStatus::Open {
            self.leases.grant(id, reviewer, now);
        }
        Some(status)
    }

    fn status(&self, id: &str, reviewer: &str, now: Instant) -> ItemStatus {
        if let Some(s) = self.ledger.by(id, reviewer) {
            return ItemStatus::DecidedByYou(self.describe(s));
        }
        let labelled: Vec<String> = self
            .ledger
            .labelled(id)
            .map(|s| s.reviewer.clone())
            .collect();
        if labelled.len() >= self.reviews_per_item {
            return ItemStatus::Complete(labelled);
        }
        if self.slots_taken(id, reviewer, now) >= self.reviews_per_item {
            let others = self.leases.others(id, reviewer, now);
            return ItemStatus::LeasedTo(others.into_iter().map(str::to_string).collect());
        }
        ItemStatus::Open
    }

    /// A class as the reviewer knows it: its index, and its name when that says more.
    pub fn class_label(&self, c: usize) -> String {
        match self.queue.meta.class_names.get(c) {
            Some(n) if *n != c.to_string() => format!("{c} ({n})"),
            _ => c.to_string(),
        }
    }

    /// "accept 7 at <time>", "label 3 at <time>", "skip at <time>".
    fn describe(&self, s: &Standing) -> String {
        let what = match (s.decision, s.label) {
            (Decision::Skip, _) | (_, None) => "skip".to_string(),
            (Decision::Accept, Some(l)) => format!("accept {}", self.class_label(l)),
            (_, Some(l)) => format!("label {}", self.class_label(l)),
        };
        let at = self
            .log
            .records()
            .get(s.record)
            .map_or("", |r| r.timestamp.as_str());
        format!("{what} at {at}")
    }

    fn classes(&self, item: &QueueItem) -> usize {
        self.queue.meta.class_names.len().max(item.prediction + 1)
    }

    /// Records `reviewer`'s answer to item `id`, or refuses it (first decision wins). The
    /// outer error is a failed write: nothing may be acknowledged then.
    pub fn decide(
        &mut self,
        reviewer: &str,
        id: &str,
        answer: Answer,
    ) -> Result<Result<AuditRecord, Refusal>> {
        let Some((_, item)) = self.item(id) else {
            return Ok(Err(Refusal::NoSuchItem(id.to_string())));
        };
        if let Some(s) = self.ledger.by(id, reviewer) {
            return Ok(Err(Refusal::Conflict(format!(
                "You already answered {id} ({}); this second answer was not recorded. \
                 Undo (U) withdraws the first.",
                self.describe(s)
            ))));
        }
        let labelled: Vec<&Standing> = self.ledger.labelled(id).collect();
        if labelled.len() >= self.reviews_per_item {
            let by: Vec<String> = labelled
                .iter()
                .map(|s| format!("{} ({})", s.reviewer, self.describe(s)))
                .collect();
            return Ok(Err(Refusal::Conflict(format!(
                "{id} was already decided by {}; your answer was not recorded.",
                by.join(" and ")
            ))));
        }
        let prediction = item.prediction;
        let (decision, label) = match answer {
            Answer::Accept => (Decision::Accept, Some(prediction)),
            Answer::Skip => (Decision::Skip, None),
            Answer::Label(l) if l >= self.classes(item) => {
                return Ok(Err(Refusal::Invalid(format!(
                    "label {l} is not one of the {} classes",
                    self.classes(item)
                ))));
            }
            Answer::Label(l) if l == prediction => (Decision::Accept, Some(l)),
            Answer::Label(l) => (Decision::Override, Some(l)),
        };
        let record = self.append(reviewer, id, prediction, decision, label)?;
        self.leases.release(id, reviewer);
        Ok(Ok(record))
    }

    /// Withdraws `reviewer`'s most recent standing decision by appending a revoke, and leases
    /// its item back to them; returns the item's id.
    pub fn undo(&mut self, reviewer: &str, now: Instant) -> Result<Result<String, Refusal>> {
        let Some((id, _)) = self.ledger.latest_of(reviewer) else {
            return Ok(Err(Refusal::Conflict(
                "Nothing of yours to undo.".to_string(),
            )));
        };
        let id = id.to_string();
        let prediction = self.item(&id).map_or(0, |(_, i)| i.prediction);
        self.append(reviewer, &id, prediction, Decision::Revoke, None)?;
        self.leases.grant(&id, reviewer, now);
        Ok(Ok(id))
    }

    fn append(
        &mut self,
        reviewer: &str,
        id: &str,
        prediction: usize,
        decision: Decision,
        label: Option<usize>,
    ) -> Result<AuditRecord> {
        let record = AuditRecord {
            item_id: id.to_string(),
            model_hash: self.queue.meta.model_hash.clone(),
            prediction,
            decision,
            label,
            reviewer: reviewer.to_string(),
            timestamp: now_rfc3339(),
        };
        self.log.append(record.clone())?;
        let index = self.log.records().len() - 1;
        self.ledger
            .apply(index, &record)
            .map_err(|reason| OversightError::bad_line(self.log.path(), index + 1, reason))?;
        Ok(record)
    }

    /// Extends `reviewer`'s lease on `id` (the page's heartbeat), or says why it cannot.
    pub fn renew(&mut self, reviewer: &str, id: &str, now: Instant) -> Result<(), Refusal> {
        match self.show(id, reviewer, now) {
            None => Err(Refusal::NoSuchItem(id.to_string())),
            Some(ItemStatus::Open) => Ok(()),
            Some(ItemStatus::DecidedByYou(what)) => Err(Refusal::Conflict(format!(
                "You already answered {id} ({what}), perhaps in another tab."
            ))),
            Some(ItemStatus::Complete(by)) => Err(Refusal::Conflict(format!(
                "{id} was decided by {} meanwhile.",
                by.join(" and ")
            ))),
            Some(ItemStatus::LeasedTo(by)) => Err(Refusal::Conflict(format!(
                "{id} is now on {}'s screen (your lease expired).",
                by.join(" and ")
            ))),
        }
    }

    /// Decided / total per reviewer and for the team.
    pub fn progress(&self) -> Progress {
        let mut names = self.reviewers.clone();
        for (_, s) in self.ledger.all() {
            if !names.contains(&s.reviewer) {
                names.push(s.reviewer.clone());
            }
        }
        let mut reviewers: Vec<ReviewerProgress> = names
            .into_iter()
            .map(|reviewer| ReviewerProgress {
                reviewer,
                decided: 0,
                remaining: 0,
            })
            .collect();
        let mut complete = 0;
        for item in &self.queue.items {
            let full = self.ledger.labelled(&item.id).count() >= self.reviews_per_item;
            complete += usize::from(full);
            for r in &mut reviewers {
                let mine = self.ledger.by(&item.id, &r.reviewer).is_some();
                r.decided += usize::from(mine);
                r.remaining += usize::from(!mine && !full);
            }
        }
        Progress {
            total: self.queue.items.len(),
            complete,
            reviews_per_item: self.reviews_per_item,
            reviewers,
        }
    }
}
