//! Query selection: a random warm-up from a shuffle of the pool, then either the next pairs
//! of that shuffle ([`QuerySelection::Random`]) or the unlabelled pairs of largest ensemble
//! disagreement ([`QuerySelection::Active`]).

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::preferences::bradley_terry::sigmoid;
use crate::preferences::ensemble::ensemble_disagreement;
use crate::preferences::pool::QueryPool;

/// How queries are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuerySelection {
    /// Uniformly at random from the pool.
    Random,
    /// The pool pairs of largest ensemble variance of `P(a ≻ b)`.
    Active,
}

/// The pool pairs labelled so far and the random order the rest is drawn in.
pub(crate) struct Queries {
    /// Labelled pool pairs, in the order they were asked.
    pub(crate) chosen: Vec<usize>,
    used: Vec<bool>,
    order: Vec<usize>,
    /// Position in `order` of the next random query.
    next_random: usize,
}

impl Queries {
    /// The warm-up: shuffles the pool's `n_pairs` indices with `rng` and labels the first
    /// `initial` of them.
    pub(crate) fn warm_up(n_pairs: usize, initial: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut order: Vec<usize> = (0..n_pairs).collect();
        order.shuffle(rng);
        let chosen: Vec<usize> = order[..initial].to_vec();
        let mut used = vec![false; n_pairs];
        chosen.iter().for_each(|&i| used[i] = true);
        let next_random = chosen.len();
        Self {
            chosen,
            used,
            order,
            next_random,
        }
    }

    /// Labels `need` more pairs chosen by `selection` (`members`: the current ensemble, each
    /// member's reward per state).
    pub(crate) fn add(
        &mut self,
        selection: QuerySelection,
        need: usize,
        members: &[Vec<f64>],
        pool: &QueryPool,
    ) {
        let picked = match selection {
            QuerySelection::Random => self.random_queries(need),
            QuerySelection::Active => active_queries(members, pool, &self.used, need),
        };
        for i in picked {
            self.used[i] = true;
            self.chosen.push(i);
        }
    }

    /// The next `need` pairs of the shuffled order (fewer when it runs out).
    fn random_queries(&mut self, need: usize) -> Vec<usize> {
        let end = (self.next_random + need).min(self.order.len());
        let picked = self.order[self.next_random..end].to_vec();
        self.next_random = end;
        picked
    }
}

/// The `need` unlabelled pool pairs whose predicted `P(a ≻ b)` varies most across the
/// ensemble; equal variances keep pool order.
fn active_queries(
    members: &[Vec<f64>],
    pool: &QueryPool,
    used: &[bool],
    need: usize,
) -> Vec<usize> {
    let (segs, pairs) = (&pool.segs, &pool.pairs);
    // Each member's return of every pool segment.
    let seg_returns: Vec<Vec<f64>> = members
        .iter()
        .map(|r| {
            segs.iter()
                .map(|g| g.states.iter().map(|&s| r[s]).sum())
                .collect()
        })
        .collect();
    let mut scored: Vec<(f64, usize)> = (0..pairs.len())
        .filter(|&i| !used[i])
        .map(|i| {
            let (a, b) = pairs[i];
            let ps: Vec<f64> = seg_returns.iter().map(|r| sigmoid(r[a] - r[b])).collect();
            (ensemble_disagreement(&ps), i)
        })
        .collect();
    // Largest variance first; equal variances keep pool order (deterministic).
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.iter().take(need).map(|&(_, i)| i).collect()
}
