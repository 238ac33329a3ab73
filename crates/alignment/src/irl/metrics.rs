//! Reward-learning metrics: expected value difference and reward correlation.

use crate::error::{AlignmentError, Result};
use crate::mdp::{Mdp, deterministic_policy_matrix};
use crate::planning::policy_evaluation::policy_evaluation;
use crate::planning::value_iteration::{ValueIterationConfig, value_iteration};

/// Expected value difference (Levine, Popović & Koltun 2011):
/// `E_{s0}[V*_true(s0)] − E_{s0}[V^{π_learned}_true(s0)]`, where `π_learned` is the greedy
/// optimal policy (ties to the lowest action) of value iteration under `learned_reward`, both
/// values are evaluated under `true_reward` with the MDP's γ, and the expectation is over the
/// MDP's start distribution (uniform over all states in the gridworld and objectworld, as in
/// the paper). It is ≥ 0 up to rounding, and 0 when the learned reward induces an optimal
/// policy.
pub fn expected_value_difference(
    mdp: &Mdp,
    true_reward: &[f64],
    learned_reward: &[f64],
) -> Result<f64> {
    let cfg = ValueIterationConfig::new().with_tolerance(1e-10);
    let best = value_iteration(mdp, true_reward, &cfg)?;
    let learned = value_iteration(mdp, learned_reward, &cfg)?;
    let pi = deterministic_policy_matrix(&learned.policy, mdp.n_actions());
    let v = policy_evaluation(mdp, true_reward, &pi, &cfg)?;
    Ok(mdp
        .start()
        .iter()
        .enumerate()
        .map(|(s, p)| p * (best.values[s] - v[s]))
        .sum())
}

/// Pearson correlation of two equally long vectors (e.g. true and learned reward over
/// states). Errors when a vector is constant or the lengths differ.
pub fn pearson(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return Err(AlignmentError::Shape(format!(
            "correlation of vectors of lengths {} and {} (need equal lengths ≥ 2)",
            a.len(),
            b.len()
        )));
    }
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return Err(AlignmentError::Shape(
            "correlation is undefined for a constant vector".into(),
        ));
    }
    Ok(sab / (saa * sbb).sqrt())
}

/// [`pearson`] of the true and learned rewards, or 0 when the learned reward is constant
/// (it then carries no information about the true one).
pub fn reward_correlation(true_reward: &[f64], learned_reward: &[f64]) -> Result<f64> {
    match pearson(true_reward, learned_reward) {
        Ok(r) => Ok(r),
        Err(_) if true_reward.len() == learned_reward.len() && true_reward.len() >= 2 => Ok(0.0),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_by_hand() {
        // a = (1, 2, 3), b = (2, 4, 7): means 2 and 13/3; Σ(a−ā)(b−b̄) = 5,
        // Σ(a−ā)² = 2, Σ(b−b̄)² = 38/3, r = 5 / √(76/3) ≈ 0.99340.
        let r = pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]).unwrap();
        assert!((r - 5.0 / (76.0f64 / 3.0).sqrt()).abs() < 1e-12, "{r}");
        assert!((pearson(&[1.0, 2.0], &[-3.0, -5.0]).unwrap() + 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_err());
        assert_eq!(reward_correlation(&[1.0, 2.0], &[0.0, 0.0]).unwrap(), 0.0);
    }

    /// Two states, stay/switch actions, r = (0, 1), γ = 0.9, uniform start. The optimal
    /// values are (9, 10). A learned reward (1, 0) makes the agent go to and stay in state 0:
    /// its true values are (0, 1 + 0.9·0) = (0, 1). EVD = ½(9 − 0) + ½(10 − 1) = 9.
    #[test]
    fn evd_by_hand() {
        let rows = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 1.0)],
        ];
        let mdp = Mdp::new(2, 2, rows, vec![0.0, 1.0], 0.9).unwrap();
        let evd = expected_value_difference(&mdp, &[0.0, 1.0], &[1.0, 0.0]).unwrap();
        assert!((evd - 9.0).abs() < 1e-6, "{evd}");
        let zero = expected_value_difference(&mdp, &[0.0, 1.0], &[-5.0, 3.0]).unwrap();
        assert!(zero.abs() < 1e-6, "{zero}");
    }
}
