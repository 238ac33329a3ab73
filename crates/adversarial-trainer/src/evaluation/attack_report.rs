//! Running an attack over a data set and summarising it (`attack.json`).

use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::{Classifier, Dataset, batch_tensor};
use serde::{Deserialize, Serialize};

use crate::attacks::{Attack, EpsUnits, Goal, ThreatSpace, predictions};
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
    /// Unit of ε and of the norms below (`raw`, or `std`: per-feature training standard
    /// deviations).
    #[serde(default = "raw_units")]
    pub eps_units: EpsUnits,
    /// The threat space in words: the unit of ε and the input box.
    #[serde(default)]
    pub threat: String,
    /// Mean per-row norm of the perturbation in the attack's threat model (L∞ or L2), in ε
    /// units.
    pub mean_perturbation_norm: f64,
    /// Mean per-row L∞ norm of the perturbation, in ε units.
    pub mean_linf: f64,
    /// Mean per-row L2 norm of the perturbation, in ε units.
    pub mean_l2: f64,
    /// Largest L∞ norm over all rows, in ε units.
    pub max_linf: f64,
    /// Smallest and largest adversarial input value (must lie in the bounds).
    pub value_range: (f32, f32),
    /// Wall-clock seconds of the attack.
    pub seconds: f64,
    /// Device.
    pub device: String,
}

fn raw_units() -> EpsUnits {
    EpsUnits::Raw
}

/// How [`run_attack_in`] runs an attack over a data set.
#[derive(Debug, Clone)]
pub struct AttackPlan<'a> {
    /// Untargeted or targeted (towards `(y + 1) mod C`).
    pub goal: GoalKind,
    /// The attack's radius (for the report).
    pub eps: f64,
    /// Rows per batch.
    pub batch_size: usize,
    /// The threat space (unit of ε, input box); `None`: the attack's own bounds, raw units.
    pub space: Option<&'a ThreatSpace>,
}

/// Attacks every row of `data` in batches, in raw units with the attack's own bounds: see
/// [`run_attack_in`].
pub fn run_attack<M: Classifier + Module, A: Attack + Clone>(
    model: &M,
    attack: &A,
    data: &Dataset,
    goal_kind: GoalKind,
    eps: f64,
    batch_size: usize,
    device: &Device,
) -> Result<(AttackReport, Vec<f32>)> {
    let plan = AttackPlan {
        goal: goal_kind,
        eps,
        batch_size,
        space: None,
    };
    run_attack_in(model, attack, data, &plan, device)
}

/// Attacks every row of `data` in batches (in `plan.space` when given) and returns the
/// summary with the adversarial rows (flat, row-major, raw input units). Norms are in ε
/// units; `mean_perturbation_norm` is in the attack's threat-model norm
/// ([`Attack::l2_threat`]).
pub fn run_attack_in<M: Classifier + Module, A: Attack + Clone>(
    model: &M,
    attack: &A,
    data: &Dataset,
    plan: &AttackPlan<'_>,
    device: &Device,
) -> Result<(AttackReport, Vec<f32>)> {
    let (goal_kind, eps, batch_size) = (plan.goal, plan.eps, plan.batch_size);
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
        let adv = match plan.space {
            Some(space) => space.perturb(attack, model, x, &batch_goal)?,
            None => attack.perturb(model, x, &batch_goal)?,
        };
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
    let unit = |j: usize| {
        plan.space
            .and_then(|s| s.scale.get(j).copied())
            .unwrap_or(1.0) as f64
    };
    let (mut linf_sum, mut l2_sum, mut max_linf) = (0f64, 0f64, 0f64);
    for (row_adv, row) in adv_all.chunks(f).zip(data.features.chunks(f)) {
        let delta: Vec<f64> = (0..f)
            .map(|j| (row_adv[j] - row[j]) as f64 / unit(j))
            .collect();
        let linf = delta.iter().map(|d| d.abs()).fold(0.0, f64::max);
        let l2 = delta.iter().map(|d| d * d).sum::<f64>().sqrt();
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
        eps_units: plan.space.map_or(EpsUnits::Raw, |s| s.units),
        threat: plan.space.map_or_else(
            || "ε in raw input units; the attack's own bounds".to_string(),
            ThreatSpace::describe,
        ),
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
