//! Occupancy measures: the forward pass every IRL method shares ([`expected_visitation`]:
//! the expected state visitation of a stationary policy over `T` steps, optionally
//! discounted), and the maximum-causal-entropy pieces of Ziebart 2010 / the `imitation`
//! library's `mce_irl` ([`mce_policy`]: soft value iteration at τ = 1; [`occupancy_measure`]:
//! the discounted visitation `ρ(s) = Σ_{t<T} γ^t D_t(s)`).
//!
//! Below both learners: [`super::maxent_irl`] (and through it [`super::mce_irl`] and
//! [`super::deep_maxent_irl`]) use these passes, so the two files no longer import each other.

use crate::error::Result;
use crate::mdp::Mdp;
use crate::planning::soft_value_iteration::{SoftValueIterationConfig, soft_value_iteration};

/// The maximum-causal-entropy policy `[S, A]` of `reward` (soft value iteration, τ = 1,
/// the MDP's γ, tolerance 1e-8).
pub fn mce_policy(mdp: &Mdp, reward: &[f64]) -> Result<Vec<f64>> {
    let cfg = SoftValueIterationConfig::new().with_tolerance(1e-8);
    Ok(soft_value_iteration(mdp, reward, &cfg)?.policy)
}

/// The discounted occupancy measure `Σ_{t<T} γ^t D_t(s)` of `policy` from `start`, `[S]`.
pub fn occupancy_measure(mdp: &Mdp, policy: &[f64], start: &[f64], horizon: usize) -> Vec<f64> {
    expected_visitation(mdp, policy, start, horizon, mdp.gamma())
}

/// Expected state visitation over `horizon` steps of `policy` from `start`, each step
/// weighted by `discount^t`: `Σ_{t<T} γ^t D_t(s)`, `[S]`. Mass that reaches a terminal state
/// is counted there once and leaves.
pub fn expected_visitation(
    mdp: &Mdp,
    policy: &[f64],
    start: &[f64],
    horizon: usize,
    discount: f64,
) -> Vec<f64> {
    let (s_n, a_n) = (mdp.n_states(), mdp.n_actions());
    let mut d = start.to_vec();
    let mut total = d.clone();
    let mut next = vec![0.0; s_n];
    let mut w = 1.0;
    for _ in 1..horizon {
        next.fill(0.0);
        for s in (0..s_n).filter(|&s| d[s] > 0.0 && !mdp.is_terminal(s)) {
            for a in 0..a_n {
                let m = d[s] * policy[s * a_n + a];
                if m == 0.0 {
                    continue;
                }
                for &(n, p) in mdp.next(s, a) {
                    next[n] += m * p;
                }
            }
        }
        std::mem::swap(&mut d, &mut next);
        w *= discount;
        for s in 0..s_n {
            total[s] += w * d[s];
        }
    }
    total
}
