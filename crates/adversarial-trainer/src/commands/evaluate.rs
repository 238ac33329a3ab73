//! `evaluate`: a run's robustness report ([`evaluate_robustness`]): AutoAttack's stages (or
//! a custom list of attacks) against ε, the worst case and the sanity checks, written to
//! `report.json`, `report.csv` and `report.png` and printed.

use std::path::{Path, PathBuf};

use aegis_model::{DeviceSpec, RunDir};

use crate::error::Result;
use crate::evaluation::{EvalAttack, EvaluateConfig, RobustnessReport, Suite, evaluate_robustness};

/// Flags of `evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// autoattack: AutoAttack's standard stages (APGD-CE, APGD-T with 9 targets, Square
    /// 5,000; FAB-T not yet), each on the rows still robust; cheap: the same with fewer
    /// iterations, 3 targets and Square 1,000; custom: `--attacks`, each on every row.
    #[arg(long, value_enum, default_value = "autoattack")]
    pub suite: Suite,
    /// Radii, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,0.1,0.2,0.3")]
    pub eps: Vec<f64>,
    /// Attacks of `--suite custom`, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fgsm,pgd,apgd-ce,apgd-dlr-t,square"
    )]
    pub attacks: Vec<EvalAttack>,
    /// PGD iterations (step 0.01).
    #[arg(long, default_value_t = 40)]
    pub pgd_steps: usize,
    /// APGD iterations (`--suite custom`).
    #[arg(long, default_value_t = 100)]
    pub apgd_steps: usize,
    /// Target classes of APGD-T, the 2nd, 3rd, … most likely class (`--suite custom`).
    #[arg(long, default_value_t = 9)]
    pub apgd_targets: usize,
    /// Square queries (`--suite custom`).
    #[arg(long, default_value_t = 1000)]
    pub square_queries: usize,
    /// Evaluate only the first N test rows.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output folder [default: DIR/robustness].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl EvaluateArgs {
    /// Evaluates the run's test split (its first `--limit` rows), writes the report files and
    /// prints the accuracies and the sanity checks (failed ones as warnings on stderr).
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let device = device.open()?;
        let (model, config) = RunDir::new(&self.run).load_model(&device)?;
        let data = config.test_split(None)?.head(self.limit);
        let cfg = self.config();
        let out = self.out.unwrap_or_else(|| self.run.join("robustness"));
        let report = evaluate_robustness(&model, &data, &cfg, &device, &out)?;
        print_report(&report, &out);
        Ok(())
    }

    /// The evaluation settings: the flags over [`EvaluateConfig::default`].
    fn config(&self) -> EvaluateConfig {
        EvaluateConfig {
            suite: self.suite,
            eps: self.eps.clone(),
            attacks: self.attacks.clone(),
            pgd_steps: self.pgd_steps,
            apgd_steps: self.apgd_steps,
            apgd_targets: self.apgd_targets,
            square_queries: self.square_queries,
            ..EvaluateConfig::default()
        }
    }
}

/// Prints the clean accuracy, each (attack, ε) accuracy, the worst cases, the sanity checks
/// and where the files are.
fn print_report(report: &RobustnessReport, out: &Path) {
    println!(
        "clean accuracy {:.2}% on {} rows",
        100.0 * report.clean_accuracy,
        report.n
    );
    for s in &report.stages {
        println!(
            "{:>11} ε={:<5} broke {:>4} of {:>4} rows, robust accuracy {:6.2}%  ({:.1}s)",
            s.attack,
            s.eps,
            s.broken,
            s.attacked,
            100.0 * s.robust_accuracy,
            s.seconds
        );
    }
    for r in report.results.iter().filter(|_| report.stages.is_empty()) {
        println!(
            "{:>11} ε={:<5} accuracy {:6.2}%  ({:.1}s)",
            r.attack,
            r.eps,
            100.0 * r.accuracy,
            r.seconds
        );
    }
    for w in &report.worst_case {
        println!(
            " worst case ε={:<5} accuracy {:6.2}%  ({})",
            w.eps,
            100.0 * w.accuracy,
            w.attacks.join(" + ")
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    for c in &report.sanity_checks {
        if c.passed {
            println!("check ok: {} ({})", c.name, c.detail);
        } else {
            eprintln!(
                "warning: possible gradient masking: {} failed: {}",
                c.name, c.detail
            );
        }
    }
    println!(
        "written to {}/report.json, report.csv, report.png",
        out.display()
    );
}
