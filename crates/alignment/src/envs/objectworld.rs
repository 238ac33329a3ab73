//! Objectworld (Levine, Popović & Koltun 2011, "Nonlinear Inverse Reinforcement Learning with
//! Gaussian Processes").
//!
//! An `N × N` grid (five actions: up, down, left, right, stay; a move is replaced by a
//! uniformly chosen other action's move with probability `slip`, 0.3 in the paper) with
//! objects at distinct random cells, each with an inner and an outer colour drawn uniformly
//! from `C` colours. The true reward depends on the outer colours of nearby objects:
//! **+1** within distance 3 of colour 0 *and* within distance 2 of colour 1, **−1** within
//! distance 3 of colour 0 only, **0** otherwise (distances are Euclidean between cell
//! centres; colours 0 and 1 are the paper's "colour 1" and "colour 2").
//!
//! Features (what a reward learner sees; it is never shown the rule):
//! - continuous: the distance to the nearest object of each inner colour and of each outer
//!   colour, `2C` features (`N·√2` when a colour has no object);
//! - discrete: binary indicators "the nearest object of that inner / outer colour is within
//!   distance d" for d = 1..N, `2·C·N` features.
//!
//! Objects, colours and nothing else are drawn from `ChaCha8Rng(seed)`.

use burn::config::Config;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{AlignmentError, MAX_GRID_SIDE, MAX_REPEATS, Result, check_count, check_range};
use crate::mdp::{Mdp, grid_transitions};

/// Settings of an objectworld.
#[derive(Config, Debug)]
pub struct ObjectworldConfig {
    /// Side length N.
    #[config(default = 32)]
    pub size: usize,
    /// Number of colours C (at least 2; the reward uses colours 0 and 1).
    #[config(default = 2)]
    pub colours: usize,
    /// Number of objects [default: N²/20, rounded, i.e. 51 on 32 × 32].
    #[config(default = "None")]
    pub objects: Option<usize>,
    /// Probability that a uniformly chosen other action's move happens instead.
    #[config(default = 0.3)]
    pub slip: f64,
    /// Discount γ.
    #[config(default = 0.9)]
    pub gamma: f64,
    /// Continuous features (`2C` distances) when true, discrete indicators (`2·C·N`) when false.
    #[config(default = true)]
    pub continuous: bool,
    /// Seed of object placement and colours.
    #[config(default = 1)]
    pub seed: u64,
}

/// One object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Row.
    pub row: usize,
    /// Column.
    pub col: usize,
    /// Inner colour in `0..C`.
    pub inner: usize,
    /// Outer colour in `0..C`.
    pub outer: usize,
}

/// A built objectworld.
#[derive(Debug, Clone)]
pub struct Objectworld {
    /// The MDP (uniform start, no terminal states).
    pub mdp: Mdp,
    /// Side length N.
    pub size: usize,
    /// The objects.
    pub objects: Vec<Object>,
}

impl ObjectworldConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_count("size", self.size, 2, MAX_GRID_SIDE)?;
        // At least two: the reward uses two colours.
        check_count("colours", self.colours, 2, MAX_REPEATS)?;
        if let Some(k) = self.objects
            && (k == 0 || k > self.size * self.size)
        {
            return Err(AlignmentError::invalid(
                "objects",
                format!("{k} is not in 1..={}", self.size * self.size),
            ));
        }
        check_range("slip", self.slip, 0.0, 1.0)?;
        check_range("gamma", self.gamma, f64::MIN_POSITIVE, 1.0)
    }

    /// The number of objects actually placed.
    pub fn n_objects(&self) -> usize {
        self.objects
            .unwrap_or(((self.size * self.size) as f64 / 20.0).round() as usize)
            .max(1)
    }

    /// Builds the world.
    pub fn build(&self) -> Result<Objectworld> {
        self.validate()?;
        let (n, c) = (self.size, self.colours);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let cells = sample(&mut rng, n * n, self.n_objects()).into_vec();
        let objects: Vec<Object> = cells
            .into_iter()
            .map(|cell| Object {
                row: cell / n,
                col: cell % n,
                inner: rng.random_range(0..c),
                outer: rng.random_range(0..c),
            })
            .collect();
        let far = n as f64 * std::f64::consts::SQRT_2;
        // nearest[s][k]: distance to the nearest object of inner colour k (k < C) or outer
        // colour k − C (k ≥ C).
        let mut nearest = vec![far; n * n * 2 * c];
        for s in 0..n * n {
            let (r, col) = ((s / n) as f64, (s % n) as f64);
            for o in &objects {
                let d = ((o.row as f64 - r).powi(2) + (o.col as f64 - col).powi(2)).sqrt();
                for k in [o.inner, c + o.outer] {
                    let slot = &mut nearest[s * 2 * c + k];
                    *slot = slot.min(d);
                }
            }
        }
        let reward = (0..n * n)
            .map(|s| {
                let near0 = nearest[s * 2 * c + c] <= 3.0;
                let near1 = nearest[s * 2 * c + c + 1] <= 2.0;
                match (near0, near1) {
                    (true, true) => 1.0,
                    (true, false) => -1.0,
                    _ => 0.0,
                }
            })
            .collect();
        let (features, f_n) = if self.continuous {
            (nearest, 2 * c)
        } else {
            let f_n = 2 * c * n;
            let mut f = vec![0.0; n * n * f_n];
            for s in 0..n * n {
                for k in 0..2 * c {
                    for d in 1..=n {
                        if nearest[s * 2 * c + k] <= d as f64 {
                            f[s * f_n + k * n + d - 1] = 1.0;
                        }
                    }
                }
            }
            (f, f_n)
        };
        let mdp = Mdp::new(
            n * n,
            5,
            grid_transitions(n, n, 5, self.slip),
            reward,
            self.gamma,
        )?
        .with_features(features, f_n)?;
        Ok(Objectworld {
            mdp,
            size: n,
            objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_rule_and_features_by_hand() {
        let w = ObjectworldConfig::new()
            .with_size(10)
            .with_objects(Some(6))
            .with_seed(4)
            .build()
            .unwrap();
        assert_eq!(w.objects.len(), 6);
        assert_eq!(w.mdp.n_features(), 4);
        let n = 10;
        for s in 0..n * n {
            let (r, c) = ((s / n) as f64, (s % n) as f64);
            let dist = |pred: &dyn Fn(&Object) -> bool| {
                w.objects
                    .iter()
                    .filter(|o| pred(o))
                    .map(|o| ((o.row as f64 - r).powi(2) + (o.col as f64 - c).powi(2)).sqrt())
                    .fold(n as f64 * std::f64::consts::SQRT_2, f64::min)
            };
            let d0 = dist(&|o| o.outer == 0);
            let d1 = dist(&|o| o.outer == 1);
            let expected = if d0 <= 3.0 && d1 <= 2.0 {
                1.0
            } else if d0 <= 3.0 {
                -1.0
            } else {
                0.0
            };
            assert_eq!(w.mdp.reward()[s], expected, "state {s}");
            assert_eq!(w.mdp.feature(s)[2], d0);
            assert_eq!(w.mdp.feature(s)[0], dist(&|o| o.inner == 0));
        }
        // An object's own cell is at distance 0 from its colours.
        let o = w.objects[0];
        let s = o.row * n + o.col;
        assert_eq!(w.mdp.feature(s)[2 + o.outer], 0.0);
        let discrete = ObjectworldConfig::new()
            .with_size(10)
            .with_objects(Some(6))
            .with_seed(4)
            .with_continuous(false)
            .build()
            .unwrap();
        assert_eq!(discrete.mdp.n_features(), 40);
        assert_eq!(discrete.mdp.reward(), w.mdp.reward());
        // Indicator "outer colour of object 0 within distance 1" is set on its own cell.
        assert_eq!(discrete.mdp.feature(s)[(2 + o.outer) * n], 1.0);
        assert!(
            ObjectworldConfig::new()
                .with_colours(1)
                .build()
                .unwrap_err()
                .to_string()
                .contains("colours")
        );
    }
}
