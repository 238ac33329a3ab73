//! Iterative policy evaluation (Sutton & Barto 2018, §4.1).

use crate::error::{AlignmentError, Result};
use crate::mdp::Mdp;
use crate::planning::value_iteration::ValueIterationConfig;

/// The value `V^π(s)` `[S]` of the stochastic policy `policy` (`[S, A]`) under `reward` (per
/// state or per state-action), by repeated expected backups from `V = 0` until the largest
/// change is below `cfg.tolerance`. Terminal states are valued at their reward.
///
/// Returns [`AlignmentError::NonFinite`] if `cfg.max_iterations` sweeps do not converge
/// (e.g. γ = 1 and a policy that never terminates).
pub fn policy_evaluation(
    mdp: &Mdp,
    reward: &[f64],
    policy: &[f64],
    cfg: &ValueIterationConfig,
) -> Result<Vec<f64>> {
    cfg.validate()?;
    mdp.check_policy(policy)?;
    let r = mdp.sa_reward(reward)?;
    let (s_n, a_n, g) = (mdp.n_states(), mdp.n_actions(), mdp.gamma());
    let mut v = vec![0.0; s_n];
    let mut next = vec![0.0; s_n];
    for _ in 0..cfg.max_iterations {
        let mut delta = 0.0f64;
        for s in 0..s_n {
            next[s] = if mdp.is_terminal(s) {
                r[s * a_n]
            } else {
                (0..a_n)
                    .filter(|&a| policy[s * a_n + a] > 0.0)
                    .map(|a| policy[s * a_n + a] * (r[s * a_n + a] + g * mdp.expect(s, a, &v)))
                    .sum()
            };
            delta = delta.max((next[s] - v[s]).abs());
        }
        std::mem::swap(&mut v, &mut next);
        if delta < cfg.tolerance {
            return Ok(v);
        }
    }
    Err(AlignmentError::NonFinite {
        algorithm: "policy evaluation".into(),
        detail: format!(
            "no convergence to {} within {} sweeps",
            cfg.tolerance, cfg.max_iterations
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdp::deterministic_policy_matrix;
    use crate::planning::value_iteration::value_iteration;

    /// Two states, action 0 stays, action 1 switches, r = (0, 1), γ = 0.5, uniform policy.
    /// By hand: V0 = 0 + 0.5·(½V0 + ½V1), V1 = 1 + 0.5·(½V1 + ½V0). Subtracting:
    /// V1 − V0 = 1, adding: V0 + V1 = 1 + 0.5(V0 + V1) → V0 + V1 = 2, so V0 = 0.5, V1 = 1.5.
    #[test]
    fn uniform_policy_by_hand() {
        let rows = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 1.0)],
        ];
        let mdp = Mdp::new(2, 2, rows, vec![0.0, 1.0], 0.5).unwrap();
        let v =
            policy_evaluation(&mdp, mdp.reward(), &[0.5; 4], &ValueIterationConfig::new()).unwrap();
        assert!(
            (v[0] - 0.5).abs() < 1e-8 && (v[1] - 1.5).abs() < 1e-8,
            "{v:?}"
        );
        // The greedy policy of value iteration evaluates to V*.
        let plan = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new()).unwrap();
        let pi = deterministic_policy_matrix(&plan.policy, 2);
        let v_star =
            policy_evaluation(&mdp, mdp.reward(), &pi, &ValueIterationConfig::new()).unwrap();
        for (v, best) in v_star.iter().zip(&plan.values) {
            assert!((v - best).abs() < 1e-6);
        }
        assert!(
            policy_evaluation(&mdp, mdp.reward(), &[0.5; 3], &ValueIterationConfig::new()).is_err()
        );
    }
}
