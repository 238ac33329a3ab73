//! `evaluate`: a run's robustness report ([`evaluate_robustness`]): AutoAttack's stages (or
//! a custom list of attacks) against ε, the worst case and the sanity checks, written to
//! `report.json`, `report.csv` and `report.png` and printed. `--shard K/N` evaluates one
//! slice of the rows into `partial.json` ([`evaluate_shard`]); `--merge DIR…` joins such
//! slices into the full report ([`merge_partials`]).

use std::path::{Path, PathBuf};

use aegis_model::burn::tensor::Device;
use aegis_model::{DeviceSpec, RunDir};

use super::opened::{OpenedRun, open_test_rows};
use super::threat::ThreatArgs;
use crate::attacks::{EpsUnits, ThreatSpace};
use crate::error::{AdversarialError, MAX_RESTARTS, MAX_STEPS, Result, check_count};
use crate::evaluation::{
    EvalAttack, EvaluateConfig, PARTIAL_FILE, RobustnessReport, Shard, Suite, evaluate_robustness,
    evaluate_shard, merge_partials, merged_out_dir, read_partial, write_partial, write_report,
};

/// Flags of `evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Run directory.
    #[arg(long, required_unless_present = "merge")]
    pub run: Option<PathBuf>,
    /// Evaluate only the K-th of N contiguous slices of the rows (after `--limit`) and write
    /// `partial.json` [default out: DIR/robustness/shard-K-of-N]; merge the slices with
    /// `--merge`. Results do not depend on N.
    #[arg(long, conflicts_with = "merge")]
    pub shard: Option<Shard>,
    /// Join the partial reports in these folders (or `partial.json` files) into the report an
    /// unsharded run writes [default out: the first folder's parent].
    #[arg(long, num_args = 1.., conflicts_with_all = ["run", "shard"])]
    pub merge: Vec<PathBuf>,
    /// autoattack: AutoAttack's standard stages (APGD-CE, APGD-T with 9 targets, FAB-T with
    /// 9 targets, Square 5,000), each on the rows still robust; cheap: the same with fewer
    /// iterations, 3 targets and Square 1,000; custom: `--attacks`, each on every row.
    #[arg(long, value_enum, default_value = "autoattack")]
    pub suite: Suite,
    /// Radii in `--eps-units`, comma-separated [default: 0,0.1,0.2,0.3 for images;
    /// 0,0.05,0.1,0.25,0.5,1 for tabular runs (training standard deviations)].
    #[arg(long, value_delimiter = ',')]
    pub eps: Option<Vec<f64>>,
    /// The unit of ε and the input box.
    #[command(flatten)]
    pub threat: ThreatArgs,
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
    /// Rows per batch (small batches are fastest on flex; GPUs prefer larger ones).
    #[arg(long, default_value_t = aegis_model::DEFAULT_BATCH_ROWS)]
    pub batch_size: usize,
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
        if !self.merge.is_empty() {
            return self.merge();
        }
        self.check()?;
        let run = self
            .run
            .clone()
            .expect("clap requires --run without --merge");
        let OpenedRun {
            run_dir,
            model,
            config,
            data,
            device,
            ..
        } = open_test_rows(&run, self.limit, device)?;
        let cfg = self.config(self.threat.space(&config.input_domain()?, &data)?);
        if let Some(shard) = self.shard {
            return self.run_shard(shard, &model, &data, &cfg, &device, &run_dir);
        }
        let out = self.out.unwrap_or_else(|| run.join("robustness"));
        let report = evaluate_robustness(&model, &data, &cfg, &device, &out)?;
        print_report(&report, &out);
        Ok(())
    }

    /// Checks the numeric flags, including those the chosen suite ignores, before any work.
    fn check(&self) -> Result<()> {
        if self.limit == Some(0) {
            return Err(AdversarialError::invalid("limit", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(AdversarialError::invalid(
                "batch-size",
                "must be at least 1",
            ));
        }
        check_count("pgd-steps", self.pgd_steps, 1, MAX_STEPS)?;
        check_count("apgd-steps", self.apgd_steps, 1, MAX_STEPS)?;
        check_count("apgd-targets", self.apgd_targets, 1, MAX_RESTARTS)?;
        check_count("square-queries", self.square_queries, 1, MAX_STEPS)
    }

    /// Evaluates one shard and writes its `partial.json`.
    fn run_shard(
        &self,
        shard: Shard,
        model: &aegis_model::Model,
        data: &aegis_model::Dataset,
        cfg: &EvaluateConfig,
        device: &Device,
        run: &RunDir,
    ) -> Result<()> {
        let partial = evaluate_shard(model, data, shard, cfg, device, &run.weights_sha256()?)?;
        let out = self.out.clone().unwrap_or_else(|| {
            run.root()
                .join("robustness")
                .join(format!("shard-{}-of-{}", shard.index, shard.count))
        });
        write_partial(&partial, &out)?;
        println!(
            "shard {}/{}: rows {}..{} of {} evaluated; written to {}",
            shard.index,
            shard.count,
            partial.rows.0,
            partial.rows.1,
            partial.total_rows,
            out.join(PARTIAL_FILE).display()
        );
        Ok(())
    }

    /// Merges the partial reports of `--merge` and writes the full report.
    fn merge(&self) -> Result<()> {
        let parts = self
            .merge
            .iter()
            .map(|p| read_partial(p))
            .collect::<Result<Vec<_>>>()?;
        let report = merge_partials(parts)?;
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| merged_out_dir(&self.merge[0]));
        write_report(&report, &out)?;
        print_report(&report, &out);
        Ok(())
    }

    /// The evaluation settings in `space`: the flags over [`EvaluateConfig::default`].
    fn config(&self, space: ThreatSpace) -> EvaluateConfig {
        let eps = self.eps.clone().unwrap_or_else(|| default_eps(space.units));
        EvaluateConfig {
            suite: self.suite,
            eps,
            space,
            attacks: self.attacks.clone(),
            pgd_steps: self.pgd_steps,
            apgd_steps: self.apgd_steps,
            apgd_targets: self.apgd_targets,
            square_queries: self.square_queries,
            batch_size: self.batch_size,
            ..EvaluateConfig::default()
        }
    }
}

/// The radii `evaluate` uses without `--eps`: [`EvaluateConfig::default`]'s for raw units
/// (pixels), and a grid in training standard deviations for tabular runs.
pub fn default_eps(units: EpsUnits) -> Vec<f64> {
    match units {
        EpsUnits::Raw => EvaluateConfig::default().eps,
        EpsUnits::Std => vec![0.0, 0.05, 0.1, 0.25, 0.5, 1.0],
    }
}

/// Prints the clean accuracy, each (attack, ε) accuracy, the worst cases, the sanity checks
/// and where the files are.
fn print_report(report: &RobustnessReport, out: &Path) {
    println!(
        "clean accuracy {:.2}% on {} rows; {}",
        100.0 * report.clean_accuracy,
        report.n,
        report.config.space.describe()
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
