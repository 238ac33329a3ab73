//! `attack`: attack a run's test split with one attack and write `DIR2/attack.json`
//! ([`AttackReport`], built by [`run_attack`](crate::run_attack)).

use std::path::PathBuf;

use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::{Dataset, DeviceSpec, Model, RunDir};

use super::threat::ThreatArgs;
use crate::attacks::ThreatSpace;
use crate::attacks::{
    Apgd, ApgdConfig, ApgdLoss, CwConfig, CwL2, Fgsm, FgsmConfig, MiFgsm, MiFgsmConfig, Norm, Pgd,
    PgdConfig, Square, SquareConfig,
};
use crate::error::{AdversarialError, MAX_RESTARTS, MAX_STEPS, Result, check_count};
use crate::evaluation::{AttackPlan, AttackReport, GoalKind, run_attack_in};

/// Flags of `attack`.
#[derive(clap::Args, Debug)]
pub struct AttackArgs {
    /// Run directory written by `aegis-model train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Attack.
    #[arg(long)]
    pub attack: AttackName,
    /// Radius ε of the threat model, in `--eps-units`.
    #[arg(long)]
    pub eps: f64,
    /// The unit of ε and the input box.
    #[command(flatten)]
    pub threat: ThreatArgs,
    /// Iterations [default: 40 for PGD, 10 for MI-FGSM, 100 for APGD, 100 per value of c for
    /// C&W; queries for Square: 5000].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Step size [default: 0.01 for PGD, 2.5·ε/steps for PGD-L2, ε/10 for MI-FGSM].
    #[arg(long)]
    pub step_size: Option<f64>,
    /// PGD restarts.
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Targeted attack towards class (y + 1) mod C.
    #[arg(long)]
    pub targeted: bool,
    /// Attack only the first N test rows.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of random starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rows per batch (small batches are fastest on flex; GPUs prefer larger ones).
    #[arg(long, default_value_t = aegis_model::DEFAULT_BATCH_ROWS)]
    pub batch_size: usize,
    /// Output folder [default: DIR/attack-<name>-eps<E>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl AttackArgs {
    /// Attacks the run's test split (its first `--limit` rows), writes `attack.json` and prints
    /// the summary.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        self.check()?;
        let spec = device;
        let device = spec.open()?;
        let (model, config) = RunDir::new(&self.run).load_model(&device)?;
        let data = config.test_split(None)?.head(self.limit);
        let space = self.threat.space(&config.input_domain()?, &data)?;
        let report = self.attack_rows(&model, &data, &space, &device)?;
        let eps = self.eps;
        let out = self
            .out
            .unwrap_or_else(|| self.run.join(format!("attack-{}-eps{eps}", report.attack)));
        write_json(&out.join("attack.json"), &report)?;
        println!(
            "{} ε={} ({}) on {} rows: clean accuracy {:.2}%, adversarial accuracy {:.2}%, success {:.2}%, mean perturbation {:.4}, {:.1}s on {spec}; written to {}",
            report.attack,
            eps,
            report.threat,
            report.n,
            100.0 * report.clean_accuracy,
            100.0 * report.adversarial_accuracy,
            100.0 * report.success_rate,
            report.mean_perturbation_norm,
            report.seconds,
            out.join("attack.json").display()
        );
        Ok(())
    }

    /// Checks the numeric flags, including those the chosen attack ignores, before any work.
    fn check(&self) -> Result<()> {
        crate::attacks::check_eps(self.eps)?;
        if let Some(k) = self.steps {
            check_count("steps", k, 1, MAX_STEPS)?;
        }
        if let Some(a) = self.step_size {
            crate::attacks::check_step_size("step-size", a)?;
            if a == 0.0 {
                return Err(AdversarialError::invalid("step-size", "0 must be positive"));
            }
        }
        check_count("restarts", self.restarts, 1, MAX_RESTARTS)?;
        for (name, v) in [("limit", self.limit), ("batch-size", Some(self.batch_size))] {
            if v == Some(0) {
                return Err(AdversarialError::invalid(name, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Builds the chosen attack from the flags and runs it over `data` with the chosen goal.
    fn attack_rows(
        &self,
        model: &Model,
        data: &Dataset,
        space: &ThreatSpace,
        device: &Device,
    ) -> Result<AttackReport> {
        let eps = self.eps;
        let plan = AttackPlan {
            goal: if self.targeted {
                GoalKind::Targeted
            } else {
                GoalKind::Untargeted
            },
            eps,
            batch_size: self.batch_size,
            space: Some(space),
        };
        // Every attack runs over the same rows with the same goal, batching and threat space.
        macro_rules! run {
            ($attack:expr) => {
                run_attack_in(model, $attack, data, &plan, device)?
            };
        }
        let (report, _) = match self.attack {
            AttackName::Fgsm => run!(&Fgsm::new(FgsmConfig::new(eps))?),
            AttackName::Pgd | AttackName::PgdL2 => run!(&Pgd::new(self.pgd_config())?),
            AttackName::ApgdCe | AttackName::ApgdDlr => {
                let loss = if matches!(self.attack, AttackName::ApgdCe) {
                    ApgdLoss::Ce
                } else {
                    ApgdLoss::Dlr
                };
                let c = ApgdConfig::new(eps).with_loss(loss).with_seed(self.seed);
                let steps = self.steps.unwrap_or(c.steps);
                run!(&Apgd::new(c.with_steps(steps))?)
            }
            AttackName::Cw => {
                let c = CwConfig::new().with_max_l2(Some(eps));
                let steps = self.steps.unwrap_or(c.steps);
                run!(&CwL2::new(c.with_steps(steps))?)
            }
            AttackName::Square => {
                let c = SquareConfig::new(eps).with_seed(self.seed);
                let queries = self.steps.unwrap_or(c.queries);
                run!(&Square::new(c.with_queries(queries))?)
            }
            AttackName::Mifgsm => {
                let mut c =
                    MiFgsmConfig::new(eps).with_step_size(self.step_size.unwrap_or(eps / 10.0));
                if let Some(k) = self.steps {
                    c = c.with_steps(k);
                }
                run!(&MiFgsm::new(c)?)
            }
        };
        Ok(report)
    }

    /// PGD in L∞ (`pgd`) or L2 (`pgd-l2`) with the flags' steps, step size, restarts and seed.
    fn pgd_config(&self) -> PgdConfig {
        let eps = self.eps;
        let norm = if matches!(self.attack, AttackName::Pgd) {
            Norm::Linf
        } else {
            Norm::L2
        };
        let mut c = PgdConfig::new(eps)
            .with_norm(norm)
            .with_restarts(self.restarts)
            .with_seed(self.seed);
        if let Some(k) = self.steps {
            c = c.with_steps(k);
        }
        // Default step: PgdConfig's (the 0.01) for L∞; 2.5·ε/steps for L2 (Madry's
        // heuristic).
        let k = c.steps;
        let step = if norm == Norm::L2 {
            2.5 * eps / k as f64
        } else {
            c.step_size
        };
        c.with_step_size(self.step_size.unwrap_or(step))
    }
}

/// The attacks `attack --attack` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AttackName {
    /// Fast gradient sign method.
    Fgsm,
    /// PGD in L∞.
    Pgd,
    /// PGD in L2.
    #[value(name = "pgd-l2")]
    PgdL2,
    /// Momentum iterative FGSM.
    Mifgsm,
    /// Auto-PGD with cross-entropy.
    #[value(name = "apgd-ce")]
    ApgdCe,
    /// Auto-PGD with the DLR loss.
    #[value(name = "apgd-dlr")]
    ApgdDlr,
    /// Square attack (score-based, no gradients).
    Square,
    /// Carlini-Wagner L2 (minimal norm; rows whose best example is farther than ε keep the
    /// clean input).
    Cw,
}
