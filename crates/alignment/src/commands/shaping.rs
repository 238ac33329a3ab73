//! `shaping`: potential-based shaping on the gridworld goal task ([`shaping_experiment`]);
//! writes `shaping.json`, `shaping.png` and `config.json`.

use std::path::{Path, PathBuf};

use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};

use crate::commands::args::EnvKind;
use crate::error::{AlignmentError, Result};
use crate::shaping::{ShapingConfig, ShapingReport, shaping_experiment};

/// Potential-based shaping on the gridworld goal task; writes DIR/shaping.json
/// (policy_unchanged, steps to the goal with and without shaping) and shaping.png.
#[derive(clap::Args, Debug)]
pub struct ShapingArgs {
    /// gridworld.
    #[arg(long, default_value = "gridworld")]
    pub env: EnvKind,
    /// Grid side.
    #[arg(long, default_value_t = 8)]
    pub size: usize,
    /// Q-learning runs averaged.
    #[arg(long, default_value_t = 20)]
    pub seeds: usize,
    /// Episodes per run.
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

impl ShapingArgs {
    /// Builds the [`ShapingConfig`], runs [`run_shaping`] and prints the invariance checks and
    /// the steps to the goal per potential.
    pub fn run(self) -> Result<()> {
        let Self {
            env,
            size,
            seeds,
            episodes,
            seed,
            out,
        } = self;
        if env != EnvKind::Gridworld {
            return Err(AlignmentError::invalid(
                "env",
                "shaping runs on the gridworld only",
            ));
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
        Ok(())
    }
}

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
