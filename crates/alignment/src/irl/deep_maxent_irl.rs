//! Deep maximum-entropy IRL (Wulfmeier, Ondrúška & Posner 2015, "Maximum Entropy Deep
//! Inverse Reinforcement Learning"): the reward is a Burn MLP over the (standardised) state
//! features, trained on any device.
//!
//! Each iteration evaluates the network on all states, `r = g_θ(F̃)` (`[S, 1]`), runs the
//! backward and forward passes of the chosen [`IrlObjective`] on the host (by default the
//! paper's: discounted soft value iteration and the discounted visitation of
//! [`super::occupancy`]; `MaxEnt` uses Ziebart 2008's passes) to get the gradient of
//! the log-likelihood with respect to each state's reward, `μ_D − E[μ]` (`[S]`), and
//! back-propagates it through the network as the surrogate loss
//! `−Σ_s r(s) · (μ_D − E[μ])(s)` (the gradient is a detached constant) followed by an Adam
//! step with L2 weight decay. Initial weights are drawn on the host by
//! [`aegis_model::models::SeededInit`], so a seed reproduces a run on every device.

use aegis_model::models::SeededInit;
use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation};

use crate::error::{
    AlignmentError, MAX_HORIZON, MAX_ITERATIONS, MAX_WIDTH, Result, check_count, check_positive,
    check_range,
};
use crate::irl::demonstrations::{Trajectory, check_demonstrations, max_length};
use crate::irl::maxent_irl::{IrlObjective, IrlResult, reward_gradient, standardized_features};
use crate::mdp::Mdp;

/// Settings of [`deep_maxent_irl`].
#[derive(Config, Debug)]
pub struct DeepMaxEntIrlConfig {
    /// Hidden layer widths of the reward MLP (ReLU after each).
    #[config(default = "vec![32, 32]")]
    pub hidden: Vec<usize>,
    /// Gradient steps.
    #[config(default = 200)]
    pub iterations: usize,
    /// Adam learning rate.
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// L2 weight decay of Adam (coupled, PyTorch's `weight_decay`).
    #[config(default = 1e-3)]
    pub weight_decay: f64,
    /// Horizon T [default: the longest demonstration].
    #[config(default = "None")]
    pub horizon: Option<usize>,
    /// Likelihood model. Default: the causal one, as the paper's Algorithm 1 (soft value
    /// iteration with discount, then policy propagation for the expected visitation).
    #[config(default = "IrlObjective::CausalEntropy")]
    pub objective: IrlObjective,
    /// Seed of the initial weights.
    #[config(default = 1)]
    pub seed: u64,
}

impl DeepMaxEntIrlConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        check_count("iterations", self.iterations, 1, MAX_ITERATIONS)?;
        check_positive("learning_rate", self.learning_rate)?;
        check_range("weight_decay", self.weight_decay, 0.0, 1e3)?;
        for &w in &self.hidden {
            check_count("hidden", w, 1, MAX_WIDTH)?;
        }
        if let Some(h) = self.horizon {
            check_count("horizon", h, 1, MAX_HORIZON)?;
        }
        Ok(())
    }
}

/// The reward network: `Linear → ReLU` per hidden width, then `Linear(→ 1)`.
/// Input `[S, F]`, output `[S, 1]`.
#[derive(Module, Debug)]
pub struct RewardMlp {
    hidden: Vec<Linear>,
    head: Linear,
}

impl RewardMlp {
    /// A network for `inputs` features with the given hidden widths, weights from `init`.
    pub fn new(inputs: usize, widths: &[usize], init: &mut SeededInit, device: &Device) -> Self {
        let mut prev = inputs;
        let mut hidden = Vec::with_capacity(widths.len());
        for &w in widths {
            hidden.push(init.linear(prev, w, device));
            prev = w;
        }
        Self {
            hidden,
            head: init.linear(prev, 1, device),
        }
    }

    /// Rewards `[S, 1]` of features `[S, F]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for layer in &self.hidden {
            x = activation::relu(layer.forward(x));
        }
        self.head.forward(x)
    }
}

fn to_host(t: Tensor<2>) -> Result<Vec<f64>> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map(|v| v.into_iter().map(f64::from).collect())
        .map_err(|e| AlignmentError::NonFinite {
            algorithm: "deep MaxEnt IRL".into(),
            detail: format!("cannot read the reward back: {e:?}"),
        })
}

/// Deep MaxEnt IRL on `device` (training runs on `device.autodiff()`). Returns the learned
/// reward per state and the visitation mismatch per iteration.
pub fn deep_maxent_irl(
    mdp: &Mdp,
    demos: &[Trajectory],
    cfg: &DeepMaxEntIrlConfig,
    device: &Device,
) -> Result<IrlResult> {
    cfg.validate()?;
    check_demonstrations(mdp, demos)?;
    let (s_n, f_n) = (mdp.n_states(), mdp.n_features());
    let features = standardized_features(mdp)?;
    let horizon = cfg.horizon.unwrap_or_else(|| max_length(demos));
    let ad = device.clone().autodiff();
    let x = Tensor::<2>::from_data(
        TensorData::new(
            features.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
            [s_n, f_n],
        ),
        &ad,
    );
    let mut init = SeededInit::new(cfg.seed);
    let mut net = RewardMlp::new(f_n, &cfg.hidden, &mut init, &ad);
    let mut adam = AdamConfig::new().with_epsilon(1e-8);
    if cfg.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)));
    }
    let mut optim = adam.init();
    let mut history = Vec::with_capacity(cfg.iterations);
    for it in 0..cfg.iterations {
        let r = net.forward(x.clone());
        let host = to_host(r.clone().detach())?;
        if host.iter().any(|v| !v.is_finite()) {
            return Err(AlignmentError::NonFinite {
                algorithm: "deep MaxEnt IRL".into(),
                detail: format!("reward at iteration {it}"),
            });
        }
        let g = reward_gradient(mdp, &host, demos, cfg.objective, horizon)?;
        history.push(g.iter().map(|v| v.abs()).sum::<f64>() / horizon as f64);
        let g_t = Tensor::<2>::from_data(
            TensorData::new(g.iter().map(|&v| -v as f32).collect::<Vec<f32>>(), [s_n, 1]),
            &ad,
        );
        let surrogate = (r * g_t).sum();
        let grads = GradientsParams::from_grads(surrogate.backward(), &net);
        net = optim.step(cfg.learning_rate, net, grads);
    }
    let reward = to_host(net.valid().forward(x.inner()))?;
    Ok(IrlResult {
        reward,
        weights: None,
        visitation_error: history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envs::objectworld::ObjectworldConfig;
    use crate::irl::demonstrations::sample_trajectories;
    use crate::irl::metrics::reward_correlation;
    use crate::planning::value_iteration::{
        ValueIterationConfig, greedy_with_ties, value_iteration,
    };
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A small objectworld: the learned reward correlates positively with the true one, the
    /// visitation mismatch falls, and the same seed gives the same reward.
    #[test]
    fn learns_objectworld_reward_and_is_seeded() {
        let w = ObjectworldConfig::new()
            .with_size(8)
            .with_objects(Some(8))
            .with_seed(2)
            .build()
            .unwrap();
        let plan = value_iteration(&w.mdp, w.mdp.reward(), &ValueIterationConfig::new()).unwrap();
        let pi = greedy_with_ties(&plan.q, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(crate::figures::seed(1));
        let demos = sample_trajectories(&w.mdp, &pi, 64, 12, &mut rng).unwrap();
        let cfg = DeepMaxEntIrlConfig::new()
            .with_iterations(60)
            .with_hidden(vec![16, 16])
            .with_seed(crate::figures::seed(1));
        let device = Device::flex();
        let a = deep_maxent_irl(&w.mdp, &demos, &cfg, &device).unwrap();
        let corr = reward_correlation(w.mdp.reward(), &a.reward).unwrap();
        // The correlation of 64 short demonstrations spans most of [0, 1] across seeds: the
        // bar claims only a positive correlation, below every run measured.
        // Spread: 0.1212 to 0.7553 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        crate::figures::at_least("alignment/deep_maxent_correlation", corr, 0.0);
        // Spread: 0.389 to 0.4193 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        crate::figures::at_least(
            "alignment/deep_maxent_visitation_error_drop",
            a.visitation_error[0] - a.visitation_error.last().unwrap(),
            0.0,
        );
        let b = deep_maxent_irl(&w.mdp, &demos, &cfg, &device).unwrap();
        assert_eq!(a.reward, b.reward);
        assert!(
            deep_maxent_irl(&w.mdp, &demos, &cfg.clone().with_hidden(vec![0]), &device)
                .unwrap_err()
                .to_string()
                .contains("hidden")
        );
    }
}
