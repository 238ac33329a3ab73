//! `aegis-alignment`: planning, reward shaping, inverse RL and preference learning on tabular
//! MDPs.
//!
//! Argument parsing and printing only; the work is in the library. Errors are one line on
//! stderr and exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;

use aegis_alignment::job::{
    DemoPolicy, EnvKind, IrlMethod, IrlRequest, PlanMethod, PlanRequest, PreferenceRequest,
    run_irl, run_irl_sweep, run_plan, run_preferences, run_shaping,
};
use aegis_alignment::{IrlObjective, RewardModelKind, ShapingConfig};
use aegis_model::DeviceArgs;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-alignment",
    version,
    about = "Planning, reward shaping, inverse RL and reward learning from preferences"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan in an environment; writes DIR/plan.json (values, policy) and DIR/config.json.
    Plan {
        /// gridworld (goal task) | objectworld | cliff.
        #[arg(long)]
        env: EnvKind,
        /// Grid side [default: 8 gridworld, 32 objectworld].
        #[arg(long)]
        size: Option<usize>,
        /// value-iteration | soft | q-learning.
        #[arg(long, default_value = "value-iteration")]
        method: PlanMethod,
        /// Slip probability [default: the environment's].
        #[arg(long)]
        slip: Option<f64>,
        /// Temperature of soft value iteration (large values make an episodic agent avoid
        /// its goal to keep collecting the entropy bonus).
        #[arg(long, default_value_t = 0.01)]
        temperature: f64,
        /// Q-learning episodes.
        #[arg(long, default_value_t = 500)]
        episodes: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Inverse RL from sampled demonstrations; writes DIR/irl.json (evd, reward_correlation),
    /// or with --sweep DIR/irl_sweep.json and irl_sweep.png.
    Irl {
        /// objectworld | gridworld (linear-reward task).
        #[arg(long, default_value = "objectworld")]
        env: EnvKind,
        /// Grid side [default: 32 objectworld, 8 gridworld].
        #[arg(long)]
        size: Option<usize>,
        /// Slip probability [default: 0.3 objectworld, 0.1 gridworld].
        #[arg(long)]
        slip: Option<f64>,
        /// Objectworld colours.
        #[arg(long, default_value_t = 2)]
        colours: usize,
        /// Objectworld: discrete indicator features instead of continuous distances.
        #[arg(long)]
        discrete: bool,
        /// Demonstrations.
        #[arg(long, default_value_t = 64)]
        demos: usize,
        /// States per demonstration [default: 16 objectworld, 20 gridworld].
        #[arg(long)]
        horizon: Option<usize>,
        /// Demonstrator: greedy | soft [default: greedy objectworld, soft gridworld].
        #[arg(long)]
        demo_policy: Option<DemoPolicy>,
        /// linear | mce | deep (with --sweep: comma-separated list).
        #[arg(long, value_delimiter = ',', default_value = "linear")]
        method: Vec<IrlMethod>,
        /// Gradient steps [default: 200].
        #[arg(long)]
        iterations: Option<usize>,
        /// Likelihood model: max-ent (Ziebart 2008) or causal-entropy (Ziebart 2010)
        /// [default: max-ent for linear, causal-entropy for deep as Wulfmeier et al.'s
        /// Algorithm 1]; `--method mce` always uses causal-entropy.
        #[arg(long)]
        objective: Option<IrlObjective>,
        /// L2 penalty of the linear methods [default: 0].
        #[arg(long)]
        l2: Option<f64>,
        /// Hidden widths of the deep reward network.
        #[arg(long, value_delimiter = ',', default_value = "32,32")]
        hidden: Vec<usize>,
        /// Seed (of the world, the demonstrations and the network).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run a sweep over these demonstration counts (e.g. 8,16,32,64,128).
        #[arg(long, value_delimiter = ',')]
        sweep: Option<Vec<usize>>,
        /// Seeds of the sweep (seed, seed+1, …).
        #[arg(long, default_value_t = 5)]
        seeds: usize,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Reward learning from synthetic preferences on the gridworld; writes
    /// DIR/preferences.json (reward_correlation, random vs active curves) and preferences.png.
    Preferences {
        /// gridworld.
        #[arg(long, default_value = "gridworld")]
        env: EnvKind,
        /// Comparisons.
        #[arg(long, default_value_t = 500)]
        comparisons: usize,
        /// Grid side.
        #[arg(long, default_value_t = 8)]
        size: usize,
        /// Bradley–Terry temperature of the labeller.
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        /// Ensemble size.
        #[arg(long, default_value_t = 5)]
        ensemble: usize,
        /// Reward model: linear | mlp (a Burn MLP on --device).
        #[arg(long, default_value = "linear")]
        model: RewardModelKind,
        /// Comparisons added per round (one refit of the ensemble per round).
        #[arg(long, default_value_t = 25)]
        batch: usize,
        /// Repeat with seeds seed..seed+R (new worlds) and report mean curves.
        #[arg(long, default_value_t = 1)]
        repeats: usize,
        /// Random queries only (skip the active-vs-random comparison).
        #[arg(long)]
        no_compare_active: bool,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Potential-based shaping on the gridworld goal task; writes DIR/shaping.json
    /// (policy_unchanged, steps to the goal with and without shaping) and shaping.png.
    Shaping {
        /// gridworld.
        #[arg(long, default_value = "gridworld")]
        env: EnvKind,
        /// Grid side.
        #[arg(long, default_value_t = 8)]
        size: usize,
        /// Q-learning runs averaged.
        #[arg(long, default_value_t = 20)]
        seeds: usize,
        /// Episodes per run.
        #[arg(long, default_value_t = 100)]
        episodes: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(run)
}

fn run(cli: Cli) -> Result<()> {
    let spec = cli.device.device;
    match cli.command {
        Command::Plan {
            env,
            size,
            method,
            slip,
            temperature,
            episodes,
            seed,
            out,
        } => {
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
        }
        Command::Irl {
            env,
            size,
            slip,
            colours,
            discrete,
            demos,
            horizon,
            demo_policy,
            method,
            iterations,
            objective,
            l2,
            hidden,
            seed,
            sweep,
            seeds,
            out,
        } => {
            let mut req = IrlRequest::new()
                .with_env(env)
                .with_size(size)
                .with_slip(slip)
                .with_colours(colours)
                .with_continuous(!discrete)
                .with_demos(demos)
                .with_horizon(horizon)
                .with_demo_policy(demo_policy)
                .with_seed(seed);
            req.deep = req.deep.clone().with_hidden(hidden);
            if let Some(l2) = l2 {
                req.linear = req.linear.clone().with_l2(l2);
            }
            if let Some(o) = objective {
                req.linear = req.linear.clone().with_objective(o);
                req.deep = req.deep.clone().with_objective(o);
            }
            if let Some(k) = iterations {
                req.linear = req.linear.clone().with_iterations(k);
                req.deep = req.deep.clone().with_iterations(k);
            }
            let device = spec.open()?;
            match sweep {
                Some(counts) => {
                    let r = run_irl_sweep(&req, &method, &counts, seeds, &device, &out, true)?;
                    println!(
                        "method  demos  mean EVD   std EVD  mean corr   ({} seeds)",
                        seeds
                    );
                    for row in &r.rows {
                        println!(
                            "{:<7} {:>5}  {:>8.4}  {:>8.4}  {:>9.4}",
                            format!("{:?}", row.method).to_lowercase(),
                            row.demos,
                            row.mean_evd,
                            row.std_evd,
                            row.mean_reward_correlation
                        );
                    }
                    println!(
                        "{:.1}s; written to {}/irl_sweep.json, irl_sweep.png",
                        r.seconds,
                        out.display()
                    );
                }
                None => {
                    let [m] = method.as_slice() else {
                        bail!("invalid method: give exactly one method without --sweep");
                    };
                    let r = run_irl(&req.with_method(*m), &device, &out)
                        .with_context(|| format!("irl into {}", out.display()))?;
                    println!(
                        "{:?} IRL on {:?} ({} states, {} features), {} demos of {} states: EVD {:.4}, reward correlation {:.4} ({:.1}s on {spec})",
                        r.method,
                        r.env,
                        r.n_states,
                        r.n_features,
                        r.demos,
                        r.horizon,
                        r.evd,
                        r.reward_correlation,
                        r.seconds
                    );
                    println!("written to {}", out.join("irl.json").display());
                }
            }
        }
        Command::Preferences {
            env,
            comparisons,
            size,
            temperature,
            ensemble,
            model,
            batch,
            repeats,
            no_compare_active,
            seed,
            out,
        } => {
            if env != EnvKind::Gridworld {
                bail!("invalid env: preferences run on the gridworld only");
            }
            let mut req = PreferenceRequest::new()
                .with_comparisons(comparisons)
                .with_size(size)
                .with_compare_active(!no_compare_active)
                .with_repeats(repeats)
                .with_seed(seed);
            req.learning = req
                .learning
                .clone()
                .with_temperature(temperature)
                .with_ensemble(ensemble)
                .with_model(model)
                .with_batch(batch)
                .with_initial(batch);
            let device = spec.open()?;
            let r = run_preferences(&req, &device, &out, true)?;
            println!(
                "random queries: reward correlation {:.4} after {} comparisons",
                r.reward_correlation, r.comparisons
            );
            if let Some(a) = r.active_reward_correlation {
                println!("active queries: reward correlation {a:.4}");
                for ((t, rn), (_, an)) in
                    r.random_comparisons_to.iter().zip(&r.active_comparisons_to)
                {
                    let show = |v: &Option<usize>| v.map_or("never".to_string(), |n| n.to_string());
                    println!(
                        "  to reach {t}: random {} comparisons, active {}",
                        show(rn),
                        show(an)
                    );
                }
            }
            if let Some(rep) = &r.repeated {
                println!("mean over seeds {:?}:", rep.seeds);
                println!("  comparisons  random  active");
                for (i, n) in rep.comparisons.iter().enumerate() {
                    let a = rep
                        .active_correlation
                        .get(i)
                        .map_or(String::new(), |v| format!("{v:.4}"));
                    println!("  {n:>11}  {:.4}  {a}", rep.random_correlation[i]);
                }
            }
            println!(
                "{:.1}s; written to {}",
                r.seconds,
                out.join("preferences.json").display()
            );
        }
        Command::Shaping {
            env,
            size,
            seeds,
            episodes,
            seed,
            out,
        } => {
            if env != EnvKind::Gridworld {
                bail!("invalid env: shaping runs on the gridworld only");
            }
            let cfg = ShapingConfig::new()
                .with_size(size)
                .with_seeds(seeds)
                .with_episodes(episodes)
                .with_seed(seed);
            let r = run_shaping(&cfg, &out)?;
            println!(
                "optimal policy unchanged under {} random potentials: {}; non-potential bonus changes it: {} ({} states)",
                r.random_potential_checks.len(),
                r.policy_unchanged,
                r.bonus_changes_policy,
                r.bonus_changed_states
            );
            println!(
                "Q-learning total steps over {episodes} episodes: {:.0} without shaping, {:.0} with Φ = {}",
                r.total_steps_without_shaping, r.total_steps_with_shaping, r.potential
            );
            for c in &r.curves {
                println!("  Φ = {:<15} total steps {:.0}", c.potential, c.total_steps);
            }
            println!("written to {}", out.join("shaping.json").display());
        }
    }
    Ok(())
}
