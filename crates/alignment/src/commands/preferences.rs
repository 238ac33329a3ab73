//! `preferences`: reward learning from synthetic preferences on the gridworld, random against
//! active queries ([`preference_learning`]); writes `preferences.json`, `preferences.png` and
//! `config.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::DeviceSpec;
use aegis_model::cli::progress_bar;
use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use burn::config::Config;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::commands::args::EnvKind;
use crate::envs::gridworld::GridworldConfig;
use crate::error::{AlignmentError, MAX_GRID_SIDE, MAX_REPEATS, Result, check_count};
use crate::preferences::{
    PreferenceConfig, PreferenceCurve, QuerySelection, RewardModelKind, preference_learning,
};

/// Reward learning from synthetic preferences on the gridworld; writes
/// DIR/preferences.json (reward_correlation, random vs active curves) and preferences.png.
#[derive(clap::Args, Debug)]
pub struct PreferencesArgs {
    /// gridworld.
    #[arg(long, default_value = "gridworld")]
    pub env: EnvKind,
    /// Comparisons.
    #[arg(long, default_value_t = 500)]
    pub comparisons: usize,
    /// Grid side.
    #[arg(long, default_value_t = 8)]
    pub size: usize,
    /// Bradley–Terry temperature of the labeller.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Ensemble size.
    #[arg(long, default_value_t = 5)]
    pub ensemble: usize,
    /// Reward model: linear | mlp (a Burn MLP on --device).
    #[arg(long, default_value = "linear")]
    pub model: RewardModelKind,
    /// Comparisons added per round (one refit of the ensemble per round).
    #[arg(long, default_value_t = 25)]
    pub batch: usize,
    /// Repeat with seeds seed..seed+R (new worlds) and report mean curves.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Random queries only (skip the active-vs-random comparison).
    #[arg(long)]
    pub no_compare_active: bool,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

impl PreferencesArgs {
    /// Builds the [`PreferenceRequest`], runs [`run_preferences`] on `spec` and prints the
    /// final correlations, the comparisons to each target and the mean curves.
    pub fn run(self, spec: DeviceSpec) -> Result<()> {
        let Self {
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
        } = self;
        if env != EnvKind::Gridworld {
            return Err(AlignmentError::invalid(
                "env",
                "preferences run on the gridworld only",
            ));
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
            for ((t, rn), (_, an)) in r.random_comparisons_to.iter().zip(&r.active_comparisons_to) {
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
        Ok(())
    }
}

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
    check_count("repeats", req.repeats, 1, MAX_REPEATS)?;
    check_count("size", req.size, 2, MAX_GRID_SIDE)?;
    req.learning.validate()?;
    let runs = run_seeds(req, device, progress)?;
    let (random, active, true_reward) = runs[0].clone();
    let active_beats_random = active.as_ref().and_then(|a| active_beats(a, &random));
    let repeated = (req.repeats > 1).then(|| repeated_curves(req, &runs, &random));
    let series = curve_series(req, repeated.as_ref(), &random, active.as_ref());
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

/// One [`preference_seed`] per seed `req.seed..req.seed + repeats`, in order.
fn run_seeds(req: &PreferenceRequest, device: &Device, progress: bool) -> Result<Vec<SeedRun>> {
    let bar = progress_bar(progress, req.repeats as u64, "repeats");
    let mut runs = Vec::with_capacity(req.repeats);
    for k in 0..req.repeats as u64 {
        bar.set_message(format!("seed {}", req.seed + k));
        runs.push(preference_seed(req, req.seed + k, device)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(runs)
}

/// Whether active queries reached correlation 0.9 with fewer comparisons than random ones
/// (`None`: neither reached it).
fn active_beats(active: &PreferenceCurve, random: &PreferenceCurve) -> Option<bool> {
    match (comparisons_to(active, 0.9), comparisons_to(random, 0.9)) {
        (Some(x), Some(y)) => Some(x < y),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}

/// The mean curves over seeds and each seed's comparisons to the targets.
fn repeated_curves(
    req: &PreferenceRequest,
    runs: &[SeedRun],
    random: &PreferenceCurve,
) -> RepeatedCurves {
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
}

/// The lines of `preferences.png`: the mean curves when repeated, else the first seed's.
fn curve_series(
    req: &PreferenceRequest,
    repeated: Option<&RepeatedCurves>,
    random: &PreferenceCurve,
    active: Option<&PreferenceCurve>,
) -> Vec<Series> {
    let mut series = Vec::new();
    match repeated {
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
                points: points(random),
            });
            if let Some(a) = active {
                series.push(Series {
                    name: "active (ensemble disagreement)".into(),
                    points: points(a),
                });
            }
        }
    }
    series
}
