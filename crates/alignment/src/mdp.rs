//! Tabular Markov decision processes with explicit (sparse) transition tensors.
//!
//! An [`Mdp`] stores `P(s' | s, a)` as one sparse row per state-action pair (a list of
//! `(s', p)` with `p > 0`, summing to one), a reward per state, a discount γ, optional
//! terminal states, a start distribution and a feature matrix `[S, F]` (row-major) that
//! reward-learning methods use.
//!
//! Conventions shared by every planner of this crate:
//! - A reward is given either per state (`[S]`, received in the state, whatever the action) or
//!   per state-action pair (`[S, A]` row-major, the expected reward of taking `a` in `s`);
//!   [`Mdp::sa_reward`] turns either into the `[S, A]` form.
//! - `Q(s, a) = R(s, a) + γ Σ_{s'} P(s' | s, a) V(s')`.
//! - A terminal state ends the episode: its value is its own reward `R(t, ·)` (the same for
//!   every action), with no continuation. Its stored transitions are a self-loop and are never
//!   used by planners or rollouts.

use rand::Rng;

use crate::error::{AlignmentError, Result};

/// A tabular MDP. Build it with [`Mdp::new`] (sparse rows) or [`Mdp::from_dense`], then add
/// terminal states, a start distribution and features with the `with_*` methods (each
/// validates its input).
#[derive(Debug, Clone)]
pub struct Mdp {
    n_states: usize,
    n_actions: usize,
    /// Row `s·A + a`: the successors `(s', p)`.
    transitions: Vec<Vec<(usize, f64)>>,
    /// The true (task) reward per state, `[S]`.
    reward: Vec<f64>,
    gamma: f64,
    terminal: Vec<bool>,
    start: Vec<f64>,
    features: Vec<f64>,
    n_features: usize,
}

/// Tolerance of the "rows sum to one" check.
const ROW_TOLERANCE: f64 = 1e-9;

impl Mdp {
    /// A validated MDP from sparse rows: `transitions[s·A + a]` lists `(s', p)`. Duplicate
    /// successors are merged and zero probabilities dropped. Starts uniform over the
    /// non-terminal states, no terminal states, no features.
    pub fn new(
        n_states: usize,
        n_actions: usize,
        transitions: Vec<Vec<(usize, f64)>>,
        reward: Vec<f64>,
        gamma: f64,
    ) -> Result<Self> {
        if n_states == 0 || n_actions == 0 {
            return Err(AlignmentError::InvalidMdp(format!(
                "{n_states} states and {n_actions} actions; both must be at least 1"
            )));
        }
        if transitions.len() != n_states * n_actions {
            return Err(AlignmentError::InvalidMdp(format!(
                "{} transition rows, expected S·A = {}",
                transitions.len(),
                n_states * n_actions
            )));
        }
        if reward.len() != n_states || reward.iter().any(|r| !r.is_finite()) {
            return Err(AlignmentError::InvalidMdp(format!(
                "the reward must hold {n_states} finite values (has {})",
                reward.len()
            )));
        }
        if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
            return Err(AlignmentError::invalid(
                "gamma",
                format!("{gamma} is not in (0, 1]"),
            ));
        }
        let mut rows = Vec::with_capacity(transitions.len());
        for (i, row) in transitions.into_iter().enumerate() {
            let (s, a) = (i / n_actions, i % n_actions);
            let mut merged: Vec<(usize, f64)> = Vec::with_capacity(row.len());
            let mut total = 0.0;
            for (next, p) in row {
                if next >= n_states {
                    return Err(AlignmentError::InvalidMdp(format!(
                        "P(·|s={s}, a={a}) names state {next}, but there are {n_states}"
                    )));
                }
                if !(p.is_finite() && p >= 0.0) {
                    return Err(AlignmentError::InvalidMdp(format!(
                        "P({next}|s={s}, a={a}) = {p} is not a probability"
                    )));
                }
                total += p;
                if p == 0.0 {
                    continue;
                }
                match merged.iter_mut().find(|(n, _)| *n == next) {
                    Some(entry) => entry.1 += p,
                    None => merged.push((next, p)),
                }
            }
            if (total - 1.0).abs() > ROW_TOLERANCE {
                return Err(AlignmentError::InvalidMdp(format!(
                    "P(·|s={s}, a={a}) sums to {total}, not 1"
                )));
            }
            rows.push(merged);
        }
        let start = vec![1.0 / n_states as f64; n_states];
        Ok(Self {
            n_states,
            n_actions,
            transitions: rows,
            reward,
            gamma,
            terminal: vec![false; n_states],
            start,
            features: Vec::new(),
            n_features: 0,
        })
    }

    /// A validated MDP from a dense tensor `P[s][a][s']`, row-major `[S, A, S]`.
    pub fn from_dense(
        n_states: usize,
        n_actions: usize,
        p: &[f64],
        reward: Vec<f64>,
        gamma: f64,
    ) -> Result<Self> {
        if p.len() != n_states * n_actions * n_states {
            return Err(AlignmentError::InvalidMdp(format!(
                "dense transition tensor has {} entries, expected S·A·S = {}",
                p.len(),
                n_states * n_actions * n_states
            )));
        }
        let rows = p
            .chunks(n_states.max(1))
            .map(|row| row.iter().copied().enumerate().collect())
            .collect();
        Self::new(n_states, n_actions, rows, reward, gamma)
    }

    /// Marks `states` as terminal (their outgoing rows become self-loops). The start
    /// distribution loses its mass on them and is renormalised.
    pub fn with_terminal(mut self, states: &[usize]) -> Result<Self> {
        for &t in states {
            if t >= self.n_states {
                return Err(AlignmentError::InvalidMdp(format!(
                    "terminal state {t} does not exist ({} states)",
                    self.n_states
                )));
            }
            self.terminal[t] = true;
            for a in 0..self.n_actions {
                self.transitions[t * self.n_actions + a] = vec![(t, 1.0)];
            }
        }
        let kept: Vec<f64> = (0..self.n_states)
            .map(|s| if self.terminal[s] { 0.0 } else { self.start[s] })
            .collect();
        let total: f64 = kept.iter().sum();
        if total <= 0.0 {
            return Err(AlignmentError::InvalidMdp(
                "every start state is terminal".into(),
            ));
        }
        self.start = kept.iter().map(|p| p / total).collect();
        Ok(self)
    }

    /// Sets the start distribution `[S]` (non-negative, sums to one, no mass on terminals).
    pub fn with_start(mut self, start: Vec<f64>) -> Result<Self> {
        if start.len() != self.n_states || start.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(AlignmentError::InvalidMdp(format!(
                "the start distribution must hold {} probabilities",
                self.n_states
            )));
        }
        let total: f64 = start.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(AlignmentError::InvalidMdp(format!(
                "the start distribution sums to {total}, not 1"
            )));
        }
        if let Some(t) = (0..self.n_states).find(|&s| self.terminal[s] && start[s] > 0.0) {
            return Err(AlignmentError::InvalidMdp(format!(
                "the start distribution puts mass on terminal state {t}"
            )));
        }
        self.start = start;
        Ok(self)
    }

    /// Sets the state features, row-major `[S, n_features]`.
    pub fn with_features(mut self, features: Vec<f64>, n_features: usize) -> Result<Self> {
        if n_features == 0 || features.len() != self.n_states * n_features {
            return Err(AlignmentError::InvalidMdp(format!(
                "features must be [S = {}, F ≥ 1]; got {} values for F = {n_features}",
                self.n_states,
                features.len()
            )));
        }
        if features.iter().any(|f| !f.is_finite()) {
            return Err(AlignmentError::InvalidMdp("a feature is not finite".into()));
        }
        self.features = features;
        self.n_features = n_features;
        Ok(self)
    }

    /// Replaces the true reward `[S]`.
    pub fn with_reward(mut self, reward: Vec<f64>) -> Result<Self> {
        if reward.len() != self.n_states || reward.iter().any(|r| !r.is_finite()) {
            return Err(AlignmentError::InvalidMdp(format!(
                "the reward must hold {} finite values (has {})",
                self.n_states,
                reward.len()
            )));
        }
        self.reward = reward;
        Ok(self)
    }

    /// Number of states `S`.
    pub fn n_states(&self) -> usize {
        self.n_states
    }
    /// Number of actions `A`.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }
    /// Discount γ ∈ (0, 1].
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// The true reward per state `[S]`.
    pub fn reward(&self) -> &[f64] {
        &self.reward
    }
    /// Whether `s` is terminal.
    pub fn is_terminal(&self, s: usize) -> bool {
        self.terminal[s]
    }
    /// Terminal flags `[S]`.
    pub fn terminal(&self) -> &[bool] {
        &self.terminal
    }
    /// The start distribution `[S]`.
    pub fn start(&self) -> &[f64] {
        &self.start
    }
    /// Number of features per state `F` (0 when none were set).
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    /// The feature matrix, row-major `[S, F]`.
    pub fn features(&self) -> &[f64] {
        &self.features
    }
    /// The features of state `s`, `[F]`.
    pub fn feature(&self, s: usize) -> &[f64] {
        &self.features[s * self.n_features..(s + 1) * self.n_features]
    }
    /// The successors `(s', p)` of taking `a` in `s`.
    pub fn next(&self, s: usize, a: usize) -> &[(usize, f64)] {
        &self.transitions[s * self.n_actions + a]
    }

    /// `Σ_{s'} P(s' | s, a) v(s')`.
    pub fn expect(&self, s: usize, a: usize, v: &[f64]) -> f64 {
        self.next(s, a).iter().map(|&(n, p)| p * v[n]).sum()
    }

    /// The state-action reward `[S, A]` of a reward given per state (`[S]`, repeated over
    /// actions) or per state-action pair (`[S, A]`, copied). Terminal states get the reward of
    /// their first action for every action. Other lengths are an error.
    pub fn sa_reward(&self, reward: &[f64]) -> Result<Vec<f64>> {
        let (s_n, a_n) = (self.n_states, self.n_actions);
        let mut r = if reward.len() == s_n {
            reward
                .iter()
                .flat_map(|&r| std::iter::repeat_n(r, a_n))
                .collect::<Vec<f64>>()
        } else if reward.len() == s_n * a_n {
            reward.to_vec()
        } else {
            return Err(AlignmentError::Shape(format!(
                "a reward has {} values; expected S = {s_n} or S·A = {}",
                reward.len(),
                s_n * a_n
            )));
        };
        if let Some(i) = r.iter().position(|v| !v.is_finite()) {
            return Err(AlignmentError::Shape(format!(
                "reward of state {} is not finite",
                i / a_n
            )));
        }
        for t in (0..s_n).filter(|&t| self.terminal[t]) {
            let v = r[t * a_n];
            r[t * a_n..(t + 1) * a_n].fill(v);
        }
        Ok(r)
    }

    /// Samples `s' ~ P(· | s, a)`.
    pub fn sample_next(&self, s: usize, a: usize, rng: &mut impl Rng) -> usize {
        sample_from(self.next(s, a).iter().map(|&(n, p)| (n, p)), rng)
    }

    /// Samples a start state.
    pub fn sample_start(&self, rng: &mut impl Rng) -> usize {
        sample_from(self.start.iter().copied().enumerate(), rng)
    }

    /// Checks that `policy` is a stochastic policy `[S, A]` (rows of probabilities summing
    /// to one).
    pub fn check_policy(&self, policy: &[f64]) -> Result<()> {
        if policy.len() != self.n_states * self.n_actions {
            return Err(AlignmentError::Shape(format!(
                "a policy has {} values; expected S·A = {}",
                policy.len(),
                self.n_states * self.n_actions
            )));
        }
        for (s, row) in policy.chunks(self.n_actions).enumerate() {
            let total: f64 = row.iter().sum();
            if row.iter().any(|p| !(p.is_finite() && *p >= 0.0)) || (total - 1.0).abs() > 1e-6 {
                return Err(AlignmentError::Shape(format!(
                    "policy row of state {s} is not a distribution (sums to {total})"
                )));
            }
        }
        Ok(())
    }
}

/// Samples an index from `(index, probability)` pairs that sum to one (the last positive
/// entry absorbs rounding).
pub(crate) fn sample_from(items: impl Iterator<Item = (usize, f64)>, rng: &mut impl Rng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, p) in items {
        if p <= 0.0 {
            continue;
        }
        acc += p;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// One-hot `[S, A]` matrix of a deterministic policy (`policy[s]` = action).
pub fn deterministic_policy_matrix(policy: &[usize], n_actions: usize) -> Vec<f64> {
    let mut m = vec![0.0; policy.len() * n_actions];
    for (s, &a) in policy.iter().enumerate() {
        m[s * n_actions + a] = 1.0;
    }
    m
}

/// Grid moves: up (row − 1), down, left (column − 1), right, and stay.
pub const GRID_MOVES: [(i64, i64); 5] = [(-1, 0), (1, 0), (0, -1), (0, 1), (0, 0)];

/// Names of [`GRID_MOVES`], for reports.
pub const GRID_MOVE_NAMES: [&str; 5] = ["up", "down", "left", "right", "stay"];

/// Arrows of [`GRID_MOVES`], for text renderings of policies.
pub const GRID_MOVE_ARROWS: [char; 5] = ['↑', '↓', '←', '→', '·'];

/// Sparse transition rows of a `rows × cols` grid (state `r·cols + c`) with the first
/// `n_actions` of [`GRID_MOVES`]: the intended move happens with probability `1 − slip`,
/// each other action's move with `slip / (A − 1)`; a move off the grid stays in place.
pub(crate) fn grid_transitions(
    rows: usize,
    cols: usize,
    n_actions: usize,
    slip: f64,
) -> Vec<Vec<(usize, f64)>> {
    let target = |s: usize, m: usize| {
        let (r, c) = ((s / cols) as i64, (s % cols) as i64);
        let (dr, dc) = GRID_MOVES[m];
        let (nr, nc) = (r + dr, c + dc);
        if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
            s
        } else {
            nr as usize * cols + nc as usize
        }
    };
    let mut out = Vec::with_capacity(rows * cols * n_actions);
    for s in 0..rows * cols {
        for a in 0..n_actions {
            let mut row = Vec::with_capacity(n_actions);
            for m in 0..n_actions {
                let p = if m == a {
                    1.0 - slip
                } else if n_actions > 1 {
                    slip / (n_actions - 1) as f64
                } else {
                    0.0
                };
                row.push((target(s, m), p));
            }
            out.push(row);
        }
    }
    out
}

/// Renders a deterministic grid policy as one string of arrows per row (`*` on terminals).
pub fn render_grid_policy(mdp: &Mdp, policy: &[usize], cols: usize) -> Vec<String> {
    policy
        .chunks(cols)
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, &a)| {
                    if mdp.is_terminal(r * cols + c) {
                        '*'
                    } else {
                        GRID_MOVE_ARROWS.get(a).copied().unwrap_or('?')
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rejects_rows_that_do_not_sum_to_one_and_bad_states() {
        let e = Mdp::new(
            2,
            1,
            vec![vec![(0, 0.5)], vec![(1, 1.0)]],
            vec![0.0; 2],
            0.9,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sums to 0.5"), "{e}");
        let e = Mdp::new(
            2,
            1,
            vec![vec![(2, 1.0)], vec![(1, 1.0)]],
            vec![0.0; 2],
            0.9,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("names state 2"), "{e}");
        let e = Mdp::new(1, 1, vec![vec![(0, 1.0)]], vec![0.0], 1.5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("gamma"), "{e}");
        let e = Mdp::from_dense(2, 1, &[1.0, 0.0, 0.0], vec![0.0; 2], 0.9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dense"), "{e}");
    }

    #[test]
    fn grid_rows_are_distributions_and_merge_walls() {
        let rows = grid_transitions(3, 3, 5, 0.2);
        let mdp = Mdp::new(9, 5, rows, vec![0.0; 9], 0.9).unwrap();
        // Corner (0,0), action up: up and left hit walls (stay), stay stays: 0.8 + 0.05·2 = 0.9.
        let p_stay: f64 = mdp
            .next(0, 0)
            .iter()
            .filter(|(n, _)| *n == 0)
            .map(|(_, p)| p)
            .sum();
        assert!((p_stay - 0.9).abs() < 1e-12, "{p_stay}");
        assert_eq!(mdp.next(0, 0).len(), 3); // 0, right (1), down (3)
    }

    #[test]
    fn terminal_states_renormalise_start_and_sampling_follows_probabilities() {
        let rows = grid_transitions(1, 4, 4, 0.0);
        let mdp = Mdp::new(4, 4, rows, vec![0.0; 4], 0.9)
            .unwrap()
            .with_terminal(&[3])
            .unwrap();
        assert_eq!(mdp.start(), &[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut counts = [0usize; 4];
        for _ in 0..3000 {
            counts[mdp.sample_start(&mut rng)] += 1;
        }
        assert_eq!(counts[3], 0);
        assert!(
            counts.iter().take(3).all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(mdp.sa_reward(&[1.0, 2.0, 3.0, 4.0]).unwrap().len(), 16);
        let e = mdp
            .clone()
            .with_start(vec![0.0, 0.0, 0.5, 0.5])
            .unwrap_err()
            .to_string();
        assert!(e.contains("terminal state 3"), "{e}");
        assert!(mdp.sa_reward(&[1.0]).is_err());
        let e = mdp
            .with_start(vec![0.5, 0.0, 0.0, 0.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("sums to 0.5"), "{e}");
    }
}
