//! Inverse RL: learn a reward per state from demonstrations of an expert. No trait: each
//! learner is a function `(Mdp, demonstrations, config) -> IrlResult`; the layer below them
//! is the shared forward pass.
//!
//! - `demonstrations.rs`: sampled trajectories and their empirical statistics;
//! - `occupancy.rs`: expected visitation (the forward pass) and the maximum-causal-entropy
//!   policy and occupancy measure, shared by every learner;
//! - `maxent_irl.rs`: linear MaxEnt IRL (Ziebart et al. 2008), its backward pass, the reward
//!   gradient and the host Adam;
//! - `mce_irl.rs`: linear maximum-causal-entropy IRL (Ziebart 2010);
//! - `deep_maxent_irl.rs`: deep MaxEnt IRL (Wulfmeier et al. 2015), a Burn MLP reward;
//! - `metrics.rs`: expected value difference and reward correlation.

pub(crate) mod deep_maxent_irl;
pub mod demonstrations;
pub(crate) mod maxent_irl;
pub(crate) mod mce_irl;
pub(crate) mod metrics;
pub(crate) mod occupancy;

pub use deep_maxent_irl::{DeepMaxEntIrlConfig, RewardMlp, deep_maxent_irl};
pub use demonstrations::{Trajectory, sample_trajectories};
pub use maxent_irl::{
    IrlObjective, IrlResult, MaxEntIrlConfig, maxent_irl, maxent_policy, reward_gradient,
    standardized_features,
};
pub use mce_irl::mce_irl;
pub use metrics::{expected_value_difference, pearson, reward_correlation};
pub use occupancy::{expected_visitation, mce_policy, occupancy_measure};
