//! The cliff-walking gridworld of Sutton & Barto (2018, Example 6.6): a 4 × 12 grid, start
//! at the bottom-left corner, terminal goal at the bottom-right corner, the ten cells between
//! them are the cliff.
//!
//! Rewards are per state (see [`crate::mdp`]): every ordinary state gives −1; a cliff cell
//! gives −99 and every action there leads back to the start, so stepping off the edge costs
//! −1 − 99 = −100 and returns to the start, as in the book (with one extra time step, which
//! changes nothing when γ = 1); the goal gives 0 and ends the episode. Four actions (up,
//! down, left, right).

use burn::config::Config;

use crate::error::{Result, check_range};
use crate::mdp::{Mdp, grid_transitions};

/// Rows of the cliff world.
pub const CLIFF_ROWS: usize = 4;
/// Columns of the cliff world.
pub const CLIFF_COLS: usize = 12;

/// Settings of the cliff world.
#[derive(Config, Debug)]
pub struct CliffWorldConfig {
    /// Probability that a uniformly chosen other action's move happens instead (0 in the book).
    #[config(default = 0.0)]
    pub slip: f64,
    /// Discount γ (1 in the book).
    #[config(default = 1.0)]
    pub gamma: f64,
}

/// The start state (row 3, column 0).
pub const CLIFF_START: usize = 3 * CLIFF_COLS;
/// The goal state (row 3, column 11).
pub const CLIFF_GOAL: usize = 3 * CLIFF_COLS + CLIFF_COLS - 1;

/// Whether state `s` is a cliff cell.
pub fn is_cliff(s: usize) -> bool {
    s / CLIFF_COLS == 3 && (1..CLIFF_COLS - 1).contains(&(s % CLIFF_COLS))
}

impl CliffWorldConfig {
    /// Builds the MDP.
    pub fn build(&self) -> Result<Mdp> {
        check_range("slip", self.slip, 0.0, 1.0)?;
        check_range("gamma", self.gamma, f64::MIN_POSITIVE, 1.0)?;
        let n = CLIFF_ROWS * CLIFF_COLS;
        let mut rows = grid_transitions(CLIFF_ROWS, CLIFF_COLS, 4, self.slip);
        let mut reward = vec![-1.0; n];
        for s in (0..n).filter(|&s| is_cliff(s)) {
            reward[s] = -99.0;
            for a in 0..4 {
                rows[s * 4 + a] = vec![(CLIFF_START, 1.0)];
            }
        }
        reward[CLIFF_GOAL] = 0.0;
        let mut start = vec![0.0; n];
        start[CLIFF_START] = 1.0;
        Mdp::new(n, 4, rows, reward, self.gamma)?
            .with_terminal(&[CLIFF_GOAL])?
            .with_start(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::value_iteration::{ValueIterationConfig, value_iteration};

    /// The optimal path goes up once, right 11 times along the edge, and down once: 13 steps
    /// of −1, so V(start) = −13 (γ = 1, by hand).
    #[test]
    fn optimal_path_runs_along_the_edge() {
        let mdp = CliffWorldConfig::new().build().unwrap();
        let plan = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new()).unwrap();
        assert!(
            (plan.values[CLIFF_START] + 13.0).abs() < 1e-9,
            "{}",
            plan.values[CLIFF_START]
        );
        assert_eq!(plan.policy[CLIFF_START], 0); // up
        // Row 2 walks right along the edge.
        assert!((2 * CLIFF_COLS..3 * CLIFF_COLS - 1).all(|s| plan.policy[s] == 3));
        assert!(is_cliff(CLIFF_START + 1) && !is_cliff(CLIFF_GOAL));
    }
}
