//! shap's coalition sampling plan for KernelSHAP (shap 0.4x, `KernelExplainer`,
//! `_kernel.py`), over the `M` varying features of a row:
//!
//! - the sample budget is capped at `2^M − 2` (all coalitions but the empty and the full one);
//! - coalition sizes `s = 1, 2, …` (paired with their complements `M − s`) are enumerated
//!   completely while the budget allows, each coalition weighted by the Shapley kernel
//!   `(M − 1) / (C(M, s) · s · (M − s))` (normalised as shap does);
//! - the rest of the budget is drawn at random from the remaining sizes with **paired
//!   sampling** (each coalition with its complement; repeats add weight), from the caller's
//!   `ChaCha8Rng`, and their weights share what the enumerated sizes left.

use std::collections::HashMap;

use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;

/// A coalition plan: masks over the `M` varying features and their kernel weights.
#[derive(Debug, Clone, PartialEq)]
pub struct CoalitionPlan {
    /// Masks, row-major `[K, M]`, 1 = feature taken from `x`.
    pub masks: Vec<u8>,
    /// Kernel weight per mask.
    pub weights: Vec<f64>,
    /// Number of varying features `M`.
    pub m: usize,
}

fn binom(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `visit` with every `k`-subset of `0..m` (lexicographic order).
fn for_each_combination(m: usize, k: usize, mut visit: impl FnMut(&[usize])) {
    if k > m {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        visit(&idx);
        let mut i = k;
        while i > 0 && idx[i - 1] == i - 1 + m - k {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        idx[i - 1] += 1;
        for j in i..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// shap's sampling plan for `m` varying features and a budget of `n_samples` coalitions.
pub fn coalition_plan(m: usize, n_samples: usize, rng: &mut ChaCha8Rng) -> CoalitionPlan {
    let mut plan = CoalitionPlan {
        masks: Vec::new(),
        weights: Vec::new(),
        m,
    };
    if m < 2 {
        return plan;
    }
    let max_samples = if m <= 30 {
        (1usize << m) - 2
    } else {
        usize::MAX
    };
    let n_samples = n_samples.min(max_samples);
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    weight_vector[..num_paired]
        .iter_mut()
        .for_each(|w| *w *= 2.0);
    let total: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= total);
    let mut remaining = weight_vector.clone();
    let mut num_full = 0;
    let mut samples_left = n_samples as f64;
    let add = |plan: &mut CoalitionPlan, mask: &[u8], w: f64| {
        plan.masks.extend_from_slice(mask);
        plan.weights.push(w);
    };
    for s in 1..=num_subset_sizes {
        let paired = s <= num_paired;
        let nsubsets = binom(m, s) * if paired { 2.0 } else { 1.0 };
        if samples_left * remaining[s - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        samples_left -= nsubsets;
        if remaining[s - 1] < 1.0 {
            let r = 1.0 - remaining[s - 1];
            remaining.iter_mut().for_each(|w| *w /= r);
        }
        let w = weight_vector[s - 1] / binom(m, s) / if paired { 2.0 } else { 1.0 };
        for_each_combination(m, s, |inds| {
            let mut mask = vec![0u8; m];
            inds.iter().for_each(|&i| mask[i] = 1);
            add(&mut plan, &mask, w);
            if paired {
                mask.iter_mut().for_each(|v| *v = 1 - *v);
                add(&mut plan, &mask, w);
            }
        });
    }
    let n_fixed = plan.weights.len();
    let mut left = n_samples.saturating_sub(n_fixed);
    if num_full != num_subset_sizes && left > 0 {
        let mut rw = weight_vector.clone();
        rw[..num_paired].iter_mut().for_each(|w| *w /= 2.0);
        let rw = &rw[num_full..];
        let dist = WeightedIndex::new(rw).expect("positive kernel weights");
        let mut used: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut draws = 4 * left;
        while left > 0 && draws > 0 {
            draws -= 1;
            let s = dist.sample(rng) + num_full + 1;
            let mut mask = vec![0u8; m];
            for i in rand::seq::index::sample(rng, m, s).iter() {
                mask[i] = 1;
            }
            let known = used.get(&mask).copied();
            match known {
                None => {
                    used.insert(mask.clone(), plan.weights.len());
                    left -= 1;
                    add(&mut plan, &mask, 1.0);
                }
                Some(at) => plan.weights[at] += 1.0,
            }
            if left > 0 && s <= num_paired {
                mask.iter_mut().for_each(|v| *v = 1 - *v);
                match known {
                    None => {
                        left -= 1;
                        add(&mut plan, &mask, 1.0);
                    }
                    Some(at) => plan.weights[at + 1] += 1.0,
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sum: f64 = plan.weights[n_fixed..].iter().sum();
        if sum > 0.0 {
            plan.weights[n_fixed..]
                .iter_mut()
                .for_each(|w| *w *= weight_left / sum);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plan_enumerates_everything_when_the_budget_allows() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let plan = coalition_plan(5, 1000, &mut rng);
        // 2^5 − 2 = 30 coalitions, all distinct, weights summing to 1.
        assert_eq!(plan.weights.len(), 30);
        let mut masks: Vec<&[u8]> = plan.masks.chunks(5).collect();
        masks.sort();
        masks.dedup();
        assert_eq!(masks.len(), 30);
        assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Shapley kernel: weight ∝ (M−1)/(C(M,s) s (M−s)): size 1 vs size 2 = (4/5/4)/(4/10/6).
        let w1 = plan.weights[0];
        let w2 = plan.weights[plan
            .masks
            .chunks(5)
            .position(|m| m.iter().sum::<u8>() == 2)
            .unwrap()];
        assert!(
            (w1 / w2 - (4.0 / 20.0) / (4.0 / 60.0)).abs() < 1e-9,
            "{w1} {w2}"
        );
        // A small budget samples in complementary pairs (M = 11: every size ≤ 5 is paired; by
        // hand, 60·w₁/22 = 1.02 ≥ 1 so the 22 size-1 pairs are enumerated, the rest sampled).
        let plan = coalition_plan(11, 60, &mut rng);
        assert_eq!(plan.weights.len(), 60);
        assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let complement = |m: &[u8]| m.iter().map(|v| 1 - v).collect::<Vec<u8>>();
        let all: Vec<&[u8]> = plan.masks.chunks(11).collect();
        assert!(
            all[..22]
                .iter()
                .all(|m| m.iter().sum::<u8>() == 1 || m.iter().sum::<u8>() == 10)
        );
        for m in &all {
            assert!(all.contains(&complement(m).as_slice()));
        }
    }

    #[test]
    fn combinations_are_complete() {
        let mut n = 0;
        for_each_combination(6, 3, |_| n += 1);
        assert_eq!(n, 20);
        let mut v = Vec::new();
        for_each_combination(3, 1, |c| v.push(c.to_vec()));
        assert_eq!(v, vec![vec![0], vec![1], vec![2]]);
    }
}
