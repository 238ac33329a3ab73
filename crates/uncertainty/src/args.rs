//! The estimator flags and settings every binary that needs a predictive distribution shares
//! (`aegis-uncertainty`, `aegis-oversight`): [`EstimatorArgs`] (clap), [`EstimatorConfig`]
//! (the request), and [`estimator`], which builds the [`UncertaintyEstimator`] they describe
//! for a run.

use std::path::PathBuf;

use aegis_model::LoadedRun;
use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{MAX_MEMBERS, MAX_PASSES, Result, check_count};
use crate::estimators::{
    DeepEnsemble, Deterministic, McDropout, McDropoutConfig, UncertaintyEstimator, train_ensemble,
};

/// Which estimator a command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EstimatorKind {
    /// The run's model, one pass.
    Deterministic,
    /// MC dropout with `passes` passes.
    McDropout,
    /// A deep ensemble of `members` (the run plus retrained seeds).
    Ensemble,
}

/// Estimator settings shared by the commands.
#[derive(Config, Debug)]
pub struct EstimatorConfig {
    /// The estimator.
    #[config(default = "EstimatorKind::Deterministic")]
    pub kind: EstimatorKind,
    /// MC-dropout passes `T`.
    #[config(default = 20)]
    pub passes: usize,
    /// Ensemble size `M` (the run itself is member 0).
    #[config(default = 5)]
    pub members: usize,
    /// Seed of MC-dropout masks.
    #[config(default = 0)]
    pub seed: u64,
}

/// The estimator flags every binary that needs a predictive distribution shares
/// (`aegis-uncertainty`, `aegis-oversight`); flatten it into a clap parser.
#[derive(Debug, Clone, clap::Args)]
pub struct EstimatorArgs {
    /// deterministic | mc-dropout | ensemble.
    #[arg(long, value_enum, default_value = "deterministic")]
    pub estimator: EstimatorKind,
    /// MC-dropout passes T.
    #[arg(long, default_value_t = 20)]
    pub passes: usize,
    /// Ensemble members M (the run is member 0; the others are trained once, cached under
    /// RUN/uncertainty/ensemble and reused by every command).
    #[arg(long, default_value_t = 5)]
    pub members: usize,
    /// Seed of dropout masks and noise sets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl EstimatorArgs {
    /// The settings the flags describe.
    pub fn config(&self) -> EstimatorConfig {
        EstimatorConfig::new()
            .with_kind(self.estimator)
            .with_passes(self.passes)
            .with_members(self.members)
            .with_seed(self.seed)
    }
}

/// Where ensemble members of a run are cached: `<run>/uncertainty/ensemble`, shared by every
/// command (members are keyed by their seed and checked against the run's recipe).
pub fn ensemble_cache(run: &LoadedRun) -> PathBuf {
    run.dir.root().join("uncertainty").join("ensemble")
}

impl EstimatorConfig {
    /// Checks `passes` (in [1, 1000]) and `members` (in [1, 100]), whichever estimator is
    /// chosen, so that a nonsensical flag is refused even where it would be ignored.
    pub fn validate(&self) -> Result<()> {
        check_count("passes", self.passes, 1, MAX_PASSES)?;
        check_count("members", self.members, 1, MAX_MEMBERS)
    }
}

/// Builds the estimator `cfg` describes for `run` (after [`EstimatorConfig::validate`]).
/// Ensemble members are trained once and reused from [`ensemble_cache`].
pub fn estimator(
    run: &LoadedRun,
    cfg: &EstimatorConfig,
    progress: bool,
) -> Result<Box<dyn UncertaintyEstimator>> {
    cfg.validate()?;
    Ok(match cfg.kind {
        EstimatorKind::Deterministic => Box::new(Deterministic::new(&run.model)),
        EstimatorKind::McDropout => Box::new(McDropout::new(
            &run.model,
            McDropoutConfig::new()
                .with_passes(cfg.passes)
                .with_seed(cfg.seed),
        )?),
        EstimatorKind::Ensemble => {
            let members = train_ensemble(
                &run.dir,
                cfg.members,
                &run.spec,
                &ensemble_cache(run),
                progress,
            )?;
            Box::new(DeepEnsemble::new(&members)?)
        }
    })
}
