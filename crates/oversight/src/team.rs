//! Team metrics of a reviewed queue: what the human–AI team decided and how well, from the
//! standing decisions of a [`Ledger`]. Shared by `report` (from the log file) and the review
//! server's summary page (from the live log).
//!
//! An item's outcome is its first standing label (accept or override, first decision wins);
//! an item with only skips is skipped, one with nothing standing is pending. With double
//! review the later labels count for agreement between reviewers ([`ReviewAgreement`]), not for
//! the team's accuracy.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::audit::Decision;
use crate::error::{OversightError, Result};
use crate::ledger::{Ledger, Standing};
use crate::metrics::cohens_kappa;
use crate::queue::Queue;

/// Team metrics from the audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamMetrics {
    /// Deployment rows.
    pub rows: usize,
    /// Fraction decided automatically.
    pub coverage: f64,
    /// Error rate of the automatic decisions.
    pub selective_risk: f64,
    /// Queued items.
    pub queued: usize,
    /// Accepted by the reviewer.
    pub accepted: usize,
    /// Overridden.
    pub overridden: usize,
    /// Skipped.
    pub skipped: usize,
    /// Not reviewed yet.
    pub pending: usize,
    /// Overrides / (accepts + overrides) (null when nothing was decided).
    pub override_rate: Option<f64>,
    /// Accuracy of the reviewer's final labels on decided items.
    pub reviewer_accuracy: Option<f64>,
    /// Accuracy of the model on the same decided items.
    pub model_accuracy_on_reviewed: Option<f64>,
    /// Cohen's κ between the model's predictions and the reviewer's labels on decided items.
    pub kappa_model_reviewer: Option<f64>,
    /// Accuracy of the whole system: automatic predictions, reviewer labels where decided, the
    /// model's prediction for skipped and pending items.
    pub system_accuracy: f64,
    /// Model accuracy on all deployment rows (no human).
    pub model_accuracy: f64,
    /// Standing records that repeat a reviewer's decision on an item (0 unless the log was
    /// edited).
    pub duplicate_records: usize,
    /// Each reviewer's decisions and the agreement between reviewers on items two labelled.
    #[serde(default)]
    pub reviewers: ReviewAgreement,
}

/// One reviewer's standing decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewerSummary {
    /// The reviewer.
    pub reviewer: String,
    /// Accepted.
    pub accepted: usize,
    /// Overridden.
    pub overridden: usize,
    /// Skipped.
    pub skipped: usize,
    /// Overrides / (accepts + overrides) (null before the first label).
    pub override_rate: Option<f64>,
}

/// Agreement of two reviewers on the items both labelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewerPair {
    /// One reviewer (the name first in sort order).
    pub first: String,
    /// The other.
    pub second: String,
    /// Items both labelled.
    pub items: usize,
    /// Fraction of those with the same label.
    pub agreement: Option<f64>,
    /// Cohen's κ between the two (null when undefined).
    pub kappa: Option<f64>,
}

/// The reviewers' side of the team metrics; needs no ground truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewAgreement {
    /// One entry per reviewer, by name.
    pub reviewers: Vec<ReviewerSummary>,
    /// One entry per pair of reviewers who labelled an item in common.
    pub pairs: Vec<ReviewerPair>,
    /// Items labelled by two reviewers or more.
    pub double_labelled: usize,
    /// Fraction of those whose first two labels agree.
    pub agreement: Option<f64>,
}

/// Per-reviewer counts and pairwise agreement from the standing decisions on `queue`'s items.
pub fn review_agreement(queue: &Queue, ledger: &Ledger) -> Result<ReviewAgreement> {
    let classes = class_count(queue);
    let mut per: BTreeMap<&str, ReviewerSummary> = BTreeMap::new();
    let mut pair_labels: BTreeMap<(&str, &str), (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let (mut double, mut agree) = (0, 0);
    for item in &queue.items {
        for s in ledger.on(&item.id) {
            let r = per.entry(&s.reviewer).or_insert_with(|| ReviewerSummary {
                reviewer: s.reviewer.clone(),
                ..ReviewerSummary::default()
            });
            match s.decision {
                Decision::Accept => r.accepted += 1,
                Decision::Override => r.overridden += 1,
                _ => r.skipped += 1,
            }
        }
        let labels = first_label_per_reviewer(ledger.labelled(&item.id));
        if labels.len() >= 2 {
            double += 1;
            agree += usize::from(labels[0].1 == labels[1].1);
        }
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                let (x, y) = if a.0 <= b.0 { (a, b) } else { (b, a) };
                let e = pair_labels.entry((x.0, y.0)).or_default();
                e.0.push(x.1);
                e.1.push(y.1);
            }
        }
    }
    let mut pairs = Vec::new();
    for ((first, second), (a, b)) in pair_labels {
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        pairs.push(ReviewerPair {
            first: first.to_string(),
            second: second.to_string(),
            items: a.len(),
            agreement: Some(same as f64 / a.len() as f64),
            kappa: cohens_kappa(&a, &b, classes)?,
        });
    }
    let reviewers = per
        .into_values()
        .map(|mut r| {
            let labelled = r.accepted + r.overridden;
            r.override_rate = (labelled > 0).then(|| r.overridden as f64 / labelled as f64);
            r
        })
        .collect();
    Ok(ReviewAgreement {
        reviewers,
        pairs,
        double_labelled: double,
        agreement: (double > 0).then(|| agree as f64 / double as f64),
    })
}

/// `(reviewer, label)` of each reviewer's first standing label, in log order.
fn first_label_per_reviewer<'a>(
    labelled: impl Iterator<Item = &'a Standing>,
) -> Vec<(&'a str, usize)> {
    let mut seen = HashSet::new();
    labelled
        .filter(|s| seen.insert(s.reviewer.as_str()))
        .filter_map(|s| Some((s.reviewer.as_str(), s.label?)))
        .collect()
}

fn class_count(queue: &Queue) -> usize {
    let top = queue
        .items
        .iter()
        .map(|i| i.prediction + 1)
        .max()
        .unwrap_or(1);
    queue.meta.class_names.len().max(top)
}

/// The team metrics of `queue` against the true `labels` of the run's test split (indexed by
/// test row), from the standing decisions of `ledger`.
pub fn team_metrics(queue: &Queue, labels: &[usize], ledger: &Ledger) -> Result<TeamMetrics> {
    let rows_needed = queue
        .meta
        .rows
        .iter()
        .chain(queue.items.iter().map(|i| &i.index))
        .chain(queue.meta.automatic.iter().map(|(i, _)| i))
        .max()
        .map_or(0, |m| m + 1);
    if labels.len() < rows_needed {
        return Err(OversightError::Shape(format!(
            "{} labels for a queue over test rows up to {}",
            labels.len(),
            rows_needed - 1
        )));
    }
    let classes = class_count(queue);
    let auto_ok = queue
        .meta
        .automatic
        .iter()
        .filter(|(i, p)| labels[*i] == *p)
        .count();
    let (mut acc, mut over, mut skip, mut dup) = (0, 0, 0, 0);
    let (mut model_l, mut human_l, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    let mut system_ok = auto_ok;
    for item in &queue.items {
        let y = labels[item.index];
        let standing = ledger.on(&item.id);
        let reviewers: HashSet<&str> = standing.iter().map(|s| s.reviewer.as_str()).collect();
        dup += standing.len() - reviewers.len();
        match standing.iter().find(|s| s.is_labelled()) {
            Some(s) => {
                let l = s.label.unwrap_or(item.prediction);
                if s.decision == Decision::Accept {
                    acc += 1
                } else {
                    over += 1
                }
                model_l.push(item.prediction);
                human_l.push(l);
                truth.push(y);
                system_ok += usize::from(l == y);
            }
            None => {
                skip += usize::from(!standing.is_empty());
                system_ok += usize::from(item.prediction == y);
            }
        }
    }
    let rows = queue.meta.rows.len().max(1);
    let decided = acc + over;
    let frac = |k: usize| (decided > 0).then(|| k as f64 / decided as f64);
    let model_all = queue.meta.automatic.len();
    let model_ok_all = auto_ok
        + queue
            .items
            .iter()
            .filter(|i| labels[i.index] == i.prediction)
            .count();
    Ok(TeamMetrics {
        rows: queue.meta.rows.len(),
        coverage: model_all as f64 / rows as f64,
        selective_risk: if model_all == 0 {
            0.0
        } else {
            1.0 - auto_ok as f64 / model_all as f64
        },
        queued: queue.items.len(),
        accepted: acc,
        overridden: over,
        skipped: skip,
        pending: queue.items.len() - decided - skip,
        override_rate: frac(over),
        reviewer_accuracy: frac(human_l.iter().zip(&truth).filter(|(a, b)| a == b).count()),
        model_accuracy_on_reviewed: frac(
            model_l.iter().zip(&truth).filter(|(a, b)| a == b).count(),
        ),
        kappa_model_reviewer: cohens_kappa(&model_l, &human_l, classes)?,
        system_accuracy: system_ok as f64 / rows as f64,
        model_accuracy: model_ok_all as f64 / rows as f64,
        duplicate_records: dup,
        reviewers: review_agreement(queue, ledger)?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::audit::AuditRecord;
    use crate::confidence::ConfidenceKind;
    use crate::queue::{QueueItem, QueueMeta};

    fn queue(n: usize) -> Queue {
        Queue {
            meta: QueueMeta {
                run: "r".into(),
                model_hash: "h".into(),
                confidence: ConfidenceKind::Msp,
                threshold: 0.9,
                threshold_source: "manual".into(),
                attribution_method: "none".into(),
                rows: (0..n + 2).collect(),
                automatic: vec![(n, 0), (n + 1, 1)],
                sample_shape: vec![1],
                feature_names: vec!["a".into()],
                class_names: vec!["x".into(), "y".into(), "z".into()],
            },
            items: (0..n)
                .map(|i| QueueItem {
                    id: format!("row-{i}"),
                    index: i,
                    prediction: 1,
                    confidence: 0.5,
                    probability: 0.5,
                    probabilities: vec![],
                    conformal_set: vec![1],
                    top_attribution: vec![],
                    attribution: vec![],
                    features: vec![0.0],
                })
                .collect(),
        }
    }

    fn rec(i: usize, who: &str, decision: Decision, label: Option<usize>) -> AuditRecord {
        AuditRecord {
            item_id: format!("row-{i}"),
            model_hash: "h".into(),
            prediction: 1,
            decision,
            label,
            reviewer: who.into(),
            timestamp: String::new(),
        }
    }

    #[test]
    fn double_review_counts_the_first_label_and_measures_agreement() {
        use Decision::*;
        let q = queue(4);
        // Truth: rows 0..4 are class 1, 2, 1, 0; automatic rows 4 (0, right), 5 (1, right).
        let labels = [1, 2, 1, 0, 0, 1];
        let records = vec![
            rec(0, "ann", Accept, Some(1)),
            rec(0, "bob", Accept, Some(1)),
            rec(1, "bob", Override, Some(2)),
            rec(1, "ann", Override, Some(0)),
            rec(2, "ann", Skip, None),
            rec(3, "ann", Accept, Some(1)),
            rec(3, "ann", Revoke, None),
        ];
        let ledger = Ledger::build(&records, "h", Path::new("log")).unwrap();
        let t = team_metrics(&q, &labels, &ledger).unwrap();
        assert_eq!(
            (t.accepted, t.overridden, t.skipped, t.pending),
            (1, 1, 1, 1)
        );
        // Final labels: row-0 1 (right), row-1 bob's 2 (right); row-2, row-3 keep the
        // prediction 1: right, wrong. Automatic: 2 right. 5 of 6.
        assert!((t.system_accuracy - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(t.reviewer_accuracy, Some(1.0));
        assert_eq!(t.duplicate_records, 0);
        let r = &t.reviewers;
        assert_eq!(r.double_labelled, 2);
        assert_eq!(r.agreement, Some(0.5));
        assert_eq!(r.pairs.len(), 1);
        assert_eq!((r.pairs[0].first.as_str(), r.pairs[0].items), ("ann", 2));
        let ann = &r.reviewers[0];
        assert_eq!((ann.accepted, ann.overridden, ann.skipped), (1, 1, 1));
        assert_eq!(ann.override_rate, Some(0.5));
    }

    #[test]
    fn too_few_labels_is_an_error_not_a_panic() {
        let ledger = Ledger::new("h");
        assert!(team_metrics(&queue(3), &[0, 1], &ledger).is_err());
    }
}
