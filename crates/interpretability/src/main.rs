//! `aegis-interpretability`: explain trained Aegis models and check the explanations.
//!
//! Argument parsing and printing only; the work is in the library. Errors are one line on
//! stderr and exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;

use aegis_interpretability::{
    EvaluateConfig, ExplainMethod, ImportanceMethod, default_out, evaluate_quality, explain_run,
    importance_run, pdp_run,
};
use aegis_model::DeviceArgs;
use aegis_model::LoadedRun;
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-interpretability",
    version,
    about = "Attributions, global explanations and explanation-quality checks for Aegis models"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Attribute one test row's prediction to its input features; writes explanation.json
    /// (+ heatmap.png for images, attributions.png for tables).
    Explain {
        /// Run directory (from `aegis-model train`).
        #[arg(long)]
        run: PathBuf,
        /// saliency | grad-input | ig | smoothgrad | occlusion.
        #[arg(long)]
        method: ExplainMethod,
        /// Index of the row in the run's test split.
        #[arg(long)]
        index: usize,
        /// IG quadrature points [50] or SmoothGrad samples [50].
        #[arg(long)]
        steps: Option<usize>,
        /// Explained class [default: the predicted class].
        #[arg(long)]
        target: Option<usize>,
        /// Output folder [default: runs/<run>-explain].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Global feature importance on the test split; writes importance.json, importance.png
    /// (+ values.png for SHAP/LIME).
    Importance {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// permutation | kernel-shap | lime.
        #[arg(long)]
        method: ImportanceMethod,
        /// Test rows [default: all for permutation, 20 for SHAP/LIME].
        #[arg(long)]
        rows: Option<usize>,
        /// Explained class for SHAP/LIME [default: each row's predicted class].
        #[arg(long)]
        target: Option<usize>,
        /// Seed of shuffles, coalitions, neighbourhoods and the background sample.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder [default: runs/<run>-importance].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Partial dependence and ICE curves of one feature over training rows; writes pdp.json
    /// and pdp.png.
    Pdp {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// Feature index or name.
        #[arg(long)]
        feature: String,
        /// Training rows [500].
        #[arg(long)]
        rows: Option<usize>,
        /// Class whose probability is averaged [1 for binary tasks, else 0].
        #[arg(long)]
        target: Option<usize>,
        /// Output folder [default: runs/<run>-pdp].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Explanation-quality report: deletion/insertion AUC vs random order, IG convergence,
    /// infidelity, max-sensitivity, parameter randomisation; writes evaluation.json, curves.png.
    Evaluate {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// Test rows for curves, convergence and infidelity.
        #[arg(long, default_value_t = 100)]
        rows: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder [default: runs/<run>-evaluate].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(run)
}

fn run(cli: Cli) -> Result<()> {
    let spec = cli.device.device;
    match cli.command {
        Command::Explain {
            run,
            method,
            index,
            steps,
            target,
            out,
        } => {
            let out = out.unwrap_or_else(|| default_out(&run, "explain"));
            let loaded = LoadedRun::open(&run, spec)?;
            let device = loaded.device.clone();
            let e = explain_run(&loaded, method, index, steps, target, &out, &device)?;
            println!(
                "{} of test row {} (label {}, predicted {}, target {}) in {:.2}s",
                e.method, e.index, e.label, e.predicted, e.target, e.seconds
            );
            if let (Some(d), Some(o)) = (e.convergence_delta, e.output_difference) {
                println!(
                    "convergence delta {d:.3e} for f(x) − f(x′) = {o:.4} ({:.3}%)",
                    100.0 * d.abs() / o.abs().max(1e-12)
                );
            }
            println!("written to {}", out.display());
        }
        Command::Importance {
            run,
            method,
            rows,
            target,
            seed,
            out,
        } => {
            let out = out.unwrap_or_else(|| default_out(&run, "importance"));
            let loaded = LoadedRun::open(&run, spec)?;
            let device = loaded.device.clone();
            let r = importance_run(&loaded, method, rows, target, seed, &out, true, &device)?;
            println!(
                "{} on {} test rows in {:.2}s; top features:",
                r.method, r.rows, r.seconds
            );
            for j in aegis_interpretability::ranking(&r.mean).into_iter().take(5) {
                println!("  {:<28} {:.4} ± {:.4}", r.features[j], r.mean[j], r.std[j]);
            }
            println!("written to {}", out.display());
        }
        Command::Pdp {
            run,
            feature,
            rows,
            target,
            out,
        } => {
            let out = out.unwrap_or_else(|| default_out(&run, "pdp"));
            let loaded = LoadedRun::open(&run, spec)?;
            let device = loaded.device.clone();
            let p = pdp_run(&loaded, &feature, rows, target, &out, &device)?;
            println!(
                "partial dependence of P(class {}) on {} over {} rows: {} grid points, {:.4} .. {:.4}",
                p.target,
                p.feature_name,
                p.rows,
                p.grid.len(),
                p.average.first().copied().unwrap_or(f32::NAN),
                p.average.last().copied().unwrap_or(f32::NAN)
            );
            println!("written to {}", out.display());
        }
        Command::Evaluate {
            run,
            rows,
            seed,
            out,
        } => {
            let out = out.unwrap_or_else(|| default_out(&run, "evaluate"));
            let loaded = LoadedRun::open(&run, spec)?;
            let device = loaded.device.clone();
            let config = EvaluateConfig::new().with_rows(rows).with_seed(seed);
            let r = evaluate_quality(&loaded, &config, Some(&out), true, &device)?;
            for m in &r.methods {
                println!(
                    "{:<22} deletion AUC {:.4}  insertion AUC {:.4}  infidelity {:.4e}  max-sensitivity {:.4}",
                    m.method, m.deletion.auc, m.insertion.auc, m.infidelity, m.sensitivity_max
                );
            }
            println!(
                "{:<22} deletion AUC {:.4}  insertion AUC {:.4}",
                "random order", r.random_deletion.auc, r.random_insertion.auc
            );
            for res in &r.randomization {
                let s: Vec<String> = res
                    .stages
                    .iter()
                    .map(|s| format!("{:.3}/{:.3}", s.spearman_signed, s.spearman_abs))
                    .collect();
                println!(
                    "randomisation {:<14} Spearman signed/abs per stage: {}",
                    res.method,
                    s.join("  ")
                );
            }
            for c in &r.checks {
                println!(
                    "[{}] {}: {}",
                    if c.passed { "pass" } else { "FAIL" },
                    c.name,
                    c.detail
                );
            }
            println!(
                "{} rows in {:.1}s; written to {}",
                r.rows,
                r.seconds,
                out.display()
            );
        }
    }
    Ok(())
}
