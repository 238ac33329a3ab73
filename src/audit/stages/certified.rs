//! Stage `certified`: bound propagation (the adversarial crate's CROWN, with IBP intermediate
//! bounds in the quick profile and for models with more activation inputs than
//! `full_crown_max_neurons`, every convolutional network: CROWN-IBP) over the attacks' own ball, the L∞ ball of the
//! robustness stage's headline ε in its units (raw for images, training standard deviations
//! of each feature for tables) clipped to the same box, on the same first rows. A verified row
//! provably keeps its correct prediction on the whole ball, so the verified accuracy is a lower
//! bound of the true robust accuracy, and the attacks' robust accuracy an upper bound.
//!
//! Randomized smoothing is not part of the audit: it certifies the smoothed classifier, not
//! the audited model, so its certified accuracy bounds neither side of this model's interval,
//! and its L2 radius covers the L∞ ball of ε only at ε·√d (2.8 at ε = 0.1 on MNIST's 784
//! pixels), far beyond what σ of that size certifies; `aegis-adversarial certify` runs it.
//!
//! A model the bounds cannot walk (an imported ONNX graph) or with a layer they refuse (GELU,
//! SiLU, layer norm; tanh or sigmoid under CROWN) makes the stage not applicable
//! ([`not_applicable`]): a skipped stage with that reason, never a failure.

use aegis_adversarial_trainer::EpsUnits;
use aegis_adversarial_trainer::ThreatSpace;
use aegis_adversarial_trainer::certified::bounds::{
    BoundMethod, BoundsConfig, IntermediateBounds, check_bounded, relaxed_neurons,
};
use aegis_adversarial_trainer::commands::certify_bounds::{
    certify_space_bounds, write_bounds_report,
};
use aegis_model::LoadedRun;
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::audit::config::CertifiedSettings;
use crate::error::Result;

/// What the stage proved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifiedResult {
    /// `CROWN-IBP`, `CROWN` or `IBP`.
    pub method: String,
    /// The L∞ radius, in `units` (the robustness stage's headline ε).
    pub eps: f64,
    /// The unit of ε.
    pub units: EpsUnits,
    /// The threat space in words (unit and box), as the robustness stage says it.
    pub space: String,
    /// Rows certified (the first ones, those the attacks attack).
    pub n: usize,
    /// Accuracy on them, unperturbed.
    pub clean_accuracy: f64,
    /// Rows verified: correct, and every margin's lower bound positive on the whole ball.
    pub verified: usize,
    /// `verified / n`: a lower bound of the robust accuracy at `eps`.
    pub verified_accuracy: f64,
    /// Wall-clock seconds of the bound propagation.
    pub seconds: f64,
}

/// The method's name for `method` with `intermediate` bounds.
pub fn method_name(method: BoundMethod, intermediate: IntermediateBounds) -> &'static str {
    match (method, intermediate) {
        (BoundMethod::Ibp, _) => "IBP",
        (BoundMethod::Crown, IntermediateBounds::Ibp) => "CROWN-IBP",
        (BoundMethod::Crown, IntermediateBounds::Crown) => "CROWN",
    }
}

/// Why the bounds cannot certify `run`'s model (`None` when they can): the layer they refuse,
/// or that it is an imported ONNX graph.
pub fn not_applicable(run: &LoadedRun, s: &CertifiedSettings) -> Option<String> {
    check_bounded(&run.model, s.method, &run.device)
        .err()
        .map(|e| {
            format!(
                "not applicable: {} cannot bound this model ({e})",
                s.method.label()
            )
        })
}

/// The intermediate bounds the settings ask for, IBP instead of CROWN when the model has more
/// activation inputs than `full_crown_max_neurons` (full CROWN's cost grows with their count).
fn intermediate_bounds(run: &LoadedRun, s: &CertifiedSettings) -> IntermediateBounds {
    match relaxed_neurons(&run.model, &run.device) {
        Some(n) if n > s.full_crown_max_neurons => IntermediateBounds::Ibp,
        _ => s.intermediate,
    }
}

/// Bounds the first `rows` test rows at `eps`; writes `bounds.json` and `bounds.csv` (per row:
/// label, prediction, verified, the smallest margin bound).
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<CertifiedResult> {
    let s = &ctx.settings.certified;
    let run = ctx.run;
    let data = run.test.clone().head(Some(s.rows));
    let domain = run.config.input_domain()?;
    let space = ThreatSpace::for_domain(&domain.covering(&data), Some(s.units), None)?;
    let intermediate = intermediate_bounds(run, s);
    let config = BoundsConfig::new(s.eps)
        .with_method(s.method)
        .with_intermediate(intermediate)
        .with_batch_rows(s.batch_rows);
    let bar = ctx.bar("certified", 1, "pass");
    let report = certify_space_bounds(
        &run.model,
        &data,
        &space,
        &config,
        cache.sha256().to_string(),
        &run.device,
    )?;
    bar.finish_and_clear();
    write_bounds_report(&report, cache.dir())?;
    Ok(CertifiedResult {
        method: method_name(s.method, intermediate).to_string(),
        eps: s.eps,
        units: s.units,
        space: space.describe(),
        n: report.n,
        clean_accuracy: report.clean_accuracy,
        verified: report.rows.iter().filter(|r| r.verified).count(),
        verified_accuracy: report.verified_accuracy,
        seconds: report.seconds,
    })
}
