//! Stage `accuracy`: accuracy on the audited test rows, per-class accuracy (recall) and the
//! confusion matrix (rows: true class, columns: predicted class).

use aegis_model::predict_proba;
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::error::Result;

/// One class's accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAccuracy {
    /// Class name.
    pub name: String,
    /// Test rows of this class.
    pub n: usize,
    /// Of those, predicted correctly.
    pub correct: usize,
    /// `correct / n` (`None` when the class has no test rows).
    pub accuracy: Option<f64>,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyResult {
    /// Test rows.
    pub n: usize,
    /// Rows predicted correctly.
    pub correct: usize,
    /// `correct / n`.
    pub accuracy: f64,
    /// Mean top-class probability.
    pub mean_confidence: f64,
    /// Per class, in class order.
    pub per_class: Vec<ClassAccuracy>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

/// Predicts every audited row once and counts.
pub fn run(ctx: &StageContext) -> Result<AccuracyResult> {
    let bar = ctx.bar("accuracy", 1, "pass");
    let run = ctx.run;
    let c = run.test.num_classes;
    let probs = predict_proba(
        &run.model,
        &run.test.features,
        aegis_model::DEFAULT_BATCH_ROWS,
        &run.device,
    );
    bar.inc(1);
    bar.finish_and_clear();
    let mut confusion = vec![vec![0usize; c]; c];
    let mut confidence = 0.0;
    for (row, &y) in probs.chunks(c).zip(&run.test.labels) {
        let (pred, top) =
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv { (i, v) } else { (bi, bv) }
                });
        confusion[y][pred] += 1;
        confidence += top as f64;
    }
    let n = run.test.len();
    let correct: usize = (0..c).map(|k| confusion[k][k]).sum();
    let per_class = ctx
        .class_names()
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let nk: usize = confusion[k].iter().sum();
            ClassAccuracy {
                name,
                n: nk,
                correct: confusion[k][k],
                accuracy: (nk > 0).then(|| confusion[k][k] as f64 / nk as f64),
            }
        })
        .collect();
    Ok(AccuracyResult {
        n,
        correct,
        accuracy: correct as f64 / n.max(1) as f64,
        mean_confidence: confidence / n.max(1) as f64,
        per_class,
        confusion,
    })
}
