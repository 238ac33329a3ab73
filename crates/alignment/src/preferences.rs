//! Reward learning from pairwise preferences (Christiano et al. 2017, "Deep Reinforcement
//! Learning from Human Preferences"; the `imitation` library's preference comparisons).
//!
//! - Segments: `k` consecutive states of rollouts from the start distribution, acting
//!   uniformly at random with probability ε and greedily for the true reward otherwise
//!   (ε = 1: random rollouts, the default).
//! - Labeller ([`BradleyTerryLabeller`]): a synthetic human who prefers segment `a` over `b`
//!   with the Bradley–Terry probability `σ((R(a) − R(b)) / T)`, `R` the true return of the
//!   segment (sum of state rewards) and `T` a temperature (`T = 0`: always the better one,
//!   ties split evenly); the label is drawn from `ChaCha8Rng`.
//! - Reward model ([`RewardModelKind`]): [`LinearRewardModel`] `r̂(s) = w · f(s)` over the
//!   MDP's features (host, full-batch Adam, plus `λ‖w‖²`), or a Burn [`RewardMlp`] over the
//!   standardised features ([`fit_mlp_reward`], full-batch Adam with weight decay λ, any
//!   device), both trained on the Bradley–Terry cross-entropy
//!   `−[y log σ(Δ) + (1 − y) log σ(−Δ)]`, `Δ = R̂(a) − R̂(b)` (segment returns).
//! - Ensemble: `M` models, each fitted on a bootstrap resample of the labelled pairs;
//!   the reward estimate is their mean.
//! - Query selection ([`QuerySelection`]): from a fixed pool of candidate pairs, either
//!   uniformly at random or the pairs whose predicted preference probability varies most
//!   across the ensemble (disagreement), after a random warm-up.

use aegis_model::models::SeededInit;
use burn::config::Config;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::deep_maxent_irl::RewardMlp;
use crate::error::{AlignmentError, Result, check_nonzero, check_positive, check_range};
use crate::maxent_irl::standardized_features;
use crate::mdp::Mdp;
use crate::metrics::reward_correlation;
use crate::value_iteration::{ValueIterationConfig, value_iteration};

/// Settings of [`preference_learning`].
#[derive(Config, Debug)]
pub struct PreferenceConfig {
    /// States per segment k.
    #[config(default = 10)]
    pub segment_length: usize,
    /// Bradley–Terry temperature T of the synthetic labeller (0: noiseless).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// ε of the ε-greedy rollouts that produce segments (1 = uniformly random actions).
    #[config(default = 1.0)]
    pub rollout_epsilon: f64,
    /// Ensemble size M.
    #[config(default = 5)]
    pub ensemble: usize,
    /// Fit each member on a bootstrap resample (otherwise on all pairs; members then agree).
    #[config(default = true)]
    pub bootstrap: bool,
    /// Segments generated for the candidate pool.
    #[config(default = 1000)]
    pub pool_segments: usize,
    /// Candidate pairs in the pool.
    #[config(default = 4000)]
    pub pool_pairs: usize,
    /// Random comparisons before active selection starts (also the first curve point).
    #[config(default = 25)]
    pub initial: usize,
    /// Comparisons added per round (one curve point per round).
    #[config(default = 25)]
    pub batch: usize,
    /// Adam steps per fit.
    #[config(default = 300)]
    pub iterations: usize,
    /// Adam learning rate.
    #[config(default = 0.05)]
    pub learning_rate: f64,
    /// L2 penalty λ on the weights.
    #[config(default = 1e-3)]
    pub l2: f64,
    /// Reward model family.
    #[config(default = "RewardModelKind::Linear")]
    pub model: RewardModelKind,
    /// Hidden widths of the MLP reward model (ReLU after each).
    #[config(default = "vec![16]")]
    pub hidden: Vec<usize>,
    /// Adam learning rate of the MLP reward model (its weight decay is `l2`).
    #[config(default = 0.01)]
    pub mlp_learning_rate: f64,
    /// Seed of segments, labels, bootstrap resamples, random queries and MLP weights.
    #[config(default = 1)]
    pub seed: u64,
}

/// Reward model families of [`preference_learning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RewardModelKind {
    /// [`LinearRewardModel`] over the raw state features, fitted on the host.
    Linear,
    /// A Burn [`RewardMlp`] over the standardised state features, trained by Adam on the
    /// device given to [`preference_learning`] (autodiff through `device.autodiff()`).
    Mlp,
}

impl PreferenceConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_nonzero("segment_length", self.segment_length)?;
        check_range("temperature", self.temperature, 0.0, 1e6)?;
        check_range("rollout_epsilon", self.rollout_epsilon, 0.0, 1.0)?;
        check_nonzero("ensemble", self.ensemble)?;
        check_nonzero("pool_segments", self.pool_segments)?;
        check_nonzero("pool_pairs", self.pool_pairs)?;
        check_nonzero("initial", self.initial)?;
        check_nonzero("batch", self.batch)?;
        check_nonzero("iterations", self.iterations)?;
        check_positive("learning_rate", self.learning_rate)?;
        check_range("l2", self.l2, 0.0, 1e6)?;
        check_positive("mlp_learning_rate", self.mlp_learning_rate)?;
        if self.hidden.contains(&0) {
            return Err(AlignmentError::invalid("hidden", "a layer width is 0"));
        }
        Ok(())
    }
}

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

/// The synthetic Bradley–Terry labeller.
#[derive(Debug, Clone)]
pub struct BradleyTerryLabeller {
    reward: Vec<f64>,
    temperature: f64,
}

impl BradleyTerryLabeller {
    /// A labeller with the true reward per state and temperature `T ≥ 0`.
    pub fn new(reward: Vec<f64>, temperature: f64) -> Result<Self> {
        check_range("temperature", temperature, 0.0, 1e6)?;
        Ok(Self {
            reward,
            temperature,
        })
    }

    /// The true return of a segment.
    pub fn segment_return(&self, seg: &Segment) -> f64 {
        seg.states.iter().map(|&s| self.reward[s]).sum()
    }

    /// `P(a ≻ b) = σ((R(a) − R(b)) / T)` (a step function at T = 0, ½ on ties).
    pub fn probability(&self, a: &Segment, b: &Segment) -> f64 {
        let d = self.segment_return(a) - self.segment_return(b);
        if self.temperature == 0.0 {
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                0.0
            } else {
                0.5
            }
        } else {
            sigmoid(d / self.temperature)
        }
    }

    /// A sampled label: 1 if `a` is preferred, 0 otherwise.
    pub fn label(&self, a: &Segment, b: &Segment, rng: &mut impl Rng) -> f64 {
        if rng.random::<f64>() < self.probability(a, b) {
            1.0
        } else {
            0.0
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A linear reward model `r̂(s) = w · f(s)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearRewardModel {
    /// Weights `[F]`.
    pub weights: Vec<f64>,
}

impl LinearRewardModel {
    /// Fits the weights on feature differences `x_i = Σ f(a_i) − Σ f(b_i)` (`[N, F]` as rows)
    /// and labels `y_i ∈ [0, 1]` by full-batch Adam from zero on the Bradley–Terry
    /// cross-entropy plus `l2 ‖w‖²`.
    pub fn fit(diffs: &[Vec<f64>], labels: &[f64], iterations: usize, lr: f64, l2: f64) -> Self {
        let f_n = diffs.first().map_or(0, Vec::len);
        let mut w = vec![0.0; f_n];
        let mut adam = crate::maxent_irl::HostAdam::new(f_n, lr);
        let n = diffs.len().max(1) as f64;
        let mut g = vec![0.0; f_n];
        for _ in 0..iterations {
            g.fill(0.0);
            for (x, &y) in diffs.iter().zip(labels) {
                let p = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
                // Ascent direction of the log-likelihood: (y − p) x.
                for k in 0..f_n {
                    g[k] += (y - p) * x[k] / n;
                }
            }
            for k in 0..f_n {
                g[k] -= 2.0 * l2 * w[k];
            }
            adam.ascend(&mut w, &g);
        }
        Self { weights: w }
    }

    /// `P(a ≻ b)` for the feature difference `x`.
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(x.iter().zip(&self.weights).map(|(a, b)| a * b).sum())
    }

    /// Predicted reward per state `[S]`.
    pub fn reward(&self, mdp: &Mdp) -> Vec<f64> {
        (0..mdp.n_states())
            .map(|s| {
                mdp.feature(s)
                    .iter()
                    .zip(&self.weights)
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect()
    }
}

/// Disagreement of an ensemble on one pair: the (population) variance of the members'
/// predicted probabilities `P(a ≻ b)`.
pub fn ensemble_disagreement(probabilities: &[f64]) -> f64 {
    let n = probabilities.len().max(1) as f64;
    let mu = probabilities.iter().sum::<f64>() / n;
    probabilities.iter().map(|p| (p - mu).powi(2)).sum::<f64>() / n
}

/// Trains a Burn [`RewardMlp`] on the standardised state features with the Bradley–Terry
/// cross-entropy of `pairs` (label 1: the first segment is preferred): full-batch Adam
/// with weight decay `l2`, `iterations` steps, initial weights from `SeededInit(seed)`.
/// Returns the reward per state `[S]`.
pub fn fit_mlp_reward(
    mdp: &Mdp,
    pairs: &[(&Segment, &Segment)],
    labels: &[f64],
    cfg: &PreferenceConfig,
    seed: u64,
    device: &Device,
) -> Result<Vec<f64>> {
    let (s_n, f_n) = (mdp.n_states(), mdp.n_features());
    let n = pairs.len();
    if n == 0 || labels.len() != n {
        return Err(AlignmentError::Shape(format!(
            "{n} pairs and {} labels",
            labels.len()
        )));
    }
    let ad = device.clone().autodiff();
    let feats = standardized_features(mdp)?;
    let x = Tensor::<2>::from_data(
        TensorData::new(
            feats.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
            [s_n, f_n],
        ),
        &ad,
    );
    // Count difference per pair and state: Δ = D r.
    let mut d = vec![0f32; n * s_n];
    for (i, (a, b)) in pairs.iter().enumerate() {
        a.states.iter().for_each(|&s| d[i * s_n + s] += 1.0);
        b.states.iter().for_each(|&s| d[i * s_n + s] -= 1.0);
    }
    let d = Tensor::<2>::from_data(TensorData::new(d, [n, s_n]), &ad);
    let y = Tensor::<2>::from_data(
        TensorData::new(
            labels.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
            [n, 1],
        ),
        &ad,
    );
    let mut init = SeededInit::new(seed);
    let mut net = RewardMlp::new(f_n, &cfg.hidden, &mut init, &ad);
    let mut adam = AdamConfig::new().with_epsilon(1e-8);
    if cfg.l2 > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(cfg.l2 as f32)));
    }
    let mut optim = adam.init();
    for _ in 0..cfg.iterations {
        let delta = d.clone().matmul(net.forward(x.clone()));
        let nll = -(y.clone() * activation::log_sigmoid(delta.clone())
            + (y.clone().neg() + 1.0) * activation::log_sigmoid(delta.neg()))
        .mean();
        let grads = GradientsParams::from_grads(nll.backward(), &net);
        net = optim.step(cfg.mlp_learning_rate, net, grads);
    }
    let r: Vec<f64> = net
        .valid()
        .forward(x.inner())
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| AlignmentError::NonFinite {
            algorithm: "preference MLP".into(),
            detail: format!("cannot read the reward back: {e:?}"),
        })?
        .into_iter()
        .map(f64::from)
        .collect();
    if r.iter().any(|v| !v.is_finite()) {
        return Err(AlignmentError::NonFinite {
            algorithm: "preference MLP".into(),
            detail: "a predicted reward is not finite".into(),
        });
    }
    Ok(r)
}

/// How queries are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuerySelection {
    /// Uniformly at random from the pool.
    Random,
    /// The pool pairs of largest ensemble variance of `P(a ≻ b)`.
    Active,
}

/// A learning curve of [`preference_learning`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferenceCurve {
    /// The selection rule.
    pub selection: QuerySelection,
    /// Number of comparisons at each point.
    pub comparisons: Vec<usize>,
    /// Pearson correlation over states of the ensemble-mean reward with the true reward.
    pub correlation: Vec<f64>,
    /// Fraction of the labelled pairs whose label agrees with the true better segment.
    pub label_accuracy: f64,
    /// The final ensemble-mean reward per state.
    pub reward: Vec<f64>,
}

fn segment_features(mdp: &Mdp, seg: &Segment) -> Vec<f64> {
    let mut f = vec![0.0; mdp.n_features()];
    for &s in &seg.states {
        for (acc, v) in f.iter_mut().zip(mdp.feature(s)) {
            *acc += v;
        }
    }
    f
}

/// Learns a reward for `mdp` (its `reward()` is the labeller's true reward, its features the
/// model's inputs) from `comparisons` labelled pairs chosen by `selection`, refitting the
/// ensemble after the first `initial` pairs and after every `batch` more. Deterministic for a
/// given seed; random and active selection share the pool, the warm-up pairs and the labels'
/// random stream seed.
pub fn preference_learning(
    mdp: &Mdp,
    comparisons: usize,
    selection: QuerySelection,
    cfg: &PreferenceConfig,
    device: &Device,
) -> Result<PreferenceCurve> {
    cfg.validate()?;
    check_nonzero("comparisons", comparisons)?;
    if mdp.n_features() == 0 {
        return Err(AlignmentError::Shape("the MDP has no features".into()));
    }
    if comparisons > cfg.pool_pairs {
        return Err(AlignmentError::invalid(
            "comparisons",
            format!(
                "{comparisons} exceeds the pool of {} candidate pairs",
                cfg.pool_pairs
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
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
        &mut rng,
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
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.shuffle(&mut rng);
    let mut chosen: Vec<usize> = order[..cfg.initial.min(comparisons)].to_vec();
    let mut used = vec![false; pairs.len()];
    chosen.iter().for_each(|&i| used[i] = true);
    let mut random_rest = order[chosen.len()..].iter().copied();
    let mut boot_rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(77));
    let true_r = mdp.reward();
    let mut curve = PreferenceCurve {
        selection,
        comparisons: Vec::new(),
        correlation: Vec::new(),
        label_accuracy: 0.0,
        reward: Vec::new(),
    };
    loop {
        // Each member is represented by its reward per state `[S]`.
        let mut members: Vec<Vec<f64>> = Vec::with_capacity(cfg.ensemble);
        for _ in 0..cfg.ensemble {
            let idx: Vec<usize> = if cfg.bootstrap {
                (0..chosen.len())
                    .map(|_| chosen[boot_rng.random_range(0..chosen.len())])
                    .collect()
            } else {
                chosen.clone()
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
        let s_n = mdp.n_states();
        let reward: Vec<f64> = (0..s_n)
            .map(|s| members.iter().map(|m| m[s]).sum::<f64>() / members.len() as f64)
            .collect();
        curve.comparisons.push(chosen.len());
        curve.correlation.push(reward_correlation(true_r, &reward)?);
        curve.reward = reward;
        if chosen.len() >= comparisons {
            break;
        }
        let need = cfg.batch.min(comparisons - chosen.len());
        match selection {
            QuerySelection::Random => {
                let picked: Vec<usize> = random_rest.by_ref().take(need).collect();
                for i in picked {
                    used[i] = true;
                    chosen.push(i);
                }
            }
            QuerySelection::Active => {
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
                        let ps: Vec<f64> =
                            seg_returns.iter().map(|r| sigmoid(r[a] - r[b])).collect();
                        (ensemble_disagreement(&ps), i)
                    })
                    .collect();
                // Largest variance first; equal variances keep pool order (deterministic).
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for &(_, i) in scored.iter().take(need) {
                    used[i] = true;
                    chosen.push(i);
                }
            }
        }
    }
    let agree = chosen
        .iter()
        .filter(|&&i| {
            let (a, b) = pairs[i];
            let better = labeller.segment_return(&segs[a]) >= labeller.segment_return(&segs[b]);
            (labels[i] == 1.0) == better
        })
        .count();
    curve.label_accuracy = agree as f64 / chosen.len() as f64;
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gridworld::GridworldConfig;

    /// σ(ln 3) = 3/4: a segment worth ln 3 more is preferred 3 times out of 4 at T = 1.
    #[test]
    fn bradley_terry_probability_by_hand() {
        let l = BradleyTerryLabeller::new(vec![3f64.ln(), 0.0], 1.0).unwrap();
        let a = Segment { states: vec![0] };
        let b = Segment { states: vec![1] };
        assert!((l.probability(&a, &b) - 0.75).abs() < 1e-12);
        let hard = BradleyTerryLabeller::new(vec![3f64.ln(), 0.0], 0.0).unwrap();
        assert_eq!(hard.probability(&a, &b), 1.0);
        assert_eq!(hard.probability(&a, &a), 0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let n = 4000;
        let ones: f64 = (0..n).map(|_| l.label(&a, &b, &mut rng)).sum();
        assert!((ones / n as f64 - 0.75).abs() < 0.03, "{}", ones / n as f64);
        assert!(BradleyTerryLabeller::new(vec![0.0], -1.0).is_err());
    }

    /// Two members predicting 0.75 and 0.25: variance 0.0625 (by hand); identical members
    /// do not disagree.
    #[test]
    fn disagreement_by_hand() {
        assert!((ensemble_disagreement(&[0.75, 0.25]) - 0.0625).abs() < 1e-12);
        assert_eq!(ensemble_disagreement(&[0.3, 0.3]), 0.0);
    }

    /// Logistic regression on noiseless labels from w* = (1, −1) recovers the direction.
    #[test]
    fn linear_model_fits_bradley_terry_labels() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let xs: Vec<Vec<f64>> = (0..300)
            .map(|_| vec![rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
            .collect();
        let ys: Vec<f64> = xs
            .iter()
            .map(|x| if x[0] - x[1] > 0.0 { 1.0 } else { 0.0 })
            .collect();
        let m = LinearRewardModel::fit(&xs, &ys, 500, 0.1, 0.0);
        let cos = (m.weights[0] - m.weights[1])
            / (2f64.sqrt() * (m.weights[0].powi(2) + m.weights[1].powi(2)).sqrt());
        assert!(cos > 0.99, "{:?}", m.weights);
    }

    #[test]
    fn learns_a_gridworld_reward_from_comparisons() {
        let g = GridworldConfig::new()
            .with_size(6)
            .with_block(2)
            .build()
            .unwrap();
        let cfg = PreferenceConfig::new()
            .with_pool_segments(300)
            .with_pool_pairs(600)
            .with_batch(50)
            .with_initial(50)
            .with_ensemble(3)
            .with_iterations(200);
        let dev = Device::flex();
        let random = preference_learning(&g.mdp, 200, QuerySelection::Random, &cfg, &dev).unwrap();
        let active = preference_learning(&g.mdp, 200, QuerySelection::Active, &cfg, &dev).unwrap();
        assert_eq!(random.comparisons, vec![50, 100, 150, 200]);
        assert!(
            *random.correlation.last().unwrap() > 0.85,
            "{:?}",
            random.correlation
        );
        assert!(
            *active.correlation.last().unwrap() > 0.85,
            "{:?}",
            active.correlation
        );
        // Both start from the same warm-up pairs.
        assert_eq!(random.correlation[0], active.correlation[0]);
        let again = preference_learning(&g.mdp, 200, QuerySelection::Active, &cfg, &dev).unwrap();
        assert_eq!(again.correlation, active.correlation);
        assert!(preference_learning(&g.mdp, 700, QuerySelection::Random, &cfg, &dev).is_err());
    }

    /// The Burn MLP reward model learns the same gridworld reward from comparisons, and the
    /// same seed reproduces it.
    #[test]
    fn mlp_reward_model_learns_from_comparisons() {
        let g = GridworldConfig::new().with_size(6).build().unwrap();
        let cfg = PreferenceConfig::new()
            .with_model(RewardModelKind::Mlp)
            .with_pool_segments(300)
            .with_pool_pairs(600)
            .with_batch(100)
            .with_initial(100)
            .with_ensemble(2)
            .with_iterations(150);
        let dev = Device::flex();
        let a = preference_learning(&g.mdp, 200, QuerySelection::Active, &cfg, &dev).unwrap();
        assert!(*a.correlation.last().unwrap() > 0.8, "{:?}", a.correlation);
        let b = preference_learning(&g.mdp, 200, QuerySelection::Active, &cfg, &dev).unwrap();
        assert_eq!(a.correlation, b.correlation);
        assert!(
            preference_learning(
                &g.mdp,
                200,
                QuerySelection::Active,
                &cfg.clone().with_hidden(vec![0]),
                &dev
            )
            .unwrap_err()
            .to_string()
            .contains("hidden")
        );
    }
}
