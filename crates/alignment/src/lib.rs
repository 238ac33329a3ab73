//! # aegis-alignment
//!
//! Value-based planning, potential-based reward shaping, inverse reinforcement learning and
//! reward learning from preferences, on tabular MDPs.
//!
//! - [`Mdp`]: explicit sparse transition tensors `P(s'|s, a)`, rewards per state, discount,
//!   terminal states, start distribution, state features `[S, F]`. Environments:
//!   [`GridworldConfig`] (slippery grid; a reward-learning task with reward linear in
//!   macro-cell features, and a goal task), [`ObjectworldConfig`] (Levine et al. 2011),
//!   [`CliffWorldConfig`] (Sutton & Barto 2018).
//! - Planning: [`value_iteration`], [`policy_evaluation`], [`q_learning`],
//!   [`soft_value_iteration`] (maximum entropy), and [`choose_action`] (expected utility).
//! - Shaping: [`potential_shaped_reward`] `F = γΦ(s') − Φ(s)` (Ng, Harada & Russell 1999),
//!   a non-potential [`transition_bonus_reward`] counter-example, and [`shaping_experiment`].
//! - Inverse RL: [`maxent_irl`] (Ziebart et al. 2008), [`mce_irl`] (Ziebart 2010, as the
//!   `imitation` library), [`deep_maxent_irl`] (Wulfmeier et al. 2015, a Burn MLP on any
//!   device); metrics [`expected_value_difference`] and [`reward_correlation`].
//! - Preferences: Bradley–Terry reward models trained on synthetic segment comparisons
//!   (Christiano et al. 2017), ensembles and active query selection by disagreement
//!   ([`preference_learning`]).
//! - [`commands`] (formerly `job`): the binary's commands as library calls, writing JSON
//!   reports, `config.json` and PNGs atomically.
//!
//! ## Layers
//!
//! Each layer uses only the ones listed before it:
//!
//! - `error.rs`, [`mdp`]: the error type and the tabular MDP every algorithm works on;
//! - `envs/`: one environment per file ([`gridworld`], [`objectworld`], [`cliff_world`]);
//! - `planning/`: value iteration, soft value iteration, policy evaluation, Q-learning,
//!   expected utility;
//! - `shaping.rs`: potential-based shaping and its experiment (on the gridworld, with
//!   Q-learning);
//! - `irl/`: [`demonstrations`], the shared occupancy measures, linear MaxEnt and MCE IRL,
//!   deep MaxEnt IRL, and the EVD / reward-correlation metrics;
//! - `preferences/`: segments, the Bradley–Terry labeller, reward models, ensembles, query
//!   selection and the preference-learning experiment;
//! - [`commands`]: one file per command of the binary.
//!
//! ## Experimental protocol
//!
//! Demonstrations for IRL are sampled trajectories of `T` states (default 16 on the
//! objectworld, 20 on the gridworld) from the start distribution (uniform over all states),
//! following the optimal policy under the true reward: uniform over the tied optimal actions
//! of value iteration on the objectworld (as Levine et al. 2011), the soft-optimal policy
//! (τ = 1) on the gridworld. The backward / forward passes use the same horizon `T`. The EVD
//! is averaged over the start distribution, i.e. over all states. A seed picks the world
//! (object placement / macro-cell rewards), the demonstrations and the network's initial
//! weights.
//!
//! ## Measured (dev profile, flex, 2 cores; full numbers in the lead's report)
//!
//! - Objectworld 32 × 32, 2 colours, continuous features, 5 seeds, mean EVD at
//!   8 / 16 / 32 / 64 / 128 demonstrations: linear MaxEnt 1.83 / 1.53 / 1.53 / 1.42 / 1.40,
//!   linear MCE 1.75 / 1.47 / 1.31 / 1.29 / 1.27, deep MaxEnt (causal passes, Wulfmeier's
//!   Algorithm 1) 1.62 / 0.88 / 0.67 / 0.42 / 0.36.
//! - Gridworld 8 × 8 (reward linear in 16 macro-cell features), linear MaxEnt: mean reward
//!   correlation 0.93 at 128 demonstrations (per seed 0.86–0.98); linear MCE 0.97.
//! - Preferences, 8 × 8 gridworld, 500 comparisons: reward correlation 0.99 (linear and
//!   MLP reward models). Active query selection by ensemble disagreement is *not* uniformly
//!   better than random queries. Mean comparisons over 10 seeds to reach correlation
//!   0.9 / 0.95 / 0.98: linear model, random 70 / 125 / 243, active 80 / 123 / 175; MLP,
//!   random 103 / 155 / 293, active 103 / 143 / 200. Active loses early (its first picks
//!   from a 25-pair ensemble are worse than random ones) and wins at high correlation.
#![warn(missing_docs)]

pub mod commands;
mod envs;
mod error;
mod irl;
pub mod mdp;
mod planning;
mod preferences;
mod shaping;

#[cfg(test)]
#[path = "../../../tests/support/figures.rs"]
pub(crate) mod figures;

/// Former name of [`commands`], kept so code written against 0.1 compiles.
pub use commands as job;
pub use envs::{cliff_world, gridworld, objectworld};
pub use irl::demonstrations;

pub use commands::{
    DemoPolicy, EnvKind, IrlMethod, IrlReport, IrlRequest, PlanMethod, PlanReport, PlanRequest,
    PreferenceReport, PreferenceRequest, RepeatedCurves, SweepReport, SweepRow, irl_experiment,
    run_irl, run_irl_sweep, run_plan, run_preferences, run_shaping,
};
pub use envs::{
    CliffWorldConfig, Gridworld, GridworldConfig, Object, Objectworld, ObjectworldConfig,
};
pub use error::{AlignmentError, Result};
pub use irl::{
    DeepMaxEntIrlConfig, IrlObjective, IrlResult, MaxEntIrlConfig, RewardMlp, Trajectory,
    deep_maxent_irl, expected_value_difference, expected_visitation, maxent_irl, maxent_policy,
    mce_irl, mce_policy, occupancy_measure, pearson, reward_correlation, reward_gradient,
    sample_trajectories, standardized_features,
};
pub use mdp::{Mdp, deterministic_policy_matrix};
pub use planning::{
    Decision, Lottery, Plan, QLearningConfig, QLearningResult, SoftPlan, SoftValueIterationConfig,
    TIE_TOLERANCE, ValueIterationConfig, choose_action, expected_utility, greedy_policy,
    greedy_with_ties, optimal_actions, policy_evaluation, q_learning, soft_max,
    soft_value_iteration, value_iteration,
};
pub use preferences::{
    BradleyTerryLabeller, LinearRewardModel, PreferenceConfig, PreferenceCurve, QuerySelection,
    RewardModelKind, Segment, ensemble_disagreement, fit_mlp_reward, preference_learning,
    sample_segments,
};
pub use shaping::{
    PotentialCheck, ShapingConfig, ShapingCurve, ShapingPotential, ShapingReport,
    potential_shaped_reward, same_optimal_actions, shaping_experiment, transition_bonus_reward,
};
