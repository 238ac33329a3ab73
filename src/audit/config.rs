//! What an audit is asked: the [`Stage`]s, the [`Profile`] and the settings each profile
//! gives every stage ([`AuditSettings`]), all recorded in `audit.json` and part of each stage's
//! cache key.

use std::collections::BTreeSet;
use std::str::FromStr;

use aegis_adversarial_trainer::certified::bounds::{BoundMethod, IntermediateBounds};
use aegis_adversarial_trainer::{EpsUnits, Suite};
use aegis_oversight::ConfidenceKind;
use aegis_uncertainty::ConformalScore;
use serde::{Deserialize, Serialize};

use crate::error::{AuditError, Result};

/// One stage of the audit, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Accuracy, per-class accuracy, confusion matrix.
    Accuracy,
    /// Robust accuracy against ε with the sanity checks.
    Robustness,
    /// Robust accuracy proven by bound propagation at the headline ε (a lower bound).
    Certified,
    /// ECE / adaptive ECE / NLL / Brier before and after temperature scaling.
    Calibration,
    /// Split-conformal coverage and set sizes.
    Conformal,
    /// OOD detection AUROC per shifted set and score.
    Ood,
    /// IG and SmoothGrad heatmaps, deletion curves, parameter randomisation.
    Explain,
    /// SGR threshold, coverage and the risk–coverage curve.
    Deferral,
}

impl Stage {
    /// Every stage, in the order the audit runs and the report shows them.
    pub const ALL: [Stage; 8] = [
        Self::Accuracy,
        Self::Robustness,
        Self::Certified,
        Self::Calibration,
        Self::Conformal,
        Self::Ood,
        Self::Explain,
        Self::Deferral,
    ];

    /// The key used by `--skip`, `audit.json` and the cache folder.
    pub fn key(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Robustness => "robustness",
            Self::Certified => "certified",
            Self::Calibration => "calibration",
            Self::Conformal => "conformal",
            Self::Ood => "ood",
            Self::Explain => "explain",
            Self::Deferral => "deferral",
        }
    }

    /// The section heading of the report.
    pub fn title(self) -> &'static str {
        match self {
            Self::Accuracy => "Accuracy",
            Self::Robustness => "Adversarial robustness",
            Self::Certified => "Certified robustness",
            Self::Calibration => "Calibration",
            Self::Conformal => "Conformal prediction",
            Self::Ood => "Out-of-distribution detection",
            Self::Explain => "Explanations",
            Self::Deferral => "Deferral to a human",
        }
    }
}

impl FromStr for Stage {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|st| st.key() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|st| st.key()).collect();
                AuditError::invalid(
                    "skip",
                    format!("unknown stage {s:?} (stages: {})", names.join(", ")),
                )
            })
    }
}

/// Parses `--skip a,b`: every name must be a stage.
pub fn parse_skip(list: &str) -> Result<BTreeSet<Stage>> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Stage::from_str)
        .collect()
}

/// How thorough the audit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Under two minutes for SmallCnn on bundled MNIST on two cores: the cheap attack suite on
    /// 500 rows at three radii, fewer splits, fewer explained rows.
    Quick,
    /// The full evaluation: AutoAttack's standard suite on every test row over the full ε
    /// grid, 20 splits, 100 explained rows.
    Standard,
}

impl Profile {
    /// `quick` or `standard`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Standard => "standard",
        }
    }
}

/// Robustness settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustnessSettings {
    /// The attack suite.
    pub suite: Suite,
    /// Radii, in `units`.
    pub eps: Vec<f64>,
    /// The unit of ε: raw input units for images, training standard deviations for tables.
    pub units: EpsUnits,
    /// Test rows attacked (the first ones).
    pub rows: usize,
    /// Rows per shard (the unit of progress and of resumption).
    pub shard_rows: usize,
    /// Rows per batch.
    pub batch_size: usize,
    /// A verdict warns when the worst-case accuracy at the headline ε is below this.
    pub warn_below: f64,
}

/// The robustness stage's headline radius of a grid: 0.1 when in it, else the smallest
/// positive one, else the first (0 for an empty grid).
pub fn headline_eps(grid: &[f64]) -> f64 {
    grid.iter()
        .copied()
        .find(|e| (e - 0.1).abs() < 1e-12)
        .or_else(|| {
            grid.iter()
                .copied()
                .filter(|&e| e > 0.0)
                .min_by(f64::total_cmp)
        })
        .or(grid.first().copied())
        .unwrap_or(0.0)
}

/// The most activation inputs the standard profile bounds with full CROWN: the MNIST MLP
/// 784-128-64-10 has 192 (1,000 rows in seconds), SmallCnn 29,504 (full CROWN on 1,000
/// rows took over 400 s on 2 cores, CROWN-IBP takes seconds).
pub const FULL_CROWN_MAX_NEURONS: usize = 4096;

/// Certified-robustness settings: bound propagation over the attacks' ball at their headline
/// radius, on the rows they attack, so the two numbers bracket the true robust accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifiedSettings {
    /// IBP or CROWN.
    pub method: BoundMethod,
    /// CROWN's intermediate bounds: IBP (CROWN-IBP, quick) or CROWN (standard, for models with
    /// at most `full_crown_max_neurons` activation inputs).
    pub intermediate: IntermediateBounds,
    /// Full CROWN's intermediate bounds cost one backward row per activation input: a model with
    /// more of them (every convolutional network; 4,096 in the standard profile) is bounded by
    /// CROWN-IBP instead, and the result names the method used.
    pub full_crown_max_neurons: usize,
    /// The L∞ radius, in `units`: the robustness stage's headline ε.
    pub eps: f64,
    /// The unit of ε (the attacks').
    pub units: EpsUnits,
    /// Test rows certified (the first ones: the rows the attacks attack).
    pub rows: usize,
    /// Rows bounded at once.
    pub batch_rows: usize,
    /// A verdict warns when the attacked accuracy exceeds the certified one by more than this
    /// (the true robust accuracy is then not pinned down).
    pub wide_gap: f64,
}

/// Calibration settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSettings {
    /// Equal-width (ECE) and equal-mass (adaptive ECE) bins.
    pub bins: usize,
    /// Seed of the fit / held-out halves.
    pub seed: u64,
    /// "Calibrated" means a held-out ECE at most this.
    pub target_ece: f64,
}

/// Conformal settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalSettings {
    /// Miscoverage levels.
    pub alphas: Vec<f64>,
    /// Non-conformity score.
    pub score: ConformalScore,
    /// Random calibration / test splits.
    pub splits: usize,
    /// Calibration fraction of each split.
    pub calibration_fraction: f64,
    /// Coverage passes when within this of `1 − α`.
    pub tolerance: f64,
    /// Seed of the splits.
    pub seed: u64,
}

/// OOD settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSettings {
    /// Seed of the noise sets.
    pub seed: u64,
    /// Detection passes when the best score's AUROC on every noise set is at least this.
    pub pass_auroc: f64,
}

/// Explanation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainSettings {
    /// Items shown per group (most confident, misclassified, least confident).
    pub items_per_group: usize,
    /// IG quadrature points.
    pub ig_steps: usize,
    /// SmoothGrad noisy copies.
    pub smoothgrad_samples: usize,
    /// Rows of the deletion curves and IG convergence.
    pub quality_rows: usize,
    /// Rows of max-sensitivity.
    pub sensitivity_rows: usize,
    /// Rows of the parameter-randomisation test.
    pub randomization_rows: usize,
    /// Seed of the random order, the noise and the randomised weights.
    pub seed: u64,
}

/// Deferral settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferralSettings {
    /// Target selective risk `r*`.
    pub target_risk: f64,
    /// Confidence `δ` of the guarantee.
    pub delta: f64,
    /// Random calibration / held-out splits.
    pub splits: usize,
    /// Calibration fraction of each split.
    pub calibration_fraction: f64,
    /// Confidence function.
    pub confidence: ConfidenceKind,
    /// Seed of the splits.
    pub seed: u64,
    /// The verdict fails when the held-out risk exceeds `r*` in more than this fraction of
    /// splits.
    pub max_violation_rate: f64,
}

/// Every setting of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSettings {
    /// The profile the settings come from.
    pub profile: Profile,
    /// Test rows audited (all of the run's test split unless limited).
    pub rows: usize,
    /// Robustness.
    pub robustness: RobustnessSettings,
    /// Certified robustness.
    pub certified: CertifiedSettings,
    /// Calibration.
    pub calibration: CalibrationSettings,
    /// Conformal prediction.
    pub conformal: ConformalSettings,
    /// OOD detection.
    pub ood: OodSettings,
    /// Explanations.
    pub explain: ExplainSettings,
    /// Deferral.
    pub deferral: DeferralSettings,
}

impl AuditSettings {
    /// The settings of `profile` for `rows` test rows whose ε is measured in `units`.
    pub fn new(profile: Profile, rows: usize, units: EpsUnits) -> Self {
        let quick = profile == Profile::Quick;
        let eps: Vec<f64> = match (units, quick) {
            (EpsUnits::Raw, true) => vec![0.0, 0.1, 0.3],
            (EpsUnits::Raw, false) => vec![0.0, 0.1, 0.2, 0.3],
            (EpsUnits::Std, true) => vec![0.0, 0.1, 0.5],
            (EpsUnits::Std, false) => vec![0.0, 0.05, 0.1, 0.25, 0.5, 1.0],
        };
        let pick = |q: usize, s: usize| if quick { q } else { s };
        let attacked = rows.min(pick(500, usize::MAX));
        let headline = headline_eps(&eps);
        Self {
            profile,
            rows,
            robustness: RobustnessSettings {
                suite: if quick {
                    Suite::Cheap
                } else {
                    Suite::AutoAttack
                },
                eps,
                units,
                rows: attacked,
                shard_rows: 100,
                batch_size: aegis_model::DEFAULT_BATCH_ROWS,
                warn_below: 0.5,
            },
            certified: CertifiedSettings {
                method: BoundMethod::Crown,
                intermediate: if quick {
                    IntermediateBounds::Ibp
                } else {
                    IntermediateBounds::Crown
                },
                full_crown_max_neurons: FULL_CROWN_MAX_NEURONS,
                eps: headline,
                units,
                rows: attacked,
                batch_rows: 32,
                wide_gap: 0.2,
            },
            calibration: CalibrationSettings {
                bins: 15,
                seed: 0,
                target_ece: 0.02,
            },
            conformal: ConformalSettings {
                alphas: vec![0.1, 0.05],
                score: ConformalScore::Lac,
                splits: pick(10, 20),
                calibration_fraction: 0.5,
                tolerance: 0.02,
                seed: 0,
            },
            ood: OodSettings {
                seed: 0,
                pass_auroc: 0.9,
            },
            explain: ExplainSettings {
                items_per_group: pick(2, 3),
                ig_steps: pick(32, 50),
                smoothgrad_samples: pick(25, 50),
                quality_rows: pick(50, 100),
                sensitivity_rows: pick(5, 20),
                randomization_rows: pick(10, 20),
                seed: 0,
            },
            deferral: DeferralSettings {
                target_risk: 0.02,
                delta: 0.001,
                splits: pick(10, 20),
                calibration_fraction: 0.8,
                confidence: ConfidenceKind::Msp,
                seed: 0,
                max_violation_rate: 0.05,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_lists_parse_and_unknown_stages_are_named() {
        let s = parse_skip("ood, explain").unwrap();
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            [Stage::Ood, Stage::Explain]
        );
        let e = parse_skip("ood,shap").unwrap_err().to_string();
        assert!(e.contains("\"shap\"") && e.contains("deferral"), "{e}");
    }

    #[test]
    fn profiles_differ_where_the_issue_says() {
        let q = AuditSettings::new(Profile::Quick, 1000, EpsUnits::Raw);
        let s = AuditSettings::new(Profile::Standard, 1000, EpsUnits::Raw);
        assert_eq!(q.robustness.suite, Suite::Cheap);
        assert_eq!(s.robustness.suite, Suite::AutoAttack);
        assert!(q.robustness.eps.len() < s.robustness.eps.len());
        assert_eq!((q.robustness.rows, s.robustness.rows), (500, 1000));
        assert_eq!(q.conformal.alphas, vec![0.1, 0.05]);
        let t = AuditSettings::new(Profile::Standard, 113, EpsUnits::Std);
        assert_eq!(t.robustness.eps, vec![0.0, 0.05, 0.1, 0.25, 0.5, 1.0]);
        // The certified stage bounds the attacks' rows at their headline radius.
        assert_eq!(q.certified.intermediate, IntermediateBounds::Ibp);
        assert_eq!(s.certified.intermediate, IntermediateBounds::Crown);
        assert_eq!(s.certified.full_crown_max_neurons, FULL_CROWN_MAX_NEURONS);
        assert_eq!((q.certified.eps, q.certified.rows), (0.1, 500));
        assert_eq!(t.certified.units, EpsUnits::Std);
        assert_eq!(headline_eps(&[0.0, 0.3, 0.2]), 0.2);
        assert_eq!(headline_eps(&[0.0]), 0.0);
    }
}
