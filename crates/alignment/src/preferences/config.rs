//! Settings of the preference experiment ([`PreferenceConfig`]) and the reward-model
//! families ([`RewardModelKind`]).

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{
    AlignmentError, MAX_REPEATS, Result, check_count, check_nonzero, check_positive, check_range,
};
// Doc links only, through the crate root: the experiment and the models sit above this file.
#[cfg(doc)]
use crate::{LinearRewardModel, RewardMlp, preference_learning};

/// Settings of [`preference_learning`].
#[derive(Config, Debug)]
pub struct PreferenceConfig {
    /// States per segment k.
    #[config(default = 10)]
    pub segment_length: usize,
    /// Bradley–Terry temperature T of the synthetic labeller (0: noiseless).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// ε of the ε-greedy rollouts that produce segments (1 = uniformly random actions).
    #[config(default = 1.0)]
    pub rollout_epsilon: f64,
    /// Ensemble size M.
    #[config(default = 5)]
    pub ensemble: usize,
    /// Fit each member on a bootstrap resample (otherwise on all pairs; members then agree).
    #[config(default = true)]
    pub bootstrap: bool,
    /// Segments generated for the candidate pool.
    #[config(default = 1000)]
    pub pool_segments: usize,
    /// Candidate pairs in the pool.
    #[config(default = 4000)]
    pub pool_pairs: usize,
    /// Random comparisons before active selection starts (also the first curve point).
    #[config(default = 25)]
    pub initial: usize,
    /// Comparisons added per round (one curve point per round).
    #[config(default = 25)]
    pub batch: usize,
    /// Adam steps per fit.
    #[config(default = 300)]
    pub iterations: usize,
    /// Adam learning rate.
    #[config(default = 0.05)]
    pub learning_rate: f64,
    /// L2 penalty λ on the weights.
    #[config(default = 1e-3)]
    pub l2: f64,
    /// Reward model family.
    #[config(default = "RewardModelKind::Linear")]
    pub model: RewardModelKind,
    /// Hidden widths of the MLP reward model (ReLU after each).
    #[config(default = "vec![16]")]
    pub hidden: Vec<usize>,
    /// Adam learning rate of the MLP reward model (its weight decay is `l2`).
    #[config(default = 0.01)]
    pub mlp_learning_rate: f64,
    /// Seed of segments, labels, bootstrap resamples, random queries and MLP weights.
    #[config(default = 1)]
    pub seed: u64,
}

/// Reward model families of [`preference_learning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RewardModelKind {
    /// [`LinearRewardModel`] over the raw state features, fitted on the host.
    Linear,
    /// A Burn [`RewardMlp`] over the standardised state features, trained by Adam on the
    /// device given to [`preference_learning`] (autodiff through `device.autodiff()`).
    Mlp,
}

impl PreferenceConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_nonzero("segment_length", self.segment_length)?;
        check_range("temperature", self.temperature, 0.0, 1e6)?;
        check_range("rollout_epsilon", self.rollout_epsilon, 0.0, 1.0)?;
        check_count("ensemble", self.ensemble, 1, MAX_REPEATS)?;
        check_nonzero("pool_segments", self.pool_segments)?;
        check_nonzero("pool_pairs", self.pool_pairs)?;
        check_nonzero("batch", self.batch)?;
        check_nonzero("initial", self.initial)?;
        check_nonzero("iterations", self.iterations)?;
        check_positive("learning_rate", self.learning_rate)?;
        check_range("l2", self.l2, 0.0, 1e6)?;
        check_positive("mlp_learning_rate", self.mlp_learning_rate)?;
        if self.hidden.contains(&0) {
            return Err(AlignmentError::invalid("hidden", "a layer width is 0"));
        }
        Ok(())
    }
}
