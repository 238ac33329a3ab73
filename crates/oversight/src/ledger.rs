//! The decisions that stand: an audit log folded with its revokes.
//!
//! The log itself is append-only, so an undo is a later [`Decision::Revoke`] line rather than
//! an edit. A [`Ledger`] replays the records of one model in order: accepts, overrides and
//! skips stand until a revoke by the same reviewer on the same item withdraws the latest of
//! them. A revoke with nothing to withdraw is a fault of the log, named by its line. Every
//! reader of decisions (terminal review, `report`, the review server) sees the log through
//! this one fold.

use std::collections::HashMap;
use std::path::Path;

use crate::audit::{AuditRecord, Decision};
use crate::error::{OversightError, Result};

/// One standing decision on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Index of its record in the log's records (its line is `record + 1` in a log without
    /// blank lines, which is every log Aegis writes).
    pub record: usize,
    /// Who decided.
    pub reviewer: String,
    /// Accept, override or skip (never revoke).
    pub decision: Decision,
    /// The label (none for a skip).
    pub label: Option<usize>,
}

impl Standing {
    /// True for an accept or an override: a label given, not a skip.
    pub fn is_labelled(&self) -> bool {
        self.decision != Decision::Skip
    }
}

/// The standing decisions on the items of one model (records of other models are ignored).
#[derive(Debug, Clone)]
pub struct Ledger {
    model_hash: String,
    by_item: HashMap<String, Vec<Standing>>,
}

impl Ledger {
    /// An empty ledger for the model with this hash.
    pub fn new(model_hash: &str) -> Self {
        Self {
            model_hash: model_hash.to_string(),
            by_item: HashMap::new(),
        }
    }

    /// Replays `records` (read from `path`, which errors name).
    pub fn build(records: &[AuditRecord], model_hash: &str, path: &Path) -> Result<Self> {
        let mut ledger = Self::new(model_hash);
        for (i, r) in records.iter().enumerate() {
            ledger
                .apply(i, r)
                .map_err(|reason| OversightError::bad_line(path, i + 1, reason))?;
        }
        Ok(ledger)
    }

    /// Applies record number `index`; a revoke that has nothing to withdraw is refused with
    /// the reason (and changes nothing).
    pub fn apply(&mut self, index: usize, record: &AuditRecord) -> Result<(), String> {
        if record.model_hash != self.model_hash {
            return Ok(());
        }
        let entries = self.by_item.entry(record.item_id.clone()).or_default();
        if record.decision == Decision::Revoke {
            let Some(k) = entries.iter().rposition(|s| s.reviewer == record.reviewer) else {
                return Err(format!(
                    "a revoke by {} of {}, which has no standing decision of theirs",
                    record.reviewer, record.item_id
                ));
            };
            entries.remove(k);
        } else {
            entries.push(Standing {
                record: index,
                reviewer: record.reviewer.clone(),
                decision: record.decision,
                label: record.label,
            });
        }
        Ok(())
    }

    /// The model whose decisions this ledger holds.
    pub fn model_hash(&self) -> &str {
        &self.model_hash
    }

    /// The standing decisions on `item_id`, oldest first.
    pub fn on(&self, item_id: &str) -> &[Standing] {
        self.by_item.get(item_id).map_or(&[], Vec::as_slice)
    }

    /// `reviewer`'s standing decision on `item_id` (the latest, should a log hold two).
    pub fn by(&self, item_id: &str, reviewer: &str) -> Option<&Standing> {
        self.on(item_id)
            .iter()
            .rev()
            .find(|s| s.reviewer == reviewer)
    }

    /// The standing labels (accepts and overrides) on `item_id`, oldest first.
    pub fn labelled(&self, item_id: &str) -> impl Iterator<Item = &Standing> {
        self.on(item_id).iter().filter(|s| s.is_labelled())
    }

    /// `reviewer`'s most recent standing decision and its item: what an undo withdraws.
    pub fn latest_of(&self, reviewer: &str) -> Option<(&str, &Standing)> {
        self.by_item
            .iter()
            .flat_map(|(id, v)| v.iter().map(move |s| (id.as_str(), s)))
            .filter(|(_, s)| s.reviewer == reviewer)
            .max_by_key(|(_, s)| s.record)
    }

    /// Every standing decision with its item, in log order.
    pub fn all(&self) -> Vec<(&str, &Standing)> {
        let mut v: Vec<(&str, &Standing)> = self
            .by_item
            .iter()
            .flat_map(|(id, v)| v.iter().map(move |s| (id.as_str(), s)))
            .collect();
        v.sort_by_key(|(_, s)| s.record);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, who: &str, decision: Decision, label: Option<usize>) -> AuditRecord {
        AuditRecord {
            item_id: id.into(),
            model_hash: "h".into(),
            prediction: 1,
            decision,
            label,
            reviewer: who.into(),
            timestamp: String::new(),
        }
    }

    #[test]
    fn a_revoke_withdraws_the_reviewers_latest_decision_only() {
        let records = vec![
            rec("a", "ann", Decision::Accept, Some(1)),
            rec("a", "bob", Decision::Override, Some(2)),
            rec("b", "ann", Decision::Skip, None),
            rec("a", "ann", Decision::Revoke, None),
            AuditRecord {
                model_hash: "other".into(),
                ..rec("c", "ann", Decision::Accept, Some(1))
            },
        ];
        let l = Ledger::build(&records, "h", Path::new("log")).unwrap();
        assert_eq!(l.on("a").len(), 1);
        assert_eq!(l.by("a", "bob").unwrap().label, Some(2));
        assert!(l.by("a", "ann").is_none());
        assert_eq!(l.labelled("b").count(), 0, "a skip is no label");
        assert_eq!(l.latest_of("ann").unwrap().0, "b");
        assert!(l.on("c").is_empty(), "another model's records are ignored");
        assert_eq!(
            l.all()
                .iter()
                .map(|(id, s)| (*id, s.record))
                .collect::<Vec<_>>(),
            [("a", 1), ("b", 2)]
        );
    }

    #[test]
    fn a_revoke_with_nothing_to_withdraw_names_its_line() {
        let records = vec![
            rec("a", "ann", Decision::Accept, Some(1)),
            rec("a", "bob", Decision::Revoke, None),
        ];
        let e = Ledger::build(&records, "h", Path::new("audit.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("audit.jsonl: line 2") && e.contains("bob"),
            "{e}"
        );
    }
}
