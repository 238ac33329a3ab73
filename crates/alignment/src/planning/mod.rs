//! Planning: each file solves a known [`Mdp`](crate::mdp::Mdp) (or a single decision) for
//! one criterion; no trait, every planner is a function of the `Mdp`, a reward and its
//! `#[derive(Config)]` settings.
//!
//! - `value_iteration.rs`: value iteration, greedy policies and the sweep loop that
//!   `soft_value_iteration.rs` reuses;
//! - `soft_value_iteration.rs`: maximum-entropy (soft) value iteration and its Boltzmann policy;
//! - `policy_evaluation.rs`: the value of a given stochastic policy;
//! - `q_learning.rs`: model-free tabular Q-learning (optionally shaped by a potential);
//! - `expected_utility.rs`: one-shot decisions between lotteries.

pub(crate) mod expected_utility;
pub(crate) mod policy_evaluation;
pub(crate) mod q_learning;
pub(crate) mod soft_value_iteration;
pub(crate) mod value_iteration;

pub use expected_utility::{Decision, Lottery, choose_action, expected_utility};
pub use policy_evaluation::policy_evaluation;
pub use q_learning::{QLearningConfig, QLearningResult, q_learning};
pub use soft_value_iteration::{
    SoftPlan, SoftValueIterationConfig, soft_max, soft_value_iteration,
};
pub use value_iteration::{
    Plan, TIE_TOLERANCE, ValueIterationConfig, greedy_policy, greedy_with_ties, optimal_actions,
    value_iteration,
};
