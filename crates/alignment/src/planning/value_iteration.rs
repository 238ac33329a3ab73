//! Value iteration (Bellman 1957; Sutton & Barto 2018, §4.4) and the greedy policy.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_nonzero, check_positive};
use crate::mdp::Mdp;

/// Settings of [`value_iteration`] and [`crate::policy_evaluation`].
#[derive(Config, Debug)]
pub struct ValueIterationConfig {
    /// Stop when the largest change of a state value in one sweep is below this.
    #[config(default = 1e-9)]
    pub tolerance: f64,
    /// Give up after this many sweeps (the result then has `converged = false`).
    #[config(default = 100_000)]
    pub max_iterations: usize,
}

impl ValueIterationConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_positive("tolerance", self.tolerance)?;
        check_nonzero("max_iterations", self.max_iterations)
    }
}

/// The result of a planner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Optimal state values `V*(s)`, `[S]`.
    pub values: Vec<f64>,
    /// Optimal action values `Q*(s, a)`, `[S, A]` row-major.
    pub q: Vec<f64>,
    /// A greedy policy: the lowest-index action among those within
    /// [`TIE_TOLERANCE`] of the best, `[S]`.
    pub policy: Vec<usize>,
    /// Sweeps done.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
}

/// Two action values closer than `TIE_TOLERANCE · (1 + |max Q|)` count as tied.
pub const TIE_TOLERANCE: f64 = 1e-7;

/// One Bellman backup `Q(s, a) = R(s, a) + γ Σ P(s'|s, a) V(s')` for all pairs, with terminal
/// states valued at their reward.
pub(crate) fn backup_q(mdp: &Mdp, r_sa: &[f64], v: &[f64], q: &mut [f64]) {
    let (a_n, g) = (mdp.n_actions(), mdp.gamma());
    for s in 0..mdp.n_states() {
        for a in 0..a_n {
            let i = s * a_n + a;
            q[i] = if mdp.is_terminal(s) {
                r_sa[i]
            } else {
                r_sa[i] + g * mdp.expect(s, a, v)
            };
        }
    }
}

/// Value iteration for the reward `reward` (per state `[S]` or per state-action `[S, A]`,
/// see [`Mdp::sa_reward`]), from `V = 0`, with in-place-free (Jacobi) sweeps.
pub fn value_iteration(mdp: &Mdp, reward: &[f64], cfg: &ValueIterationConfig) -> Result<Plan> {
    cfg.validate()?;
    let r = mdp.sa_reward(reward)?;
    let a_n = mdp.n_actions();
    let (v, q, iterations, converged) =
        sweep_until_converged(mdp, &r, cfg.tolerance, cfg.max_iterations, |_, row| {
            row.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        });
    let policy = greedy_policy(&q, a_n);
    Ok(Plan {
        values: v,
        q,
        policy,
        iterations,
        converged,
    })
}

/// The Jacobi sweeps shared by hard and soft value iteration: from `V = 0`, back up
/// `Q = R + γ P V`, set `V(s) = state_value(s, Q(s, ·))`, until the largest change is below
/// `tolerance` or `max_iterations` sweeps. Returns `(V, Q of the final V, sweeps, converged)`.
pub(crate) fn sweep_until_converged(
    mdp: &Mdp,
    r_sa: &[f64],
    tolerance: f64,
    max_iterations: usize,
    state_value: impl Fn(usize, &[f64]) -> f64,
) -> (Vec<f64>, Vec<f64>, usize, bool) {
    let (s_n, a_n) = (mdp.n_states(), mdp.n_actions());
    let mut v = vec![0.0; s_n];
    let mut q = vec![0.0; s_n * a_n];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations {
        iterations += 1;
        backup_q(mdp, r_sa, &v, &mut q);
        let mut delta = 0.0f64;
        for s in 0..s_n {
            let new = state_value(s, &q[s * a_n..(s + 1) * a_n]);
            delta = delta.max((new - v[s]).abs());
            v[s] = new;
        }
        if delta < tolerance {
            converged = true;
            break;
        }
    }
    backup_q(mdp, r_sa, &v, &mut q);
    (v, q, iterations, converged)
}

/// The actions of state `s` whose value is within [`TIE_TOLERANCE`] of the best, ascending.
pub fn optimal_actions(q: &[f64], n_actions: usize, s: usize) -> Vec<usize> {
    let row = &q[s * n_actions..(s + 1) * n_actions];
    let best = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tol = TIE_TOLERANCE * (1.0 + best.abs());
    (0..n_actions).filter(|&a| row[a] >= best - tol).collect()
}

/// Greedy policy of `q` (`[S, A]`): the lowest-index optimal action per state.
pub fn greedy_policy(q: &[f64], n_actions: usize) -> Vec<usize> {
    (0..q.len() / n_actions)
        .map(|s| optimal_actions(q, n_actions, s)[0])
        .collect()
}

/// The stochastic policy `[S, A]` that is uniform over each state's optimal actions
/// ("greedy with ties").
pub fn greedy_with_ties(q: &[f64], n_actions: usize) -> Vec<f64> {
    let mut pi = vec![0.0; q.len()];
    for s in 0..q.len() / n_actions {
        let best = optimal_actions(q, n_actions, s);
        for &a in &best {
            pi[s * n_actions + a] = 1.0 / best.len() as f64;
        }
    }
    pi
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two states, two actions, γ = 0.9. Action 0 stays, action 1 switches; r = (0, 1).
    /// By hand: in state 1 staying is optimal: V1 = 1 / (1 − 0.9) = 10. In state 0 switching
    /// gives V0 = 0 + 0.9·V1 = 9 (staying would give 0).
    #[test]
    fn two_state_mdp_solved_by_hand() {
        let rows = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 1.0)],
        ];
        let mdp = Mdp::new(2, 2, rows, vec![0.0, 1.0], 0.9).unwrap();
        let plan = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new()).unwrap();
        assert!(plan.converged);
        assert!((plan.values[0] - 9.0).abs() < 1e-6, "{:?}", plan.values);
        assert!((plan.values[1] - 10.0).abs() < 1e-6, "{:?}", plan.values);
        assert_eq!(plan.policy, vec![1, 0]);
        // Q(1, switch) = 1 + 0.9·9 = 9.1.
        assert!((plan.q[3] - 9.1).abs() < 1e-6);
    }

    /// A stochastic case by hand: one non-terminal state 0 with action "risky" reaching the
    /// terminal state 1 (reward 10) with p = 0.5 and the terminal state 2 (reward −10)
    /// otherwise, and action "safe" reaching terminal 3 (reward 1). γ = 1, r(0) = 0.
    /// Q(risky) = 0.5·10 − 0.5·10 = 0 < Q(safe) = 1.
    #[test]
    fn stochastic_choice_by_hand_with_terminals() {
        let rows = vec![
            vec![(1, 0.5), (2, 0.5)],
            vec![(3, 1.0)],
            vec![(1, 1.0)],
            vec![(1, 1.0)],
            vec![(2, 1.0)],
            vec![(2, 1.0)],
            vec![(3, 1.0)],
            vec![(3, 1.0)],
        ];
        let mdp = Mdp::new(4, 2, rows, vec![0.0, 10.0, -10.0, 1.0], 1.0)
            .unwrap()
            .with_terminal(&[1, 2, 3])
            .unwrap();
        let plan = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new()).unwrap();
        assert!((plan.q[0]).abs() < 1e-12 && (plan.q[1] - 1.0).abs() < 1e-12);
        assert_eq!(plan.policy[0], 1);
        assert_eq!(plan.values[1], 10.0);
    }

    #[test]
    fn ties_go_to_the_lowest_index_and_bad_config_is_named() {
        let q = vec![1.0, 1.0, 0.5];
        assert_eq!(optimal_actions(&q, 3, 0), vec![0, 1]);
        assert_eq!(greedy_with_ties(&q, 3), vec![0.5, 0.5, 0.0]);
        let rows = vec![vec![(0, 1.0)]];
        let mdp = Mdp::new(1, 1, rows, vec![0.0], 0.5).unwrap();
        let e = value_iteration(
            &mdp,
            &[0.0],
            &ValueIterationConfig::new().with_tolerance(-1.0),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tolerance"), "{e}");
    }
}
