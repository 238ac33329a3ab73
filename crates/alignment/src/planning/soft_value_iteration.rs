//! Soft (maximum-entropy) value iteration: the soft Bellman backup
//! `V(s) = τ log Σ_a exp(Q(s, a) / τ)`, `Q(s, a) = R(s, a) + γ Σ P(s'|s, a) V(s')`, whose
//! policy is `π(a|s) = exp((Q(s, a) − V(s)) / τ)` (Ziebart 2010, "Modeling Purposeful
//! Adaptive Behavior with the Principle of Maximum Causal Entropy"; Haarnoja et al. 2017).
//! As τ → 0 it becomes ordinary value iteration.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_nonzero, check_positive};
use crate::mdp::Mdp;
use crate::planning::value_iteration::sweep_until_converged;

/// Settings of [`soft_value_iteration`].
#[derive(Config, Debug)]
pub struct SoftValueIterationConfig {
    /// Temperature τ > 0 (the weight of the entropy bonus).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// Stop when the largest change of a state value in one sweep is below this.
    #[config(default = 1e-9)]
    pub tolerance: f64,
    /// Give up after this many sweeps (the result then has `converged = false`).
    #[config(default = 100_000)]
    pub max_iterations: usize,
}

impl SoftValueIterationConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_positive("temperature", self.temperature)?;
        check_positive("tolerance", self.tolerance)?;
        check_nonzero("max_iterations", self.max_iterations)
    }
}

/// The result of [`soft_value_iteration`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoftPlan {
    /// Soft state values `[S]`.
    pub values: Vec<f64>,
    /// Soft action values `[S, A]`.
    pub q: Vec<f64>,
    /// The Boltzmann policy `π(a|s) = exp((Q − V)/τ)`, `[S, A]` (uniform on terminals).
    pub policy: Vec<f64>,
    /// Sweeps done.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
}

/// `τ log Σ exp(x / τ)`, computed stably.
pub fn soft_max(x: &[f64], temperature: f64) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + temperature
        * x.iter()
            .map(|v| ((v - m) / temperature).exp())
            .sum::<f64>()
            .ln()
}

/// Soft value iteration for `reward` (per state or per state-action) from `V = 0`. Terminal
/// states are valued at their reward (no entropy bonus: the episode is over).
pub fn soft_value_iteration(
    mdp: &Mdp,
    reward: &[f64],
    cfg: &SoftValueIterationConfig,
) -> Result<SoftPlan> {
    cfg.validate()?;
    let r = mdp.sa_reward(reward)?;
    let (a_n, tau) = (mdp.n_actions(), cfg.temperature);
    let (v, q, iterations, converged) =
        sweep_until_converged(mdp, &r, cfg.tolerance, cfg.max_iterations, |s, row| {
            if mdp.is_terminal(s) {
                r[s * a_n]
            } else {
                soft_max(row, tau)
            }
        });
    let policy = boltzmann_policy(mdp, &q, &v, tau);
    Ok(SoftPlan {
        values: v,
        q,
        policy,
        iterations,
        converged,
    })
}

/// `π(a|s) = exp((Q(s,a) − V(s))/τ)`, renormalised against rounding; uniform on terminals.
pub(crate) fn boltzmann_policy(mdp: &Mdp, q: &[f64], v: &[f64], tau: f64) -> Vec<f64> {
    let a_n = mdp.n_actions();
    let mut pi = vec![0.0; q.len()];
    for s in 0..mdp.n_states() {
        let row = &mut pi[s * a_n..(s + 1) * a_n];
        if mdp.is_terminal(s) {
            row.fill(1.0 / a_n as f64);
            continue;
        }
        for a in 0..a_n {
            row[a] = ((q[s * a_n + a] - v[s]) / tau).exp();
        }
        let total: f64 = row.iter().sum();
        row.iter_mut().for_each(|p| *p /= total);
    }
    pi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::value_iteration::{ValueIterationConfig, value_iteration};

    fn two_state() -> Mdp {
        let rows = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 1.0)],
        ];
        Mdp::new(2, 2, rows, vec![0.0, 1.0], 0.9).unwrap()
    }

    /// One state, two self-loop actions, r = 0, γ = 0.5, τ = 1: V = log 2 + 0.5 V, so
    /// V = 2 log 2 (by hand), and the policy is uniform.
    #[test]
    fn entropy_bonus_by_hand() {
        let mdp = Mdp::new(1, 2, vec![vec![(0, 1.0)], vec![(0, 1.0)]], vec![0.0], 0.5).unwrap();
        let p = soft_value_iteration(&mdp, &[0.0], &SoftValueIterationConfig::new()).unwrap();
        assert!(
            (p.values[0] - 2.0 * 2f64.ln()).abs() < 1e-8,
            "{:?}",
            p.values
        );
        assert!((p.policy[0] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn low_temperature_reduces_to_hard_value_iteration() {
        let mdp = two_state();
        let hard = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new()).unwrap();
        let soft = soft_value_iteration(
            &mdp,
            mdp.reward(),
            &SoftValueIterationConfig::new().with_temperature(1e-3),
        )
        .unwrap();
        for s in 0..2 {
            // The entropy bonus is at most τ log A / (1 − γ) = 1e-3 · 0.69 / 0.1 ≈ 0.007.
            assert!((soft.values[s] - hard.values[s]).abs() < 0.01, "{s}");
            assert!(soft.policy[s * 2 + hard.policy[s]] > 0.999);
        }
        // A high temperature is near uniform and has larger values than the hard ones.
        let warm = soft_value_iteration(
            &mdp,
            mdp.reward(),
            &SoftValueIterationConfig::new().with_temperature(100.0),
        )
        .unwrap();
        assert!((warm.policy[0] - 0.5).abs() < 0.01);
        assert!(warm.values[0] > hard.values[0]);
        assert!(
            soft_value_iteration(
                &mdp,
                mdp.reward(),
                &SoftValueIterationConfig::new().with_temperature(0.0)
            )
            .unwrap_err()
            .to_string()
            .contains("temperature")
        );
    }
}
