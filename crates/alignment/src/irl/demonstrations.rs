//! Demonstrations for inverse RL: sampled trajectories and their statistics.

use rand::Rng;

use crate::error::{AlignmentError, MAX_DEMOS, MAX_HORIZON, Result, check_count};
use crate::mdp::{Mdp, sample_from};

/// A trajectory: the visited states `s_0, …, s_{T−1}`.
pub type Trajectory = Vec<usize>;

/// Samples `n` trajectories of `horizon` states from `policy` (`[S, A]`), each starting from
/// the MDP's start distribution; a trajectory that reaches a terminal state stops there.
pub fn sample_trajectories(
    mdp: &Mdp,
    policy: &[f64],
    n: usize,
    horizon: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Trajectory>> {
    mdp.check_policy(policy)?;
    check_count("horizon", horizon, 1, MAX_HORIZON)?;
    check_count("demonstrations", n, 0, MAX_DEMOS)?;
    let a_n = mdp.n_actions();
    Ok((0..n)
        .map(|_| {
            let mut s = mdp.sample_start(rng);
            let mut traj = Vec::with_capacity(horizon);
            traj.push(s);
            while traj.len() < horizon && !mdp.is_terminal(s) {
                let a = sample_from(
                    policy[s * a_n..(s + 1) * a_n].iter().copied().enumerate(),
                    rng,
                );
                s = mdp.sample_next(s, a, rng);
                traj.push(s);
            }
            traj
        })
        .collect())
}

/// Checks that the demonstrations are non-empty and name existing states.
pub fn check_demonstrations(mdp: &Mdp, demos: &[Trajectory]) -> Result<()> {
    if demos.is_empty() || demos.iter().any(|d| d.is_empty()) {
        return Err(AlignmentError::invalid(
            "demonstrations",
            "need at least one non-empty trajectory",
        ));
    }
    if let Some(s) = demos.iter().flatten().find(|&&s| s >= mdp.n_states()) {
        return Err(AlignmentError::Shape(format!(
            "a demonstration visits state {s}, but the MDP has {}",
            mdp.n_states()
        )));
    }
    Ok(())
}

/// Empirical (discounted) state visitation, averaged over trajectories:
/// `μ_D(s) = (1/N) Σ_i Σ_t γ^t [s_t^i = s]`, `[S]` (pass `discount = 1` for plain counts).
pub fn empirical_visitation(n_states: usize, demos: &[Trajectory], discount: f64) -> Vec<f64> {
    let mut mu = vec![0.0; n_states];
    for d in demos {
        let mut w = 1.0;
        for &s in d {
            mu[s] += w;
            w *= discount;
        }
    }
    let n = demos.len().max(1) as f64;
    mu.iter_mut().for_each(|m| *m /= n);
    mu
}

/// The empirical start distribution of the demonstrations, `[S]`.
pub fn start_distribution(n_states: usize, demos: &[Trajectory]) -> Vec<f64> {
    let mut p = vec![0.0; n_states];
    for d in demos {
        p[d[0]] += 1.0 / demos.len() as f64;
    }
    p
}

/// The longest trajectory's length.
pub fn max_length(demos: &[Trajectory]) -> usize {
    demos.iter().map(Vec::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn visitation_counts_by_hand() {
        let demos = vec![vec![0, 1, 1], vec![2, 1, 0]];
        // Plain: state 0 twice, 1 three times, 2 once, over 2 trajectories.
        assert_eq!(empirical_visitation(3, &demos, 1.0), vec![1.0, 1.5, 0.5]);
        // γ = 0.5: state 1 gets 0.5 + 0.25 (first) + 0.5 (second) = 1.25 → 0.625.
        assert_eq!(empirical_visitation(3, &demos, 0.5)[1], 0.625);
        assert_eq!(start_distribution(3, &demos), vec![0.5, 0.0, 0.5]);
    }

    #[test]
    fn sampled_trajectories_follow_the_policy_and_stop_at_terminals() {
        let rows = crate::mdp::grid_transitions(1, 4, 4, 0.0);
        let mut start = vec![0.0; 4];
        start[0] = 1.0;
        let mdp = Mdp::new(4, 4, rows, vec![0.0; 4], 0.9)
            .unwrap()
            .with_terminal(&[3])
            .unwrap()
            .with_start(start)
            .unwrap();
        // Always "right" (action 3).
        let pi: Vec<f64> = (0..16)
            .map(|i| if i % 4 == 3 { 1.0 } else { 0.0 })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = sample_trajectories(&mdp, &pi, 2, 10, &mut rng).unwrap();
        assert_eq!(d, vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3]]);
        assert!(check_demonstrations(&mdp, &[vec![7]]).is_err());
    }
}
