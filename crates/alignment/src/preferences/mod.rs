//! Preferences: reward learning from pairwise comparisons of trajectory segments. No trait:
//! the two reward-model families are the [`RewardModelKind`] variants, and
//! [`preference_learning`] runs the experiment.
//!
//! Files, bottom to top: `config.rs` (settings), `segments.rs` (segments and rollouts),
//! `bradley_terry.rs` (the synthetic labeller), `reward_models.rs` (linear and Burn MLP
//! models), `pool.rs` (the labelled candidate pool), `ensemble.rs` (bootstrap ensembles and
//! their disagreement), `queries.rs` (random and active query selection), `learning.rs` (the
//! experiment and its curve).
//!
//! Reward learning from pairwise preferences (Christiano et al. 2017, "Deep Reinforcement
//! Learning from Human Preferences"; the `imitation` library's preference comparisons).
//!
//! - Segments: `k` consecutive states of rollouts from the start distribution, acting
//!   uniformly at random with probability ε and greedily for the true reward otherwise
//!   (ε = 1: random rollouts, the default).
//! - Labeller ([`BradleyTerryLabeller`]): a synthetic human who prefers segment `a` over `b`
//!   with the Bradley–Terry probability `σ((R(a) − R(b)) / T)`, `R` the true return of the
//!   segment (sum of state rewards) and `T` a temperature (`T = 0`: always the better one,
//!   ties split evenly); the label is drawn from `ChaCha8Rng`.
//! - Reward model ([`RewardModelKind`]): [`LinearRewardModel`] `r̂(s) = w · f(s)` over the
//!   MDP's features (host, full-batch Adam, plus `λ‖w‖²`), or a Burn
//!   [`RewardMlp`](crate::RewardMlp) over the standardised features ([`fit_mlp_reward`],
//!   full-batch Adam with weight decay λ, any device), both trained on the Bradley–Terry
//!   cross-entropy
//!   `−[y log σ(Δ) + (1 − y) log σ(−Δ)]`, `Δ = R̂(a) − R̂(b)` (segment returns).
//! - Ensemble: `M` models, each fitted on a bootstrap resample of the labelled pairs;
//!   the reward estimate is their mean.
//! - Query selection ([`QuerySelection`]): from a fixed pool of candidate pairs, either
//!   uniformly at random or the pairs whose predicted preference probability varies most
//!   across the ensemble (disagreement), after a random warm-up.

mod bradley_terry;
mod config;
mod ensemble;
mod learning;
mod pool;
mod queries;
mod reward_models;
mod segments;

pub use bradley_terry::BradleyTerryLabeller;
pub use config::{PreferenceConfig, RewardModelKind};
pub use ensemble::ensemble_disagreement;
pub use learning::{PreferenceCurve, preference_learning};
pub use queries::QuerySelection;
pub use reward_models::{LinearRewardModel, fit_mlp_reward};
pub use segments::{Segment, sample_segments};
