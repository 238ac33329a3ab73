//! Running an attack over a data set and summarising it (`attack.json`).

use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::{Classifier, Dataset, batch_tensor};
use serde::{Deserialize, Serialize};

use crate::attacks::{Attack, Goal, predictions};
use crate::error::Result;

/// How goals are chosen for a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalKind {
    /// Misclassify each row.
    Untargeted,
    /// Reach class `(y + 1) mod C` for each row (the usual fixed-shift convention).
    Targeted,
}

/// Summary of one attack on one data set: what `attack.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttackReport {
    /// Attack name.
    pub attack: String,
    /// Radius ε.
    pub eps: f64,
    /// Untargeted or targeted.
    pub goal: GoalKind,
    /// Rows attacked.
    pub n: usize,
    /// Accuracy on the clean rows.
    pub clean_accuracy: f64,
    /// Accuracy on the adversarial rows.
    pub adversarial_accuracy: f64,
    /// Fraction of rows whose goal was achieved (misclassified, or classified as the target).
    pub success_rate: f64,
    /// Mean per-row norm of the perturbation in the attack's threat model (L∞ or L2).
    pub mean_perturbation_norm: f64,
    /// Mean per-row L∞ norm of the perturbation.
    pub mean_linf: f64,
    /// Mean per-row L2 norm of the perturbation.
    pub mean_l2: f64,
    /// Largest L∞ norm over all rows.
    pub max_linf: f64,
    /// Smallest and largest adversarial input value (must lie in the bounds).
    pub value_range: (f32, f32),
    /// Wall-clock seconds of the attack.
    pub seconds: f64,
    /// Device.
    pub device: String,
}

/// Attacks every row of `data` in batches and returns the summary with the adversarial rows
/// (flat, row-major). `mean_perturbation_norm` is in the attack's threat-model norm
/// ([`Attack::l2_threat`]).
pub fn run_attack<M: Classifier + Module, A: Attack>(
    model: &M,
    attack: &A,
    data: &Dataset,
    goal_kind: GoalKind,
    eps: f64,
    batch_size: usize,
    device: &Device,
) -> Result<(AttackReport, Vec<f32>)> {
    let f = data.dim();
    let c = model.num_classes();
    let inference = model.valid();
    let goal = match goal_kind {
        GoalKind::Untargeted => Goal::Untargeted(data.labels.clone()),
        GoalKind::Targeted => Goal::Targeted(data.labels.iter().map(|&y| (y + 1) % c).collect()),
    };
    let start = Instant::now();
    let mut adv_all = Vec::with_capacity(data.features.len());
    let (mut clean_ok, mut adv_ok, mut success) = (0usize, 0usize, 0usize);
    for s in (0..data.len()).step_by(batch_size.max(1)) {
        let e = (s + batch_size).min(data.len());
        let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, device);
        let batch_goal = goal.slice(s, e);
        let clean_pred = predictions(&inference, x.clone());
        let adv = attack.perturb(model, x, &batch_goal)?;
        let adv_pred = predictions(&inference, adv.clone());
        for i in 0..e - s {
            let y = data.labels[s + i];
            clean_ok += usize::from(clean_pred[i] == y);
            adv_ok += usize::from(adv_pred[i] == y);
            success += usize::from(batch_goal.achieved(i, adv_pred[i]));
        }
        adv_all.extend(adv.into_data().try_to_vec::<f32>().expect("f32 tensor"));
    }
    let seconds = start.elapsed().as_secs_f64();
    let n = data.len().max(1);
    let (mut linf_sum, mut l2_sum, mut max_linf) = (0f64, 0f64, 0f64);
    for (row_adv, row) in adv_all.chunks(f).zip(data.features.chunks(f)) {
        let linf = row_adv
            .iter()
            .zip(row)
            .map(|(a, b)| (a - b).abs() as f64)
            .fold(0.0, f64::max);
        let l2 = row_adv
            .iter()
            .zip(row)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        linf_sum += linf;
        l2_sum += l2;
        max_linf = max_linf.max(linf);
    }
    let range = adv_all
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let (mean_linf, mean_l2) = (linf_sum / n as f64, l2_sum / n as f64);
    let report = AttackReport {
        attack: attack.name(),
        eps,
        goal: goal_kind,
        n: data.len(),
        clean_accuracy: clean_ok as f64 / n as f64,
        adversarial_accuracy: adv_ok as f64 / n as f64,
        success_rate: success as f64 / n as f64,
        mean_perturbation_norm: if attack.l2_threat() {
            mean_l2
        } else {
            mean_linf
        },
        mean_linf,
        mean_l2,
        max_linf,
        value_range: range,
        seconds,
        device: format!("{device:?}"),
    };
    Ok((report, adv_all))
}
