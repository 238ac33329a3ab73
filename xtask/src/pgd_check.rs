//! The bench's correctness check of PGD on each device (a fused-kernel bug once gave ε on a
//! GPU): `steps` steps of 0.01 from the clean images without random start must move the
//! largest pixel by exactly `steps · 0.01`, raise the loss, and give the adversarial images
//! flex gives, value by value (a PGD stepping the wrong way passes the first test only).

use aegis_adversarial_trainer::{Attack, Goal, Pgd, PgdConfig};
use aegis_model::burn::tensor::Device;
use aegis_model::data::Dataset;
use aegis_model::models::{Architecture, Model, ModelConfig};
use aegis_model::train::cross_entropy;
use aegis_model::{Classifier, DeviceSpec, batch_tensor, label_tensor, to_host};
use anyhow::Result;
use serde::Serialize;

/// Pixels may differ from flex's by at most this much to count as equal.
const SAME: f32 = 1e-4;
/// At most this fraction of pixels may differ from flex's: a sign gradient flips where a
/// gradient component is within rounding of zero, and a flipped pixel changes the later steps
/// (Mesa's lavapipe: 0.0013% after 2 steps, 0.11% after 10). A PGD stepping the wrong way
/// differs almost everywhere and lowers the loss.
const MAX_DIFFERING: f64 = 1e-2;

/// One device's PGD check.
#[derive(Debug, Serialize)]
pub struct PgdCheck {
    /// Device.
    pub device: String,
    /// Steps taken.
    pub steps: usize,
    /// Measured max |δ|.
    pub max_perturbation: f32,
    /// Expected max |δ|.
    pub expected: f32,
    /// Mean cross-entropy on the clean images.
    pub loss_clean: f32,
    /// Mean cross-entropy on the adversarial images (must be higher).
    pub loss_adversarial: f32,
    /// Fraction of pixels that differ from flex's adversarial images by more than 1e-4.
    pub differing_from_flex: f64,
    /// Largest |difference| from flex's adversarial images.
    pub max_difference_from_flex: f32,
    /// Whether every part passed.
    pub passed: bool,
}

fn adversarial(model: &Model, test: &Dataset, steps: usize, device: &Device) -> Result<Vec<f32>> {
    let x = batch_tensor(test.features.clone(), test.len(), test.dim(), device);
    let pgd = Pgd::new(
        PgdConfig::new(0.3)
            .with_steps(steps)
            .with_step_size(0.01)
            .with_random_start(false),
    )?;
    Ok(to_host(pgd.perturb(
        model,
        x,
        &Goal::Untargeted(test.labels.clone()),
    )?))
}

fn mean_loss(model: &Model, x: Vec<f32>, test: &Dataset, device: &Device) -> f32 {
    let x = batch_tensor(x, test.len(), test.dim(), device);
    let y = label_tensor(&test.labels, device);
    cross_entropy(model.logits(x), y).into_scalar::<f32>()
}

/// Checks PGD on `device` (its `model`, built with seed 1 like flex's reference) against flex.
pub fn check_pgd(
    spec: &DeviceSpec,
    device: &Device,
    model: &Model,
    test: &Dataset,
) -> Result<Vec<PgdCheck>> {
    let flex = Device::flex();
    let reference = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10).init(&flex, 1)?;
    let mut checks = Vec::new();
    for steps in [2usize, 10] {
        let adv = adversarial(model, test, steps, device)?;
        let want = adversarial(&reference, test, steps, &flex)?;
        let diffs: Vec<f32> = adv.iter().zip(&want).map(|(a, b)| (a - b).abs()).collect();
        let differing =
            diffs.iter().filter(|&&d| d > SAME).count() as f64 / diffs.len().max(1) as f64;
        let max_diff = diffs.iter().copied().fold(0.0, f32::max);
        let max = adv
            .iter()
            .zip(&test.features)
            .map(|(a, x)| (a - x).abs())
            .fold(0.0, f32::max);
        let expected = steps as f32 * 0.01;
        let loss_clean = mean_loss(model, test.features.clone(), test, device);
        let loss_adversarial = mean_loss(model, adv, test, device);
        let passed = (max - expected).abs() < SAME
            && loss_adversarial > loss_clean
            && differing <= MAX_DIFFERING;
        eprintln!(
            "{spec:>8}  PGD check, {steps} steps of 0.01 without random start: max |δ| = {max} (expected {expected}), loss {loss_clean:.4} → {loss_adversarial:.4}, {:.4}% of pixels differ from flex (max {max_diff}): {}",
            100.0 * differing,
            if passed { "ok" } else { "WRONG" }
        );
        checks.push(PgdCheck {
            device: spec.to_string(),
            steps,
            max_perturbation: max,
            expected,
            loss_clean,
            loss_adversarial,
            differing_from_flex: differing,
            max_difference_from_flex: max_diff,
            passed,
        });
    }
    Ok(checks)
}
