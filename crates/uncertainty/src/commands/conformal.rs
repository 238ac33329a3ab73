//! `conformal`: split conformal prediction sets of an estimator's predictive distribution on
//! the run's test split, averaged over random calibration/test splits → `conformal.json`,
//! `config.json`.

use std::path::Path;

use aegis_model::io::write_json;
use aegis_model::{DeviceSpec, LoadedRun};
use burn::config::Config;

use super::common::CommonArgs;
use crate::args::{EstimatorArgs, EstimatorConfig, estimator};
use crate::conformal::{ConformalConfig, ConformalReport, ConformalScore, evaluate_conformal};
use crate::error::Result;

/// Flags of `conformal`.
#[derive(clap::Args, Debug)]
pub struct ConformalArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Miscoverage α.
    #[arg(long, default_value_t = 0.1)]
    alpha: f64,
    /// lac | aps | raps.
    #[arg(long, value_enum, default_value = "lac")]
    score: ConformalScore,
    /// Random calibration/test splits.
    #[arg(long, default_value_t = 20)]
    splits: usize,
    /// Fraction of rows used for calibration in each split.
    #[arg(long, default_value_t = 0.5)]
    calibration_fraction: f64,
    /// APS/RAPS without randomisation.
    #[arg(long)]
    no_randomize: bool,
    #[command(flatten)]
    estimator: EstimatorArgs,
}

impl ConformalArgs {
    /// Runs [`conformal`] on `--run` and prints coverage and set size against the target.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let Self {
            common,
            alpha,
            score,
            splits,
            calibration_fraction,
            no_randomize,
            estimator,
        } = self;
        let run = LoadedRun::open(&common.run, device)?;
        let out = common.out_dir("conformal");
        let cfg = ConformalRunConfig::new(
            ConformalConfig::new()
                .with_alpha(alpha)
                .with_score(score)
                .with_randomized(!no_randomize)
                .with_seed(estimator.seed),
            estimator.config(),
        )
        .with_splits(splits)
        .with_calibration_fraction(calibration_fraction);
        let r = conformal(&run, &cfg, &out, true)?;
        println!(
            "{:?} α = {alpha}: coverage {:.4} ± {:.4} (target {:.2}), mean set size {:.3}, over {splits} splits of {} calibration / {} test rows",
            score,
            r.mean_coverage,
            r.std_coverage,
            r.target_coverage,
            r.mean_set_size,
            r.n_calibration,
            r.n_test
        );
        println!("wrote {}", out.join("conformal.json").display());
        Ok(())
    }
}

/// Settings of `conformal`.
#[derive(Config, Debug)]
pub struct ConformalRunConfig {
    /// Conformal settings (α, score, randomisation, seed).
    pub conformal: ConformalConfig,
    /// Random calibration/test splits.
    #[config(default = 20)]
    pub splits: usize,
    /// Fraction of the test rows used for calibration in each split.
    #[config(default = 0.5)]
    pub calibration_fraction: f64,
    /// Estimator whose predictive distribution is calibrated.
    pub estimator: EstimatorConfig,
}

/// Split conformal on the run's test split, averaged over random splits. Writes
/// `conformal.json` and `config.json`.
pub fn conformal(
    run: &LoadedRun,
    cfg: &ConformalRunConfig,
    out: &Path,
    progress: bool,
) -> Result<ConformalReport> {
    let est = estimator(run, &cfg.estimator, progress)?;
    let probs = est.predict_proba(&run.test.features, &run.device)?;
    let report = evaluate_conformal(
        &cfg.conformal,
        &probs,
        &run.test.labels,
        run.test.num_classes,
        cfg.splits,
        cfg.calibration_fraction,
    )?;
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("conformal.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(report)
}
