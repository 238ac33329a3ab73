//! Potential-based reward shaping (Ng, Harada & Russell 1999, "Policy Invariance under Reward
//! Transformations"): adding `F(s, a, s') = γΦ(s') − Φ(s)` to the reward leaves the optimal
//! policies unchanged (`Q'*(s, a) = Q*(s, a) − Φ(s)`), for any potential `Φ`, while a
//! bonus that is not of this form can change them.
//!
//! Terminal states: `Φ` of a terminal successor counts as 0 (the paper's condition for
//! episodic tasks), and a terminal state's own reward is unchanged.

use burn::config::Config;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::envs::gridworld::GridworldConfig;
use crate::error::{
    AlignmentError, MAX_GRID_SIDE, MAX_ITERATIONS, MAX_REPEATS, Result, check_count,
    check_positive, check_range,
};
use crate::mdp::Mdp;
use crate::planning::q_learning::{QLearningConfig, q_learning};
use crate::planning::value_iteration::{
    Plan, ValueIterationConfig, optimal_actions, value_iteration,
};

fn check_len(mdp: &Mdp, v: &[f64], what: &str) -> Result<()> {
    if v.len() != mdp.n_states() || v.iter().any(|x| !x.is_finite()) {
        return Err(AlignmentError::Shape(format!(
            "the {what} must hold {} finite values (has {})",
            mdp.n_states(),
            v.len()
        )));
    }
    Ok(())
}

/// The expected shaped reward `R'(s, a) = R(s, a) + Σ P(s'|s,a) (γΦ(s') − Φ(s))`, `[S, A]`
/// (terminal rows unchanged, `Φ` of terminal successors taken as 0).
pub fn potential_shaped_reward(mdp: &Mdp, reward: &[f64], potential: &[f64]) -> Result<Vec<f64>> {
    check_len(mdp, potential, "potential")?;
    let mut r = mdp.sa_reward(reward)?;
    let (a_n, g) = (mdp.n_actions(), mdp.gamma());
    let phi = |s: usize| {
        if mdp.is_terminal(s) {
            0.0
        } else {
            potential[s]
        }
    };
    for s in (0..mdp.n_states()).filter(|&s| !mdp.is_terminal(s)) {
        for a in 0..a_n {
            let next: f64 = mdp.next(s, a).iter().map(|&(n, p)| p * phi(n)).sum();
            r[s * a_n + a] += g * next - phi(s);
        }
    }
    Ok(r)
}

/// A bonus that is *not* potential-based: `F(s, a, s') = bonus(s')` for every transition into
/// `s'` (e.g. a reward for visiting a landmark), as an expected reward `[S, A]`.
pub fn transition_bonus_reward(mdp: &Mdp, reward: &[f64], bonus: &[f64]) -> Result<Vec<f64>> {
    check_len(mdp, bonus, "bonus")?;
    let mut r = mdp.sa_reward(reward)?;
    let a_n = mdp.n_actions();
    for s in (0..mdp.n_states()).filter(|&s| !mdp.is_terminal(s)) {
        for a in 0..a_n {
            r[s * a_n + a] += mdp.expect(s, a, bonus);
        }
    }
    Ok(r)
}

/// The number of non-terminal states whose sets of optimal actions differ between `q1` and
/// `q2` (`[S, A]` each); 0 means the two have the same optimal policies.
pub fn same_optimal_actions(mdp: &Mdp, q1: &[f64], q2: &[f64]) -> usize {
    let a_n = mdp.n_actions();
    (0..mdp.n_states())
        .filter(|&s| !mdp.is_terminal(s))
        .filter(|&s| optimal_actions(q1, a_n, s) != optimal_actions(q2, a_n, s))
        .count()
}

/// Settings of [`shaping_experiment`] (on the gridworld goal task).
#[derive(Config, Debug)]
pub struct ShapingConfig {
    /// Grid side N.
    #[config(default = 8)]
    pub size: usize,
    /// Slip probability of the grid.
    #[config(default = 0.1)]
    pub slip: f64,
    /// Discount γ.
    #[config(default = 0.95)]
    pub gamma: f64,
    /// Random potentials tested for invariance (`Φ(s) ~ U(−scale, scale)`, one seed each).
    #[config(default = 5)]
    pub random_potentials: usize,
    /// Scale of the random potentials.
    #[config(default = 10.0)]
    pub potential_scale: f64,
    /// Bonus of the non-potential counter-example, paid on every entry into the centre cell.
    #[config(default = 0.5)]
    pub bonus: f64,
    /// Q-learning runs (seeds) averaged in the learning curves.
    #[config(default = 20)]
    pub seeds: usize,
    /// Q-learning episodes per run.
    #[config(default = 100)]
    pub episodes: usize,
    /// Q-learning step size.
    #[config(default = 0.1)]
    pub learning_rate: f64,
    /// Q-learning exploration rate.
    #[config(default = 0.1)]
    pub epsilon: f64,
    /// Step limit per episode.
    #[config(default = 2000)]
    pub max_steps: usize,
    /// The potential used for the headline Q-learning comparison.
    #[config(default = "ShapingPotential::DiscountedDistance")]
    pub potential: ShapingPotential,
    /// Base seed.
    #[config(default = 1)]
    pub seed: u64,
}

/// Potentials for the Q-learning comparison (`d(s)`: Manhattan distance to the goal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShapingPotential {
    /// `Φ(s) = γ^{d(s)}`: the optimal value if moves never slipped (a heuristic that needs no
    /// planning). Equivalent to initialising Q near its optimum (Wiewiora 2003).
    DiscountedDistance,
    /// `Φ(s) = −d(s)`. With `Q₀ = 0` it acts as a *pessimistic* initialisation
    /// (`Q₀ = −d`): any tried action, even bumping into a wall, looks better than untried ones.
    NegativeDistance,
    /// `Φ = V*` of value iteration (the ideal potential; needs the model).
    OptimalValue,
}

impl ShapingPotential {
    /// Every potential, in report order.
    pub const ALL: [ShapingPotential; 3] = [
        ShapingPotential::DiscountedDistance,
        ShapingPotential::NegativeDistance,
        ShapingPotential::OptimalValue,
    ];

    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DiscountedDistance => "gamma^distance",
            Self::NegativeDistance => "-distance",
            Self::OptimalValue => "optimal value",
        }
    }
}

/// Mean steps per episode of Q-learning shaped by one potential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShapingCurve {
    /// The potential's name.
    pub potential: String,
    /// Steps to the goal per episode, mean over seeds.
    pub steps: Vec<f64>,
    /// Their sum.
    pub total_steps: f64,
}

impl ShapingConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_count("random_potentials", self.random_potentials, 1, MAX_REPEATS)?;
        check_count("seeds", self.seeds, 1, MAX_REPEATS)?;
        check_count("episodes", self.episodes, 1, MAX_ITERATIONS)?;
        check_count("size", self.size, 2, MAX_GRID_SIDE)?;
        check_positive("potential_scale", self.potential_scale)?;
        check_range("bonus", self.bonus, -1e6, 1e6)?;
        Ok(())
    }
}

/// One random-potential invariance check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PotentialCheck {
    /// Seed of `Φ`.
    pub seed: u64,
    /// States whose optimal action sets changed (0 = invariant).
    pub changed_states: usize,
    /// Largest `|Q'(s,a) − (Q(s,a) − Φ(s))|` (theory: 0).
    pub max_q_deviation: f64,
}

/// The report of [`shaping_experiment`] (`shaping.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShapingReport {
    /// Every random potential left the optimal action sets unchanged.
    pub policy_unchanged: bool,
    /// Per random potential.
    pub random_potential_checks: Vec<PotentialCheck>,
    /// The non-potential bonus (on entering the centre cell) changed the optimal policy.
    pub bonus_changes_policy: bool,
    /// States whose optimal actions the bonus changed.
    pub bonus_changed_states: usize,
    /// The potential of the headline comparison.
    pub potential: String,
    /// Learning curves of every potential in [`ShapingPotential::ALL`].
    pub curves: Vec<ShapingCurve>,
    /// Steps to the goal in each episode without shaping, mean over seeds.
    pub steps_without_shaping: Vec<f64>,
    /// Steps to the goal in each episode with shaping, mean over seeds.
    pub steps_with_shaping: Vec<f64>,
    /// Total steps over all episodes (mean over seeds) without shaping.
    pub total_steps_without_shaping: f64,
    /// Total steps over all episodes (mean over seeds) with shaping.
    pub total_steps_with_shaping: f64,
    /// First episode (1-based) from which the mean steps of 5 consecutive episodes stay within
    /// twice the shortest path, without shaping (`None`: never).
    pub episodes_to_goal_without_shaping: Option<usize>,
    /// The same with shaping.
    pub episodes_to_goal_with_shaping: Option<usize>,
    /// Shortest path length from start to goal.
    pub shortest_path: usize,
}

fn episodes_to_converge(curve: &[f64], target: f64) -> Option<usize> {
    let window = 5;
    (0..curve.len().saturating_sub(window - 1)).find_map(|e| {
        let all_after = (e..=curve.len() - window)
            .all(|k| curve[k..k + window].iter().sum::<f64>() / window as f64 <= target);
        all_after.then_some(e + 1)
    })
}

/// Runs the shaping study on the gridworld goal task: invariance under random potentials,
/// the non-potential counter-example, and Q-learning without shaping and with each
/// [`ShapingPotential`] (the headline one is `cfg.potential`).
pub fn shaping_experiment(cfg: &ShapingConfig) -> Result<ShapingReport> {
    cfg.validate()?;
    let world = GridworldConfig::new()
        .with_size(cfg.size)
        .with_slip(cfg.slip)
        .with_gamma(cfg.gamma)
        .build_goal_task()?;
    let mdp = &world.mdp;
    let goal = world.goal.unwrap_or(mdp.n_states() - 1);
    let vi = ValueIterationConfig::new().with_tolerance(1e-12);
    let base = value_iteration(mdp, mdp.reward(), &vi)?;
    let checks = random_potential_checks(mdp, &base, cfg, &vi)?;
    let bonus_changed = bonus_changed_states(mdp, &base, cfg, &vi)?;

    let dist = world.manhattan_to(goal);
    let potential = |p: ShapingPotential| -> Vec<f64> {
        match p {
            ShapingPotential::DiscountedDistance => {
                dist.iter().map(|&d| cfg.gamma.powf(d)).collect()
            }
            ShapingPotential::NegativeDistance => dist.iter().map(|d| -d).collect(),
            ShapingPotential::OptimalValue => base.values.clone(),
        }
    };
    let without = mean_steps(mdp, cfg, None)?;
    let mut curves = Vec::new();
    for p in ShapingPotential::ALL {
        let steps = mean_steps(mdp, cfg, Some(&potential(p)))?;
        curves.push(ShapingCurve {
            potential: p.name().into(),
            total_steps: steps.iter().sum(),
            steps,
        });
    }
    let with = curves[ShapingPotential::ALL
        .iter()
        .position(|p| *p == cfg.potential)
        .unwrap_or(0)]
    .steps
    .clone();
    let shortest = 2 * (cfg.size - 1);
    Ok(ShapingReport {
        policy_unchanged: checks.iter().all(|c| c.changed_states == 0),
        random_potential_checks: checks,
        bonus_changes_policy: bonus_changed > 0,
        bonus_changed_states: bonus_changed,
        potential: cfg.potential.name().into(),
        curves,
        total_steps_without_shaping: without.iter().sum(),
        total_steps_with_shaping: with.iter().sum(),
        episodes_to_goal_without_shaping: episodes_to_converge(&without, 2.0 * shortest as f64),
        episodes_to_goal_with_shaping: episodes_to_converge(&with, 2.0 * shortest as f64),
        steps_without_shaping: without,
        steps_with_shaping: with,
        shortest_path: shortest,
    })
}

/// Invariance under random potentials: for each of `cfg.random_potentials` seeds, a
/// potential `Φ ~ U(−scale, scale)` per state, value iteration on the shaped reward, and the
/// states whose optimal actions changed plus the largest deviation from `Q − Φ`.
fn random_potential_checks(
    mdp: &Mdp,
    base: &Plan,
    cfg: &ShapingConfig,
    vi: &ValueIterationConfig,
) -> Result<Vec<PotentialCheck>> {
    let a_n = mdp.n_actions();
    let mut checks = Vec::new();
    for k in 0..cfg.random_potentials {
        let seed = cfg.seed.wrapping_add(k as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let phi: Vec<f64> = (0..mdp.n_states())
            .map(|_| rng.random_range(-cfg.potential_scale..cfg.potential_scale))
            .collect();
        let shaped = value_iteration(mdp, &potential_shaped_reward(mdp, mdp.reward(), &phi)?, vi)?;
        let mut dev = 0.0f64;
        for s in (0..mdp.n_states()).filter(|&s| !mdp.is_terminal(s)) {
            for a in 0..a_n {
                dev = dev.max((shaped.q[s * a_n + a] - (base.q[s * a_n + a] - phi[s])).abs());
            }
        }
        checks.push(PotentialCheck {
            seed,
            changed_states: same_optimal_actions(mdp, &base.q, &shaped.q),
            max_q_deviation: dev,
        });
    }
    Ok(checks)
}

/// The non-potential counter-example: a bonus `cfg.bonus` on every entry into the centre
/// cell; the number of states whose optimal actions it changes.
fn bonus_changed_states(
    mdp: &Mdp,
    base: &Plan,
    cfg: &ShapingConfig,
    vi: &ValueIterationConfig,
) -> Result<usize> {
    let mut bonus = vec![0.0; mdp.n_states()];
    let centre = (cfg.size / 2) * cfg.size + cfg.size / 2;
    bonus[centre] = cfg.bonus;
    let bonused = value_iteration(
        mdp,
        &transition_bonus_reward(mdp, mdp.reward(), &bonus)?,
        vi,
    )?;
    Ok(same_optimal_actions(mdp, &base.q, &bonused.q))
}

/// Steps to the goal per episode of Q-learning shaped by `phi` (`None`: unshaped), mean over
/// `cfg.seeds` runs.
fn mean_steps(mdp: &Mdp, cfg: &ShapingConfig, phi: Option<&[f64]>) -> Result<Vec<f64>> {
    let mut mean = vec![0.0; cfg.episodes];
    for k in 0..cfg.seeds {
        let q = QLearningConfig::new()
            .with_episodes(cfg.episodes)
            .with_learning_rate(cfg.learning_rate)
            .with_epsilon(cfg.epsilon)
            .with_max_steps(cfg.max_steps)
            .with_seed(cfg.seed.wrapping_mul(1000).wrapping_add(k as u64));
        let res = q_learning(mdp, mdp.reward(), phi, &q)?;
        for (m, s) in mean.iter_mut().zip(&res.steps) {
            *m += *s as f64 / cfg.seeds as f64;
        }
    }
    Ok(mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_world() -> Mdp {
        GridworldConfig::new()
            .with_size(5)
            .with_slip(0.1)
            .with_gamma(0.9)
            .build_goal_task()
            .unwrap()
            .mdp
    }

    /// Invariance for random potentials over several seeds, with Q' = Q − Φ exactly.
    #[test]
    fn random_potentials_leave_the_optimal_policy_unchanged() {
        let mdp = small_world();
        let vi = ValueIterationConfig::new().with_tolerance(1e-12);
        let base = value_iteration(&mdp, mdp.reward(), &vi).unwrap();
        for seed in 0..5 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let phi: Vec<f64> = (0..25).map(|_| rng.random_range(-20.0..20.0)).collect();
            let r = potential_shaped_reward(&mdp, mdp.reward(), &phi).unwrap();
            let shaped = value_iteration(&mdp, &r, &vi).unwrap();
            assert_eq!(
                same_optimal_actions(&mdp, &base.q, &shaped.q),
                0,
                "seed {seed}"
            );
            // Non-terminal states (the goal, state 24, keeps its value).
            for ((v, b), p) in shaped.values.iter().zip(&base.values).zip(&phi).take(24) {
                assert!((v - (b - p)).abs() < 1e-8);
            }
        }
    }

    /// Counter-example: +0.5 for every entry into the centre cell (2, 2) is worth more than
    /// the goal (1 at best, discounted): cycling in and out of the centre earns
    /// 0.5·γ/(1 − γ²) ≈ 2.4 > 1, so the optimal policy at the centre no longer heads for the
    /// goal.
    #[test]
    fn a_non_potential_bonus_changes_the_optimal_policy() {
        let mdp = small_world();
        let vi = ValueIterationConfig::new();
        let base = value_iteration(&mdp, mdp.reward(), &vi).unwrap();
        let mut bonus = vec![0.0; 25];
        bonus[12] = 0.5;
        let r = transition_bonus_reward(&mdp, mdp.reward(), &bonus).unwrap();
        let changed = value_iteration(&mdp, &r, &vi).unwrap();
        assert!(same_optimal_actions(&mdp, &base.q, &changed.q) > 0);
        // From the neighbour (2, 3) the bonus policy steps back left into the centre.
        assert_eq!(changed.policy[13], 2);
        assert!(base.policy[13] == 1 || base.policy[13] == 3);
    }

    /// A good potential speeds up Q-learning (fewer total steps, averaged over seeds).
    #[test]
    fn shaping_speeds_up_q_learning() {
        let cfg = ShapingConfig::new()
            .with_size(6)
            .with_seeds(4)
            .with_episodes(40)
            .with_random_potentials(2)
            .with_seed(crate::figures::seed(1));
        let rep = shaping_experiment(&cfg).unwrap();
        assert!(rep.policy_unchanged);
        assert!(rep.bonus_changes_policy);
        assert_eq!(rep.curves.len(), 3);
        // Every episode starts at (0, 0), away from the goal, so the total without shaping is
        // positive and the ratio is defined.
        println!(
            "{} vs {}",
            rep.total_steps_with_shaping, rep.total_steps_without_shaping
        );
        // Spread: 0.4521 to 0.6234 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        crate::figures::at_most(
            "alignment/shaping_steps_ratio_with_to_without",
            rep.total_steps_with_shaping / rep.total_steps_without_shaping,
            0.75,
        );
    }
}
