//! Gridworlds: an `N × N` grid with slippery moves, in two tasks.
//!
//! - [`GridworldConfig::build`]: the reward-learning task of Levine, Popović & Koltun (2010,
//!   "Feature Construction for Inverse Reinforcement Learning"): the grid is tiled by
//!   `block × block` macro-cells, each state's features are the one-hot indicator of its
//!   macro-cell, and the true reward is linear in them, `r(s) = w_{cell(s)}` with
//!   `w_k ~ U(−1, 1)` drawn from `ChaCha8Rng(seed)`. Five actions (up, down, left, right,
//!   stay), no terminal states, uniform start.
//! - [`GridworldConfig::build_goal_task`]: a navigation task for Q-learning and shaping: four
//!   actions, start in the top-left corner, a terminal goal in the bottom-right corner with
//!   reward 1, reward 0 elsewhere (features as above).
//!
//! States are numbered row-major (`s = row · N + column`). With probability `slip` the move
//! of a uniformly chosen *other* action happens instead of the intended one; a move off the
//! grid stays in place.

use burn::config::Config;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{MAX_GRID_SIDE, Result, check_count, check_nonzero, check_range};
use crate::mdp::{Mdp, grid_transitions};

/// Settings of a gridworld.
#[derive(Config, Debug)]
pub struct GridworldConfig {
    /// Side length N (N² states).
    #[config(default = 8)]
    pub size: usize,
    /// Probability that a uniformly chosen other action's move happens instead.
    #[config(default = 0.1)]
    pub slip: f64,
    /// Side length of a macro-cell of the feature tiling (the last row/column of cells may
    /// be smaller when it does not divide N).
    #[config(default = 2)]
    pub block: usize,
    /// Discount γ ∈ (0, 1].
    #[config(default = 0.9)]
    pub gamma: f64,
    /// Seed of the macro-cell rewards.
    #[config(default = 1)]
    pub seed: u64,
}

/// A built gridworld.
#[derive(Debug, Clone)]
pub struct Gridworld {
    /// The MDP (features `[N², cells]`, one-hot macro-cells).
    pub mdp: Mdp,
    /// Side length N.
    pub size: usize,
    /// True reward weight per macro-cell (the reward is `features · weights`); all zero in
    /// the goal task.
    pub weights: Vec<f64>,
    /// The goal state of the goal task (`None` in the reward-learning task).
    pub goal: Option<usize>,
}

impl GridworldConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_count("size", self.size, 2, MAX_GRID_SIDE)?;
        check_nonzero("block", self.block)?;
        check_range("slip", self.slip, 0.0, 1.0)?;
        check_range("gamma", self.gamma, f64::MIN_POSITIVE, 1.0)
    }

    fn features(&self) -> (Vec<f64>, usize) {
        let n = self.size;
        let per_side = n.div_ceil(self.block);
        let cells = per_side * per_side;
        let mut f = vec![0.0; n * n * cells];
        for s in 0..n * n {
            let cell = (s / n / self.block) * per_side + (s % n) / self.block;
            f[s * cells + cell] = 1.0;
        }
        (f, cells)
    }

    /// The reward-learning task (five actions, reward linear in one-hot macro-cell features).
    pub fn build(&self) -> Result<Gridworld> {
        self.validate()?;
        if self.block >= self.size {
            return Err(crate::AlignmentError::invalid(
                "block",
                format!(
                    "{} must be smaller than the grid side {} (one macro-cell makes the reward constant)",
                    self.block, self.size
                ),
            ));
        }

        let n = self.size;
        let (features, cells) = self.features();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let weights: Vec<f64> = (0..cells).map(|_| rng.random_range(-1.0..1.0)).collect();
        let reward = (0..n * n)
            .map(|s| {
                (0..cells)
                    .map(|k| features[s * cells + k] * weights[k])
                    .sum()
            })
            .collect();
        let mdp = Mdp::new(
            n * n,
            5,
            grid_transitions(n, n, 5, self.slip),
            reward,
            self.gamma,
        )?
        .with_features(features, cells)?;
        Ok(Gridworld {
            mdp,
            size: n,
            weights,
            goal: None,
        })
    }

    /// The navigation task: four actions, start at (0, 0), terminal goal at (N−1, N−1) with
    /// reward 1, reward 0 elsewhere.
    pub fn build_goal_task(&self) -> Result<Gridworld> {
        self.validate()?;
        let n = self.size;
        let goal = n * n - 1;
        let mut reward = vec![0.0; n * n];
        reward[goal] = 1.0;
        let mut start = vec![0.0; n * n];
        start[0] = 1.0;
        let (features, cells) = self.features();
        let mdp = Mdp::new(
            n * n,
            4,
            grid_transitions(n, n, 4, self.slip),
            reward,
            self.gamma,
        )?
        .with_terminal(&[goal])?
        .with_start(start)?
        .with_features(features, cells)?;
        Ok(Gridworld {
            mdp,
            size: n,
            weights: vec![0.0; cells],
            goal: Some(goal),
        })
    }
}

impl Gridworld {
    /// Manhattan distance from each state to `target`, `[S]`.
    pub fn manhattan_to(&self, target: usize) -> Vec<f64> {
        let n = self.size;
        (0..n * n)
            .map(|s| ((s / n).abs_diff(target / n) + (s % n).abs_diff(target % n)) as f64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::value_iteration::{ValueIterationConfig, value_iteration};

    #[test]
    fn reward_is_linear_in_the_macro_cell_features() {
        let g = GridworldConfig::new()
            .with_size(5)
            .with_block(2)
            .build()
            .unwrap();
        // ceil(5/2) = 3 cells per side.
        assert_eq!(g.mdp.n_features(), 9);
        assert_eq!(g.weights.len(), 9);
        for s in 0..25 {
            let f = g.mdp.feature(s);
            assert_eq!(f.iter().sum::<f64>(), 1.0);
            let r: f64 = f.iter().zip(&g.weights).map(|(a, b)| a * b).sum();
            assert_eq!(r, g.mdp.reward()[s]);
        }
        // State (4, 4) is in cell (2, 2) = 8.
        assert_eq!(g.mdp.feature(24)[8], 1.0);
        let again = GridworldConfig::new().with_size(5).build().unwrap();
        assert_eq!(again.weights, g.weights);
        assert!(GridworldConfig::new().with_slip(1.5).build().is_err());
        assert!(
            GridworldConfig::new()
                .with_size(4)
                .with_block(4)
                .build()
                .unwrap_err()
                .to_string()
                .contains("block")
        );
    }

    /// Deterministic 4×4 goal task, γ = 0.9: the goal is 6 moves from the start, so
    /// V(start) = 0.9^6 · 1 (the goal's reward is received on arrival, discounted once per move).
    #[test]
    fn goal_task_value_by_hand() {
        let g = GridworldConfig::new()
            .with_size(4)
            .with_slip(0.0)
            .build_goal_task()
            .unwrap();
        let plan = value_iteration(&g.mdp, g.mdp.reward(), &ValueIterationConfig::new()).unwrap();
        assert!(
            (plan.values[0] - 0.9f64.powi(6)).abs() < 1e-9,
            "{}",
            plan.values[0]
        );
        assert_eq!(g.manhattan_to(15)[0], 6.0);
    }
}
