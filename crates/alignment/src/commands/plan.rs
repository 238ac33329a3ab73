//! `plan`: value iteration, soft value iteration or Q-learning in one environment; writes
//! `plan.json` (values, policy, the policy as arrows) and `config.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::io::write_json;
use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::commands::args::EnvKind;
use crate::envs::cliff_world::{CLIFF_COLS, CliffWorldConfig, is_cliff};
use crate::envs::gridworld::GridworldConfig;
use crate::envs::objectworld::ObjectworldConfig;
use crate::error::{
    AlignmentError, MAX_GRID_SIDE, MAX_ITERATIONS, Result, check_count, check_range,
};
use crate::mdp::{Mdp, render_grid_policy};
use crate::planning::q_learning::{QLearningConfig, q_learning};
use crate::planning::soft_value_iteration::{SoftValueIterationConfig, soft_value_iteration};
use crate::planning::value_iteration::{ValueIterationConfig, greedy_policy, value_iteration};

/// Plan in an environment; writes DIR/plan.json (values, policy) and DIR/config.json.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// gridworld (goal task) | objectworld | cliff.
    #[arg(long)]
    pub env: EnvKind,
    /// Grid side [default: 8 gridworld, 32 objectworld].
    #[arg(long)]
    pub size: Option<usize>,
    /// value-iteration | soft | q-learning.
    #[arg(long, default_value = "value-iteration")]
    pub method: PlanMethod,
    /// Slip probability [default: the environment's].
    #[arg(long)]
    pub slip: Option<f64>,
    /// Temperature of soft value iteration (large values make an episodic agent avoid
    /// its goal to keep collecting the entropy bonus).
    #[arg(long, default_value_t = 0.01)]
    pub temperature: f64,
    /// Q-learning episodes.
    #[arg(long, default_value_t = 500)]
    pub episodes: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

impl PlanArgs {
    /// Builds the [`PlanRequest`], runs [`run_plan`] and prints the summary (and the policy
    /// grid when it has at most 16 rows).
    pub fn run(self) -> Result<()> {
        let Self {
            env,
            size,
            method,
            slip,
            temperature,
            episodes,
            seed,
            out,
        } = self;
        let req = PlanRequest::new(env)
            .with_method(method)
            .with_size(size)
            .with_slip(slip)
            .with_temperature(temperature)
            .with_episodes(episodes)
            .with_seed(seed);
        let r = run_plan(&req, &out)?;
        println!(
            "{:?} with {:?}: {} states, {} actions, start value {:.4}, {} iterations{}",
            r.env,
            r.method,
            r.n_states,
            r.n_actions,
            r.start_value,
            r.iterations,
            if r.converged { "" } else { " (not converged)" }
        );
        if r.policy_grid.len() <= 16 {
            for row in &r.policy_grid {
                println!("  {row}");
            }
        }
        println!("written to {}", out.join("plan.json").display());
        Ok(())
    }
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
            let mut c = GridworldConfig::new().with_seed(req.seed);
            c.size = req.size.unwrap_or(c.size);
            if let Some(s) = req.slip {
                c = c.with_slip(s);
            }
            let g = c.build_goal_task()?;
            Ok((g.mdp, g.size))
        }
        EnvKind::Objectworld => {
            let mut c = ObjectworldConfig::new().with_seed(req.seed);
            c.size = req.size.unwrap_or(c.size);
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
            let mut c = CliffWorldConfig::new();
            c.slip = req.slip.unwrap_or(c.slip);
            Ok((c.build()?, CLIFF_COLS))
        }
    }
}

impl PlanRequest {
    /// Checks the numbers, including those the chosen planner ignores: a grid side in
    /// [2, 64], a soft-value-iteration temperature in (0, 1e6], episodes in [1, 100000]
    /// (the slip is checked by the environment).
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = self.size {
            check_count("size", n, 2, MAX_GRID_SIDE)?;
        }
        check_range("temperature", self.temperature, f64::MIN_POSITIVE, 1e6)?;
        check_count("episodes", self.episodes, 1, MAX_ITERATIONS)
    }
}

/// Plans in the chosen environment and writes `out/plan.json` and `out/config.json`.
pub fn run_plan(req: &PlanRequest, out: &Path) -> Result<PlanReport> {
    req.validate()?;
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
}
