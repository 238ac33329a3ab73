//! Ensembles of reward models: `M` members, each fitted on a bootstrap resample of the
//! labelled pairs; their mean is the reward estimate and the variance of their predicted
//! preferences is the disagreement that active queries maximise.

use burn::tensor::Device;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::mdp::Mdp;
use crate::preferences::config::{PreferenceConfig, RewardModelKind};
use crate::preferences::pool::QueryPool;
use crate::preferences::reward_models::{LinearRewardModel, fit_mlp_reward};
use crate::preferences::segments::Segment;

/// Disagreement of an ensemble on one pair: the (population) variance of the members'
/// predicted probabilities `P(a ≻ b)`.
pub fn ensemble_disagreement(probabilities: &[f64]) -> f64 {
    let n = probabilities.len().max(1) as f64;
    let mu = probabilities.iter().sum::<f64>() / n;
    probabilities.iter().map(|p| (p - mu).powi(2)).sum::<f64>() / n
}

/// Fits `cfg.ensemble` members on the labelled pool pairs `chosen`, each on a bootstrap
/// resample drawn from `boot_rng` (then, for the MLP, its initial-weight seed). Each member is
/// represented by its reward per state `[S]`.
pub(crate) fn fit_ensemble(
    mdp: &Mdp,
    pool: &QueryPool,
    chosen: &[usize],
    cfg: &PreferenceConfig,
    boot_rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Vec<Vec<f64>>> {
    let (segs, pairs, pair_x, labels) = (&pool.segs, &pool.pairs, &pool.pair_x, &pool.labels);
    let mut members: Vec<Vec<f64>> = Vec::with_capacity(cfg.ensemble);
    for _ in 0..cfg.ensemble {
        let idx: Vec<usize> = if cfg.bootstrap {
            (0..chosen.len())
                .map(|_| chosen[boot_rng.random_range(0..chosen.len())])
                .collect()
        } else {
            chosen.to_vec()
        };
        let ys: Vec<f64> = idx.iter().map(|&i| labels[i]).collect();
        members.push(match cfg.model {
            RewardModelKind::Linear => {
                let xs: Vec<Vec<f64>> = idx.iter().map(|&i| pair_x[i].clone()).collect();
                LinearRewardModel::fit(&xs, &ys, cfg.iterations, cfg.learning_rate, cfg.l2)
                    .reward(mdp)
            }
            RewardModelKind::Mlp => {
                let seg_pairs: Vec<(&Segment, &Segment)> = idx
                    .iter()
                    .map(|&i| (&segs[pairs[i].0], &segs[pairs[i].1]))
                    .collect();
                fit_mlp_reward(mdp, &seg_pairs, &ys, cfg, boot_rng.random(), device)?
            }
        });
    }
    Ok(members)
}

/// The ensemble-mean reward per state `[S]`.
pub(crate) fn ensemble_mean(members: &[Vec<f64>], s_n: usize) -> Vec<f64> {
    (0..s_n)
        .map(|s| members.iter().map(|m| m[s]).sum::<f64>() / members.len() as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two members predicting 0.75 and 0.25: variance 0.0625 (by hand); identical members
    /// do not disagree.
    #[test]
    fn disagreement_by_hand() {
        assert!((ensemble_disagreement(&[0.75, 0.25]) - 0.0625).abs() < 1e-12);
        assert_eq!(ensemble_disagreement(&[0.3, 0.3]), 0.0);
    }
}
