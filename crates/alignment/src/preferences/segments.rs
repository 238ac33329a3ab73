//! Trajectory segments: what the labeller compares. Rollouts from the start distribution,
//! ε-greedy for the true reward, cut to `k` consecutive states.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::mdp::Mdp;

/// A trajectory segment: `k` consecutive states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The states.
    pub states: Vec<usize>,
}

/// Samples `n` segments of `len` states: each from a fresh rollout that starts from the
/// start distribution and acts ε-greedily with respect to `greedy` (a deterministic policy
/// `[S]`; `None` means uniformly random actions). A rollout that hits a terminal state
/// stays there.
pub fn sample_segments(
    mdp: &Mdp,
    n: usize,
    len: usize,
    epsilon: f64,
    greedy: Option<&[usize]>,
    rng: &mut impl Rng,
) -> Vec<Segment> {
    let a_n = mdp.n_actions();
    (0..n)
        .map(|_| {
            let mut s = mdp.sample_start(rng);
            let mut states = Vec::with_capacity(len);
            states.push(s);
            while states.len() < len {
                if !mdp.is_terminal(s) {
                    let a = match greedy {
                        Some(pi) if rng.random::<f64>() >= epsilon => pi[s],
                        _ => rng.random_range(0..a_n),
                    };
                    s = mdp.sample_next(s, a, rng);
                }
                states.push(s);
            }
            Segment { states }
        })
        .collect()
}

/// The summed features of a segment's states, `[F]`.
pub(crate) fn segment_features(mdp: &Mdp, seg: &Segment) -> Vec<f64> {
    let mut f = vec![0.0; mdp.n_features()];
    for &s in &seg.states {
        for (acc, v) in f.iter_mut().zip(mdp.feature(s)) {
            *acc += v;
        }
    }
    f
}
