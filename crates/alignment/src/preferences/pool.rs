//! The candidate pool of [`super::preference_learning`]: segments from rollouts, random pairs
//! of them, their feature differences, and one Bradley–Terry label per pair. Labels are drawn
//! once per pool pair from their own random stream, so random and active selection see the
//! same answers.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::mdp::Mdp;
use crate::planning::value_iteration::{ValueIterationConfig, value_iteration};
use crate::preferences::bradley_terry::BradleyTerryLabeller;
use crate::preferences::config::PreferenceConfig;
use crate::preferences::segments::{Segment, sample_segments, segment_features};

/// The labelled candidate pairs queries are chosen from.
pub(crate) struct QueryPool {
    /// Segments `[pool_segments]`.
    pub(crate) segs: Vec<Segment>,
    /// Candidate pairs (indices into `segs`) `[pool_pairs]`.
    pub(crate) pairs: Vec<(usize, usize)>,
    /// Per pair, `Σ f(a) − Σ f(b)` `[pool_pairs, F]`.
    pub(crate) pair_x: Vec<Vec<f64>>,
    /// Per pair, the labeller's answer (1: the first segment is preferred).
    pub(crate) labels: Vec<f64>,
    /// The labeller, with the true reward.
    pub(crate) labeller: BradleyTerryLabeller,
}

/// Builds the pool: segments and pairs from `rng` (segments first, then pairs), labels from
/// a stream seeded by `cfg.seed ^ 0x5eed_1abe1`.
pub(crate) fn candidate_pool(
    mdp: &Mdp,
    cfg: &PreferenceConfig,
    rng: &mut ChaCha8Rng,
) -> Result<QueryPool> {
    let greedy = if cfg.rollout_epsilon < 1.0 {
        Some(value_iteration(mdp, mdp.reward(), &ValueIterationConfig::new())?.policy)
    } else {
        None
    };
    let segs = sample_segments(
        mdp,
        cfg.pool_segments,
        cfg.segment_length,
        cfg.rollout_epsilon,
        greedy.as_deref(),
        rng,
    );
    let seg_f: Vec<Vec<f64>> = segs.iter().map(|s| segment_features(mdp, s)).collect();
    let pairs: Vec<(usize, usize)> = (0..cfg.pool_pairs)
        .map(|_| {
            let a = rng.random_range(0..segs.len());
            let mut b = rng.random_range(0..segs.len());
            if segs.len() > 1 {
                while b == a {
                    b = rng.random_range(0..segs.len());
                }
            }
            (a, b)
        })
        .collect();
    let pair_x: Vec<Vec<f64>> = pairs
        .iter()
        .map(|&(a, b)| seg_f[a].iter().zip(&seg_f[b]).map(|(x, y)| x - y).collect())
        .collect();
    let labeller = BradleyTerryLabeller::new(mdp.reward().to_vec(), cfg.temperature)?;
    // Labels are drawn once per pool pair, so both selection rules see the same answers.
    let mut label_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_1abe1);
    let labels: Vec<f64> = pairs
        .iter()
        .map(|&(a, b)| labeller.label(&segs[a], &segs[b], &mut label_rng))
        .collect();
    Ok(QueryPool {
        segs,
        pairs,
        pair_x,
        labels,
        labeller,
    })
}

/// Fraction of the labelled pairs `chosen` whose label agrees with the truly better segment.
pub(crate) fn label_accuracy(pool: &QueryPool, chosen: &[usize]) -> f64 {
    let (segs, pairs, labels, labeller) = (&pool.segs, &pool.pairs, &pool.labels, &pool.labeller);
    let agree = chosen
        .iter()
        .filter(|&&i| {
            let (a, b) = pairs[i];
            let better = labeller.segment_return(&segs[a]) >= labeller.segment_return(&segs[b]);
            (labels[i] == 1.0) == better
        })
        .count();
    agree as f64 / chosen.len() as f64
}
