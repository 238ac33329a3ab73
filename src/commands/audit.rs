//! `aegis audit`: audit a run (`--run DIR [--profile quick|standard] [--out DIR]
//! [--skip a,b]`) into `report.html` and `audit.json`, or compare two audits
//! (`--compare A B`) into `compare.html`.
//!
//! Exit codes: 0 every stage ran (or was skipped); 2 bad input, one line on stderr, nothing
//! written; [`EXIT_STAGE_FAILED`] (3) the report was written but a stage failed, one
//! `error: stage …` line per failed stage on stderr.

use std::path::PathBuf;

use aegis_model::DeviceSpec;

use crate::audit::html::doc::{Doc, format_value};
use crate::audit::{
    AuditRequest, Profile, StageRecord, StageStatus, compare_audits, parse_skip, run_audit,
};
use crate::error::{AuditError, Result};

/// The exit code of an audit that wrote its report but had a failed stage (2 stays bad input).
pub const EXIT_STAGE_FAILED: u8 = 3;

/// Flags of `audit`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 every stage ran or was skipped; 2 bad input (one line on stderr, nothing written); 3 a stage failed: report.html and audit.json are written, the failed section shows its error, the others are complete, and stderr has one line per failed stage (a rerun recomputes only the failed stages)."
)]
pub struct AuditArgs {
    /// Run directory (from `aegis-model train`, `import`, or adversarial `train`).
    #[arg(long, required_unless_present = "compare")]
    pub run: Option<PathBuf>,
    /// quick: under two minutes for SmallCnn on MNIST (cheap attack suite on 500 items, three
    /// radii, fewer splits); standard: the full evaluation (AutoAttack on every test item).
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: Profile,
    /// Output folder [default: RUN/audit; with --compare: A's folder].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stages not to run, comma-separated: accuracy, robustness, certified, calibration,
    /// conformal, ood, explain, deferral.
    #[arg(long, default_value = "")]
    pub skip: String,
    /// Audit only the first N test items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Compare two audits (folders holding audit.json) side by side → compare.html.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["run", "limit"])]
    pub compare: Vec<PathBuf>,
}

/// One line per finished stage.
fn print_stage(r: &StageRecord) {
    match r.status {
        StageStatus::Computed => println!("{:<12} computed in {:.1} s", r.stage.key(), r.seconds),
        StageStatus::Cached => println!(
            "{:<12} cached (computed earlier in {:.1} s)",
            r.stage.key(),
            r.seconds
        ),
        StageStatus::Skipped => println!(
            "{:<12} skipped: {}",
            r.stage.key(),
            r.reason.as_deref().unwrap_or("")
        ),
        StageStatus::Failed => println!(
            "{:<12} FAILED: {}",
            r.stage.key(),
            r.reason.as_deref().unwrap_or("")
        ),
    }
}

impl AuditArgs {
    /// Runs the audit (or the comparison) and prints each stage, the verdicts and the files.
    /// Returns the exit code: 0, or [`EXIT_STAGE_FAILED`] after one `error: stage …` line per
    /// failed stage on stderr (bad input is the `Err`).
    pub fn run(self, device: DeviceSpec) -> Result<u8> {
        let skip = parse_skip(&self.skip)?;
        if let [a, b] = self.compare.as_slice() {
            let path = compare_audits(a, b, self.out.as_deref())?;
            println!("comparison written to {}", path.display());
            return Ok(0);
        }
        let run = self
            .run
            .ok_or_else(|| AuditError::invalid("run", "give --run DIR or --compare A B"))?;
        let req = AuditRequest {
            run,
            out: self.out,
            profile: self.profile,
            skip,
            device,
            limit: self.limit,
            progress: true,
        };
        let outcome = run_audit(&req, &mut print_stage)?;
        let json = serde_json::to_value(&outcome.report).unwrap_or_default();
        let doc = Doc::new(&json);
        for v in &outcome.report.verdicts {
            let evidence: Vec<String> = v
                .evidence
                .iter()
                .map(|e| {
                    let label = e
                        .label_pointer
                        .as_deref()
                        .map_or(e.label.as_str(), |p| doc.str(p));
                    format!("{label} {}", format_value(doc.get(&e.pointer), e.fmt))
                })
                .collect();
            println!(
                "{:<5} {:<12} {} ({})",
                format!("{:?}", v.status).to_uppercase(),
                v.stage.key(),
                v.claim,
                evidence.join("; ")
            );
        }
        println!(
            "report written to {} and {}",
            outcome.out.join("report.html").display(),
            outcome.out.join("audit.json").display()
        );
        let failed = outcome.failed();
        for r in &failed {
            eprintln!(
                "error: stage {} failed: {}",
                r.stage.key(),
                r.reason.as_deref().unwrap_or("")
            );
        }
        Ok(if failed.is_empty() {
            0
        } else {
            EXIT_STAGE_FAILED
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Args;

    use super::AuditArgs;
    use crate::audit::Stage;

    #[test]
    fn skip_help_names_every_stage() {
        let cmd = AuditArgs::augment_args(clap::Command::new("audit"));
        let skip = cmd.get_arguments().find(|a| a.get_id() == "skip").unwrap();
        let help = skip.get_help().unwrap().to_string();
        for stage in Stage::ALL {
            assert!(
                help.contains(stage.key()),
                "--skip help lacks {}",
                stage.key()
            );
        }
    }
}
