//! The binary's commands as library calls: each builds an environment, runs an algorithm,
//! and writes a JSON report, `config.json` (the request) and PNGs atomically into an output
//! folder.

use std::path::Path;
use std::time::Instant;

use aegis_model::cli::progress_bar;
use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use burn::config::Config;
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cliff_world::{CLIFF_COLS, CliffWorldConfig, is_cliff};
use crate::deep_maxent_irl::{DeepMaxEntIrlConfig, deep_maxent_irl};
use crate::demonstrations::sample_trajectories;
use crate::error::{AlignmentError, Result, check_nonzero};
use crate::gridworld::GridworldConfig;
use crate::maxent_irl::{IrlObjective, MaxEntIrlConfig, maxent_irl};
use crate::mce_irl::mce_irl;
use crate::mdp::{Mdp, render_grid_policy};
use crate::metrics::{expected_value_difference, reward_correlation};
use crate::objectworld::ObjectworldConfig;
use crate::preferences::{PreferenceConfig, PreferenceCurve, QuerySelection, preference_learning};
use crate::q_learning::{QLearningConfig, q_learning};
use crate::shaping::{ShapingConfig, ShapingReport, shaping_experiment};
use crate::soft_value_iteration::{SoftValueIterationConfig, soft_value_iteration};
use crate::value_iteration::{
    ValueIterationConfig, greedy_policy, greedy_with_ties, value_iteration,
};

/// Environments of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    /// [`GridworldConfig`]: the goal task for `plan` and `shaping`, the linear-reward task
    /// for `irl` and `preferences`.
    Gridworld,
    /// [`ObjectworldConfig`].
    Objectworld,
    /// [`CliffWorldConfig`].
    Cliff,
}

/// Planners of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMethod {
    /// Value iteration.
    ValueIteration,
    /// Soft value iteration.
    Soft,
    /// Q-learning.
    QLearning,
}

/// IRL methods of `irl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IrlMethod {
    /// Linear MaxEnt IRL (Ziebart et al. 2008).
    Linear,
    /// Linear maximum-causal-entropy IRL.
    Mce,
    /// Deep MaxEnt IRL (Wulfmeier et al. 2015).
    Deep,
}

/// Which policy the demonstrator follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DemoPolicy {
    /// Uniform over the optimal actions of value iteration under the true reward.
    Greedy,
    /// The soft-optimal (maximum causal entropy, τ = 1) policy under the true reward.
    Soft,
}

// ---------------------------------------------------------------------------------------
// plan

/// Settings of [`run_plan`].
#[derive(Config, Debug)]
pub struct PlanRequest {
    /// Environment (gridworld: the goal task).
    pub env: EnvKind,
    /// Planner.
    #[config(default = "PlanMethod::ValueIteration")]
    pub method: PlanMethod,
    /// Grid side [default: 8 for the gridworld, 32 for the objectworld; the cliff is 4 × 12].
    #[config(default = "None")]
    pub size: Option<usize>,
    /// Slip probability [default: the environment's].
    #[config(default = "None")]
    pub slip: Option<f64>,
    /// Seed of the environment (objectworld) and of Q-learning.
    #[config(default = 1)]
    pub seed: u64,
    /// Temperature of soft value iteration. Small by default: in an episodic task the
    /// entropy bonus `τ log A` per step competes with the goal reward, and at τ = 0.1 the
    /// soft-optimal agent of the 8 × 8 goal task prefers to wander forever
    /// (`τ log 4 / (1 − γ) ≈ 1.39 > 1`).
    #[config(default = 0.01)]
    pub temperature: f64,
    /// Q-learning episodes.
    #[config(default = 500)]
    pub episodes: usize,
}

/// `plan.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanReport {
    /// Environment.
    pub env: EnvKind,
    /// Planner.
    pub method: PlanMethod,
    /// States.
    pub n_states: usize,
    /// Actions.
    pub n_actions: usize,
    /// Discount.
    pub gamma: f64,
    /// Grid columns (states are row-major).
    pub columns: usize,
    /// State values `[S]` (soft values for `soft`; `max_a Q` for Q-learning).
    pub values: Vec<f64>,
    /// Greedy action per state `[S]` (lowest index among ties); for `soft`, the most likely.
    pub policy: Vec<usize>,
    /// The policy as arrows, one string per grid row (`*`: terminal, `C`: cliff).
    pub policy_grid: Vec<String>,
    /// Action probabilities `[S][A]` (soft value iteration only).
    pub policy_probabilities: Option<Vec<Vec<f64>>>,
    /// The true reward per state.
    pub reward: Vec<f64>,
    /// Expected value of the start distribution.
    pub start_value: f64,
    /// Sweeps (value iteration) or episodes (Q-learning).
    pub iterations: usize,
    /// Whether the planner converged (always true for Q-learning, which runs fixed episodes).
    pub converged: bool,
    /// Q-learning: steps per episode.
    pub episode_steps: Option<Vec<usize>>,
    /// Wall time.
    pub seconds: f64,
}

fn plan_env(req: &PlanRequest) -> Result<(Mdp, usize)> {
    match req.env {
        EnvKind::Gridworld => {
            let mut c = GridworldConfig::new()
                .with_size(req.size.unwrap_or(8))
                .with_seed(req.seed);
            if let Some(s) = req.slip {
                c = c.with_slip(s);
            }
            let g = c.build_goal_task()?;
            Ok((g.mdp, g.size))
        }
        EnvKind::Objectworld => {
            let mut c = ObjectworldConfig::new()
                .with_size(req.size.unwrap_or(32))
                .with_seed(req.seed);
            if let Some(s) = req.slip {
                c = c.with_slip(s);
            }
            let w = c.build()?;
            Ok((w.mdp, w.size))
        }
        EnvKind::Cliff => {
            if req.size.is_some() {
                return Err(AlignmentError::invalid(
                    "size",
                    "the cliff world is always 4 × 12",
                ));
            }
            let c = CliffWorldConfig::new().with_slip(req.slip.unwrap_or(0.0));
            Ok((c.build()?, CLIFF_COLS))
        }
    }
}

/// Plans in the chosen environment and writes `out/plan.json` and `out/config.json`.
pub fn run_plan(req: &PlanRequest, out: &Path) -> Result<PlanReport> {
    let started = Instant::now();
    let (mdp, cols) = plan_env(req)?;
    let a_n = mdp.n_actions();
    let (values, policy, probs, iterations, converged, steps) = match req.method {
        PlanMethod::ValueIteration => {
            let p = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new())?;
            (p.values, p.policy, None, p.iterations, p.converged, None)
        }
        PlanMethod::Soft => {
            let p = soft_value_iteration(
                &mdp,
                mdp.reward(),
                &SoftValueIterationConfig::new().with_temperature(req.temperature),
            )?;
            let policy = greedy_policy(&p.policy, a_n);
            let probs = p.policy.chunks(a_n).map(<[f64]>::to_vec).collect();
            (
                p.values,
                policy,
                Some(probs),
                p.iterations,
                p.converged,
                None,
            )
        }
        PlanMethod::QLearning => {
            let mut c = QLearningConfig::new()
                .with_episodes(req.episodes)
                .with_seed(req.seed);
            if req.env == EnvKind::Cliff {
                // Sutton & Barto's Example 6.6 settings.
                c = c.with_learning_rate(0.5);
            }
            let r = q_learning(&mdp, mdp.reward(), None, &c)?;
            let values =
                r.q.chunks(a_n)
                    .map(|row| row.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                    .collect();
            (
                values,
                greedy_policy(&r.q, a_n),
                None,
                req.episodes,
                true,
                Some(r.steps),
            )
        }
    };
    let start_value = mdp.start().iter().zip(&values).map(|(p, v)| p * v).sum();
    let mut policy_grid = render_grid_policy(&mdp, &policy, cols);
    if req.env == EnvKind::Cliff {
        // Mark the cliff cells (their action is irrelevant: every action returns to the start).
        for (r, row) in policy_grid.iter_mut().enumerate() {
            *row = row
                .chars()
                .enumerate()
                .map(|(c, ch)| if is_cliff(r * cols + c) { 'C' } else { ch })
                .collect();
        }
    }
    let report = PlanReport {
        env: req.env,
        method: req.method,
        n_states: mdp.n_states(),
        n_actions: a_n,
        gamma: mdp.gamma(),
        columns: cols,
        policy_grid,
        values,
        policy,
        policy_probabilities: probs,
        reward: mdp.reward().to_vec(),
        start_value,
        iterations,
        converged,
        episode_steps: steps,
        seconds: started.elapsed().as_secs_f64(),
    };
    write_json(&out.join("plan.json"), &report)?;
    write_json(&out.join("config.json"), req)?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// irl

/// Settings of [`run_irl`] and [`run_irl_sweep`].
#[derive(Config, Debug)]
pub struct IrlRequest {
    /// Environment: the objectworld or the gridworld's linear-reward task.
    #[config(default = "EnvKind::Objectworld")]
    pub env: EnvKind,
    /// Method.
    #[config(default = "IrlMethod::Linear")]
    pub method: IrlMethod,
    /// Grid side [default: 32 for the objectworld, 8 for the gridworld].
    #[config(default = "None")]
    pub size: Option<usize>,
    /// Slip probability [default: the environment's, 0.3 objectworld, 0.1 gridworld].
    #[config(default = "None")]
    pub slip: Option<f64>,
    /// Objectworld colours.
    #[config(default = 2)]
    pub colours: usize,
    /// Objectworld: continuous (distance) features; false: discrete indicators.
    #[config(default = true)]
    pub continuous: bool,
    /// Number of demonstrations.
    #[config(default = 64)]
    pub demos: usize,
    /// States per demonstration T (also the horizon of the backward and forward passes)
    /// [default: 16 for the objectworld, 20 for the gridworld].
    #[config(default = "None")]
    pub horizon: Option<usize>,
    /// Demonstrator [default: greedy (uniform over optimal actions) for the objectworld, as
    /// Levine et al.; soft-optimal for the gridworld].
    #[config(default = "None")]
    pub demo_policy: Option<DemoPolicy>,
    /// Seed of the world (objects or macro-cell rewards), the demonstrations and the deep
    /// network's initial weights.
    #[config(default = 1)]
    pub seed: u64,
    /// Linear / MCE IRL settings.
    #[config(default = "MaxEntIrlConfig::new()")]
    pub linear: MaxEntIrlConfig,
    /// Deep MaxEnt IRL settings (its `seed` is replaced by the request's).
    #[config(default = "DeepMaxEntIrlConfig::new()")]
    pub deep: DeepMaxEntIrlConfig,
}

/// `irl.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IrlReport {
    /// Environment.
    pub env: EnvKind,
    /// Method.
    pub method: IrlMethod,
    /// Demonstrations.
    pub demos: usize,
    /// States per demonstration.
    pub horizon: usize,
    /// Demonstrator policy.
    pub demo_policy: DemoPolicy,
    /// Likelihood model of the learner.
    pub objective: IrlObjective,
    /// Seed.
    pub seed: u64,
    /// Expected value difference, mean over all states (uniform start), see
    /// [`expected_value_difference`].
    pub evd: f64,
    /// Pearson correlation over states of learned and true reward.
    pub reward_correlation: f64,
    /// States.
    pub n_states: usize,
    /// Features.
    pub n_features: usize,
    /// True reward per state.
    pub true_reward: Vec<f64>,
    /// Learned reward per state.
    pub learned_reward: Vec<f64>,
    /// Per iteration `‖μ_D − E[μ]‖₁ / T`.
    pub visitation_error: Vec<f64>,
    /// Wall time.
    pub seconds: f64,
}

fn irl_env(req: &IrlRequest) -> Result<(Mdp, usize, DemoPolicy)> {
    match req.env {
        EnvKind::Objectworld => {
            let mut c = ObjectworldConfig::new();
            if let Some(p) = req.slip {
                c = c.with_slip(p);
            }
            let w = c
                .with_size(req.size.unwrap_or(32))
                .with_colours(req.colours)
                .with_continuous(req.continuous)
                .with_seed(req.seed)
                .build()?;
            Ok((
                w.mdp,
                req.horizon.unwrap_or(16),
                req.demo_policy.unwrap_or(DemoPolicy::Greedy),
            ))
        }
        EnvKind::Gridworld => {
            let mut c = GridworldConfig::new();
            if let Some(p) = req.slip {
                c = c.with_slip(p);
            }
            let g = c
                .with_size(req.size.unwrap_or(8))
                .with_seed(req.seed)
                .build()?;
            Ok((
                g.mdp,
                req.horizon.unwrap_or(20),
                req.demo_policy.unwrap_or(DemoPolicy::Soft),
            ))
        }
        EnvKind::Cliff => Err(AlignmentError::invalid(
            "env",
            "irl runs on the objectworld or the gridworld (the cliff world has no features)",
        )),
    }
}

/// Runs one IRL experiment (no files written).
pub fn irl_experiment(req: &IrlRequest, device: &Device) -> Result<IrlReport> {
    let started = Instant::now();
    check_nonzero("demos", req.demos)?;
    let (mdp, horizon, demo_policy) = irl_env(req)?;
    check_nonzero("horizon", horizon)?;
    let pi = match demo_policy {
        DemoPolicy::Greedy => {
            let plan = value_iteration(&mdp, mdp.reward(), &ValueIterationConfig::new())?;
            greedy_with_ties(&plan.q, mdp.n_actions())
        }
        DemoPolicy::Soft => {
            soft_value_iteration(&mdp, mdp.reward(), &SoftValueIterationConfig::new())?.policy
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed.wrapping_add(0xde30));
    let demos = sample_trajectories(&mdp, &pi, req.demos, horizon, &mut rng)?;
    let res = match req.method {
        IrlMethod::Linear => maxent_irl(
            &mdp,
            &demos,
            &req.linear.clone().with_horizon(Some(horizon)),
        )?,
        IrlMethod::Mce => mce_irl(
            &mdp,
            &demos,
            &req.linear.clone().with_horizon(Some(horizon)),
        )?,
        IrlMethod::Deep => deep_maxent_irl(
            &mdp,
            &demos,
            &req.deep
                .clone()
                .with_seed(req.seed)
                .with_horizon(Some(horizon)),
            device,
        )?,
    };
    let evd = expected_value_difference(&mdp, mdp.reward(), &res.reward)?;
    let corr = reward_correlation(mdp.reward(), &res.reward)?;
    Ok(IrlReport {
        env: req.env,
        method: req.method,
        demos: req.demos,
        horizon,
        demo_policy,
        objective: match req.method {
            IrlMethod::Linear => req.linear.objective,
            IrlMethod::Mce => IrlObjective::CausalEntropy,
            IrlMethod::Deep => req.deep.objective,
        },
        seed: req.seed,
        evd,
        reward_correlation: corr,
        n_states: mdp.n_states(),
        n_features: mdp.n_features(),
        true_reward: mdp.reward().to_vec(),
        learned_reward: res.reward,
        visitation_error: res.visitation_error,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs one IRL experiment and writes `out/irl.json` and `out/config.json`.
pub fn run_irl(req: &IrlRequest, device: &Device, out: &Path) -> Result<IrlReport> {
    let report = irl_experiment(req, device)?;
    write_json(&out.join("irl.json"), &report)?;
    write_json(&out.join("config.json"), req)?;
    Ok(report)
}

/// One row of the sweep table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepRow {
    /// Method.
    pub method: IrlMethod,
    /// Demonstrations.
    pub demos: usize,
    /// EVD per seed.
    pub evd: Vec<f64>,
    /// Reward correlation per seed.
    pub reward_correlation: Vec<f64>,
    /// Mean EVD.
    pub mean_evd: f64,
    /// Standard deviation of the EVD over seeds.
    pub std_evd: f64,
    /// Mean reward correlation.
    pub mean_reward_correlation: f64,
}

/// `irl_sweep.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    /// Seeds (each a different world, demonstration set and initialisation).
    pub seeds: Vec<u64>,
    /// One row per method and number of demonstrations.
    pub rows: Vec<SweepRow>,
    /// Wall time.
    pub seconds: f64,
}

/// Runs `req` for every method, number of demonstrations and seed `req.seed..req.seed+seeds`,
/// and writes `out/irl_sweep.json`, `out/irl_sweep.png` (mean EVD against demonstrations)
/// and `out/config.json`.
pub fn run_irl_sweep(
    req: &IrlRequest,
    methods: &[IrlMethod],
    demos: &[usize],
    seeds: usize,
    device: &Device,
    out: &Path,
    progress: bool,
) -> Result<SweepReport> {
    check_nonzero("seeds", seeds)?;
    if methods.is_empty() || demos.is_empty() {
        return Err(AlignmentError::invalid(
            "sweep",
            "needs at least one method and one demo count",
        ));
    }
    let started = Instant::now();
    let seed_list: Vec<u64> = (0..seeds as u64).map(|k| req.seed + k).collect();
    let bar = progress_bar(
        progress,
        (methods.len() * demos.len() * seeds) as u64,
        "runs",
    );
    let mut rows = Vec::new();
    for &method in methods {
        for &n in demos {
            let (mut evd, mut corr) = (Vec::new(), Vec::new());
            for &seed in &seed_list {
                bar.set_message(format!("{method:?} {n} demos seed {seed}"));
                let r = irl_experiment(
                    &req.clone()
                        .with_method(method)
                        .with_demos(n)
                        .with_seed(seed),
                    device,
                )?;
                evd.push(r.evd);
                corr.push(r.reward_correlation);
                bar.inc(1);
            }
            let k = evd.len() as f64;
            let mean = evd.iter().sum::<f64>() / k;
            rows.push(SweepRow {
                method,
                demos: n,
                std_evd: (evd.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / k).sqrt(),
                mean_evd: mean,
                mean_reward_correlation: corr.iter().sum::<f64>() / k,
                evd,
                reward_correlation: corr,
            });
        }
    }
    bar.finish_and_clear();
    let report = SweepReport {
        seeds: seed_list,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    };
    let series: Vec<Series> = methods
        .iter()
        .map(|m| Series {
            name: format!("{m:?}").to_lowercase(),
            points: report
                .rows
                .iter()
                .filter(|r| r.method == *m)
                .map(|r| ((r.demos as f64).log2(), r.mean_evd))
                .collect(),
        })
        .collect();
    write_json(&out.join("irl_sweep.json"), &report)?;
    write_json(
        &out.join("config.json"),
        &serde_json::json!({
            "request": req,
            "methods": methods,
            "demos": demos,
            "seeds": report.seeds,
        }),
    )?;
    line_chart(
        &out.join("irl_sweep.png"),
        &format!("EVD vs demonstrations (mean over {seeds} seeds)"),
        "log2(demonstrations)",
        "expected value difference",
        &series,
        None,
    )?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// preferences

/// Settings of [`run_preferences`].
#[derive(Config, Debug)]
pub struct PreferenceRequest {
    /// Gridworld side.
    #[config(default = 8)]
    pub size: usize,
    /// Macro-cell side of the gridworld's features.
    #[config(default = 2)]
    pub block: usize,
    /// Comparisons.
    #[config(default = 500)]
    pub comparisons: usize,
    /// Also run active selection and compare it with random selection.
    #[config(default = true)]
    pub compare_active: bool,
    /// Seed of the world and of the learner.
    #[config(default = 1)]
    pub seed: u64,
    /// Repeat the whole experiment with seeds `seed..seed + repeats` (each a new world) and
    /// report mean curves; the headline numbers stay those of `seed`.
    #[config(default = 1)]
    pub repeats: usize,
    /// Learner settings (its `seed` is replaced by the request's).
    #[config(default = "PreferenceConfig::new()")]
    pub learning: PreferenceConfig,
}

/// `preferences.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferenceReport {
    /// Final reward correlation with random queries.
    pub reward_correlation: f64,
    /// Final reward correlation with active queries (when compared).
    pub active_reward_correlation: Option<f64>,
    /// Comparisons.
    pub comparisons: usize,
    /// The random-query learning curve.
    pub random: PreferenceCurve,
    /// The active-query learning curve.
    pub active: Option<PreferenceCurve>,
    /// Comparisons random queries needed to first reach correlation 0.9 / 0.95 / 0.98.
    pub random_comparisons_to: Vec<(f64, Option<usize>)>,
    /// The same for active queries.
    pub active_comparisons_to: Vec<(f64, Option<usize>)>,
    /// Whether active needed fewer comparisons than random to reach 0.9 (None: not compared
    /// or neither reached it).
    pub active_beats_random: Option<bool>,
    /// Mean curves over `repeats` seeds (only when `repeats > 1`).
    pub repeated: Option<RepeatedCurves>,
    /// True reward per state.
    pub true_reward: Vec<f64>,
    /// Wall time.
    pub seconds: f64,
}

/// Learning curves averaged over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepeatedCurves {
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Comparisons at each point.
    pub comparisons: Vec<usize>,
    /// Mean correlation with random queries.
    pub random_correlation: Vec<f64>,
    /// Mean correlation with active queries (empty when not compared).
    pub active_correlation: Vec<f64>,
    /// Per seed: comparisons random queries needed to reach 0.9 / 0.95 / 0.98.
    pub random_comparisons_to: Vec<Vec<(f64, Option<usize>)>>,
    /// Per seed: the same for active queries.
    pub active_comparisons_to: Vec<Vec<(f64, Option<usize>)>>,
}

fn comparisons_to(curve: &PreferenceCurve, target: f64) -> Option<usize> {
    curve
        .correlation
        .iter()
        .position(|&c| c >= target)
        .map(|i| curve.comparisons[i])
}

const TARGETS: [f64; 3] = [0.9, 0.95, 0.98];

/// One seed's random curve, active curve (when compared) and true reward.
type SeedRun = (PreferenceCurve, Option<PreferenceCurve>, Vec<f64>);

fn preference_seed(req: &PreferenceRequest, seed: u64, device: &Device) -> Result<SeedRun> {
    let world = GridworldConfig::new()
        .with_size(req.size)
        .with_block(req.block)
        .with_seed(seed)
        .build()?;
    let cfg = req.learning.clone().with_seed(seed);
    let random = preference_learning(
        &world.mdp,
        req.comparisons,
        QuerySelection::Random,
        &cfg,
        device,
    )?;
    let active = if req.compare_active {
        Some(preference_learning(
            &world.mdp,
            req.comparisons,
            QuerySelection::Active,
            &cfg,
            device,
        )?)
    } else {
        None
    };
    Ok((random, active, world.mdp.reward().to_vec()))
}

fn targets_of(curve: &PreferenceCurve) -> Vec<(f64, Option<usize>)> {
    TARGETS
        .iter()
        .map(|&t| (t, comparisons_to(curve, t)))
        .collect()
}

fn points(curve: &PreferenceCurve) -> Vec<(f64, f64)> {
    curve
        .comparisons
        .iter()
        .zip(&curve.correlation)
        .map(|(&n, &c)| (n as f64, c))
        .collect()
}

/// Learns the gridworld reward from preferences and writes `out/preferences.json`,
/// `out/preferences.png` (correlation against comparisons; mean curves when `repeats > 1`)
/// and `out/config.json`.
pub fn run_preferences(
    req: &PreferenceRequest,
    device: &Device,
    out: &Path,
    progress: bool,
) -> Result<PreferenceReport> {
    let started = Instant::now();
    check_nonzero("repeats", req.repeats)?;
    let bar = progress_bar(progress, req.repeats as u64, "repeats");
    let mut runs = Vec::with_capacity(req.repeats);
    for k in 0..req.repeats as u64 {
        bar.set_message(format!("seed {}", req.seed + k));
        runs.push(preference_seed(req, req.seed + k, device)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (random, active, true_reward) = runs[0].clone();
    let active_beats_random = active.as_ref().and_then(|a| {
        match (comparisons_to(a, 0.9), comparisons_to(&random, 0.9)) {
            (Some(x), Some(y)) => Some(x < y),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    });
    let repeated = (req.repeats > 1).then(|| {
        let mean = |pick: &dyn Fn(&SeedRun) -> Option<Vec<f64>>| {
            let curves: Vec<Vec<f64>> = runs.iter().filter_map(pick).collect();
            let len = curves.first().map_or(0, Vec::len);
            (0..len)
                .map(|i| curves.iter().map(|c| c[i]).sum::<f64>() / curves.len() as f64)
                .collect::<Vec<f64>>()
        };
        RepeatedCurves {
            seeds: (0..req.repeats as u64).map(|k| req.seed + k).collect(),
            comparisons: random.comparisons.clone(),
            random_correlation: mean(&|r| Some(r.0.correlation.clone())),
            active_correlation: mean(&|r| r.1.as_ref().map(|a| a.correlation.clone())),
            random_comparisons_to: runs.iter().map(|r| targets_of(&r.0)).collect(),
            active_comparisons_to: runs
                .iter()
                .filter_map(|r| r.1.as_ref().map(targets_of))
                .collect(),
        }
    });
    let mut series = Vec::new();
    match &repeated {
        Some(rep) => {
            let pts = |c: &[f64]| -> Vec<(f64, f64)> {
                rep.comparisons
                    .iter()
                    .zip(c)
                    .map(|(&n, &v)| (n as f64, v))
                    .collect()
            };
            series.push(Series {
                name: format!("random queries (mean of {} seeds)", req.repeats),
                points: pts(&rep.random_correlation),
            });
            if !rep.active_correlation.is_empty() {
                series.push(Series {
                    name: format!(
                        "active, ensemble disagreement (mean of {} seeds)",
                        req.repeats
                    ),
                    points: pts(&rep.active_correlation),
                });
            }
        }
        None => {
            series.push(Series {
                name: "random queries".into(),
                points: points(&random),
            });
            if let Some(a) = &active {
                series.push(Series {
                    name: "active (ensemble disagreement)".into(),
                    points: points(a),
                });
            }
        }
    }
    let report = PreferenceReport {
        reward_correlation: *random.correlation.last().unwrap_or(&0.0),
        active_reward_correlation: active.as_ref().and_then(|a| a.correlation.last().copied()),
        comparisons: req.comparisons,
        random_comparisons_to: targets_of(&random),
        active_comparisons_to: active.as_ref().map(targets_of).unwrap_or_default(),
        active_beats_random,
        random,
        active,
        repeated,
        true_reward,
        seconds: started.elapsed().as_secs_f64(),
    };
    write_json(&out.join("preferences.json"), &report)?;
    write_json(&out.join("config.json"), req)?;
    line_chart(
        &out.join("preferences.png"),
        "Reward correlation vs comparisons",
        "comparisons",
        "Pearson correlation with the true reward",
        &series,
        None,
    )?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// shaping

/// Runs [`shaping_experiment`] and writes `out/shaping.json`, `out/shaping.png` (steps to the
/// goal per episode, with and without shaping) and `out/config.json`.
pub fn run_shaping(cfg: &ShapingConfig, out: &Path) -> Result<ShapingReport> {
    let report = shaping_experiment(cfg)?;
    let curve = |name: String, steps: &[f64]| Series {
        name,
        points: steps
            .iter()
            .enumerate()
            .map(|(e, &s)| ((e + 1) as f64, s))
            .collect(),
    };
    let mut series = vec![curve("no shaping".into(), &report.steps_without_shaping)];
    for c in &report.curves {
        series.push(curve(format!("Φ = {}", c.potential), &c.steps));
    }
    write_json(&out.join("shaping.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    line_chart(
        &out.join("shaping.png"),
        &format!(
            "Q-learning on a {0}×{0} gridworld (mean of {1} seeds)",
            cfg.size, cfg.seeds
        ),
        "episode",
        "steps to the goal",
        &series,
        None,
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_writes_values_and_policy_for_every_env_and_method() {
        let dir = tempfile::tempdir().unwrap();
        for env in [EnvKind::Gridworld, EnvKind::Cliff, EnvKind::Objectworld] {
            for method in [
                PlanMethod::ValueIteration,
                PlanMethod::Soft,
                PlanMethod::QLearning,
            ] {
                let mut req = PlanRequest::new(env).with_method(method).with_episodes(50);
                if env == EnvKind::Objectworld {
                    req = req.with_size(Some(6));
                }
                let out = dir.path().join(format!("{env:?}-{method:?}"));
                let r = run_plan(&req, &out).unwrap();
                assert_eq!(r.values.len(), r.n_states);
                assert!(out.join("plan.json").exists() && out.join("config.json").exists());
            }
        }
        let cliff = run_plan(&PlanRequest::new(EnvKind::Cliff), &dir.path().join("c")).unwrap();
        assert!((cliff.start_value + 13.0).abs() < 1e-9);
        assert_eq!(cliff.policy_grid.len(), 4);
        assert!(
            run_plan(
                &PlanRequest::new(EnvKind::Cliff).with_size(Some(3)),
                dir.path()
            )
            .is_err()
        );
    }

    /// The bar "linear MaxEnt IRL reaches reward correlation ≥ 0.9 on a gridworld whose true
    /// reward is linear in its features", on the default 8 × 8 gridworld.
    #[test]
    fn linear_maxent_reaches_correlation_on_the_linear_gridworld() {
        let req = IrlRequest::new()
            .with_env(EnvKind::Gridworld)
            .with_demos(100);
        let r = irl_experiment(&req, &Device::flex()).unwrap();
        assert!(
            r.reward_correlation >= 0.9,
            "correlation {}",
            r.reward_correlation
        );
        assert!(r.evd >= -1e-9);
    }
}
