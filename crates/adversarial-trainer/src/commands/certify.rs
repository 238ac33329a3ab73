//! `certify`: certified robustness of a run's test rows. `--method smoothing` runs randomized
//! smoothing's CERTIFY (Cohen, Rosenfeld & Kolter 2019; [`certify_rows`]) and writes
//! `certify.json` (per row: prediction or abstention, `p̲_A`, radius, seconds), `curve.csv` and
//! `curve.png` (certified accuracy against the L2 radius). `--shard K/N` certifies one slice of
//! the rows into `partial.json`; `--merge DIR…` joins the slices into the report an unsharded
//! run writes. `--method ibp|crown --eps E` verifies the model itself on the L∞ ball of radius
//! `E` by bound propagation (`certify_bounds.rs`: `bounds.json`, `bounds.csv`).

use std::path::{Path, PathBuf};

use aegis_model::DeviceSpec;
use serde::{Deserialize, Serialize};

use super::certify_bounds::{certify_run_bounds, print_bounds_report, write_bounds_report};
use super::opened::{OpenedRun, open_test_rows};
use crate::certified::bounds::{BoundMethod, BoundsConfig, IntermediateBounds};
use crate::certified::{
    CERTIFY_FILE, CertifyReport, PARTIAL_CERTIFY_FILE, PartialCertification, SmoothingConfig,
    certify_rows, merge_certifications, read_partial_certification, summarize,
    write_certify_report, write_partial_certification,
};
use crate::error::{AdversarialError, Result};
use crate::evaluation::{Shard, merged_out_dir};

/// What `certify` proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CertifyMethod {
    /// Randomized smoothing (Cohen et al. 2019): L2 radii of the smoothed classifier, each
    /// holding with probability at least 1 − α.
    Smoothing,
    /// Interval bound propagation (Gowal et al. 2018): L∞ verification of the model itself.
    Ibp,
    /// CROWN (Zhang et al. 2018): L∞ verification by backward linear relaxation.
    Crown,
}

/// Flags of `certify`.
#[derive(clap::Args, Debug)]
pub struct CertifyArgs {
    /// Run directory.
    #[arg(long, required_unless_present = "merge")]
    pub run: Option<PathBuf>,
    /// smoothing: randomized smoothing's CERTIFY; ibp, crown: bound propagation.
    #[arg(long, value_enum, required_unless_present = "merge")]
    pub method: Option<CertifyMethod>,
    /// Noise standard deviation σ (raw input units, in [1e-6, 1e6]; smoothing).
    #[arg(long, default_value_t = 0.25)]
    pub sigma: f64,
    /// Selection samples n0, at most 10,000,000 (smoothing).
    #[arg(long, default_value_t = 100)]
    pub n0: usize,
    /// Estimation samples n, at most 10,000,000 (smoothing).
    #[arg(long, default_value_t = 100_000)]
    pub n: usize,
    /// Failure probability α of each certificate, in [1e-12, 0.5] (smoothing).
    #[arg(long, default_value_t = 0.001)]
    pub alpha: f64,
    /// Noisy copies of a row per forward batch (smoothing; GPUs prefer more). Recorded with
    /// the settings: a matrix product may round differently at another batch size.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Seed of the per-row noise streams (smoothing).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// L∞ radius in raw input units, a finite number ≥ 0 (ibp, crown; required there): the
    /// ball is clipped to the run's input domain.
    #[arg(long)]
    pub eps: Option<f64>,
    /// CROWN's bounds on the layers before the last: crown (tightest) or ibp (CROWN-IBP,
    /// cheaper on wide convolutional networks).
    #[arg(long, value_enum, default_value = "crown")]
    pub intermediate: IntermediateBounds,
    /// Certify only the first N test rows.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Certify only the K-th of N contiguous slices of the rows (after `--limit`) and write
    /// `partial.json` [default out: DIR/certify/smoothing-sigma<σ>/shard-K-of-N]; merge the
    /// slices with `--merge`.
    /// Results do not depend on N.
    #[arg(long, conflicts_with = "merge")]
    pub shard: Option<Shard>,
    /// Join the `partial.json` of these folders (or files) into the report an unsharded run
    /// writes [default out: the first folder's parent].
    #[arg(long, num_args = 1.., conflicts_with_all = ["run", "shard", "method"])]
    pub merge: Vec<PathBuf>,
    /// Output folder [default: DIR/certify/smoothing-sigma<σ>; ibp, crown:
    /// DIR/certify/<method>-eps<ε>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CertifyArgs {
    /// Certifies the run's test rows (the first `--limit`), writes the report files and
    /// prints the certified accuracy at a few radii.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        if !self.merge.is_empty() {
            return self.merge();
        }
        let cfg = self.config();
        cfg.validate()?;
        if self.limit == Some(0) {
            return Err(AdversarialError::invalid("limit", "must be at least 1"));
        }
        match self.method {
            Some(CertifyMethod::Smoothing) => {}
            Some(CertifyMethod::Ibp) => return self.bounds(BoundMethod::Ibp, device),
            Some(CertifyMethod::Crown) => return self.bounds(BoundMethod::Crown, device),
            None => return Err(AdversarialError::invalid("method", "is required")),
        }
        let OpenedRun {
            run,
            run_dir,
            model,
            data,
            device,
            ..
        } = self.open(device)?;
        let sha = run_dir.weights_sha256()?;
        let out = self.out.clone().unwrap_or_else(|| {
            run.join("certify")
                .join(format!("smoothing-sigma{}", cfg.sigma))
        });
        let Some(shard) = self.shard else {
            let rows = certify_rows(&model, &data, 0, &cfg, &device, true)?;
            let report = summarize(rows, cfg, sha);
            write_certify_report(&report, &out)?;
            print_report(&report, &out);
            return Ok(());
        };
        let range = shard.rows(data.len());
        let indices: Vec<usize> = range.clone().collect();
        let rows = certify_rows(
            &model,
            &data.select(&indices),
            range.start,
            &cfg,
            &device,
            true,
        )?;
        let partial = PartialCertification {
            shard,
            range: (range.start, range.end),
            total_rows: data.len(),
            model_sha256: sha,
            config: cfg,
            rows,
        };
        let dir = match &self.out {
            Some(dir) => dir.clone(),
            None => out.join(format!("shard-{}-of-{}", shard.index, shard.count)),
        };
        write_partial_certification(&partial, &dir)?;
        println!(
            "shard {}/{}: rows {}..{} of {} certified; written to {}",
            shard.index,
            shard.count,
            range.start,
            range.end,
            data.len(),
            dir.join(PARTIAL_CERTIFY_FILE).display()
        );
        Ok(())
    }

    /// `--method ibp|crown`: bounds the margins of the run's test rows (the first `--limit`),
    /// writes `bounds.json` / `bounds.csv` and prints the verified accuracy.
    fn bounds(&self, method: BoundMethod, device: DeviceSpec) -> Result<()> {
        let eps = self.eps.ok_or_else(|| {
            AdversarialError::invalid("eps", "is required with --method ibp or crown")
        })?;
        if self.shard.is_some() {
            return Err(AdversarialError::invalid(
                "shard",
                "applies to smoothing; bound propagation is deterministic, use --limit",
            ));
        }
        let config = BoundsConfig::new(eps)
            .with_method(method)
            .with_intermediate(self.intermediate);
        let OpenedRun {
            run,
            run_dir,
            model,
            config: run_config,
            data,
            device,
        } = self.open(device)?;
        let sha = run_dir.weights_sha256()?;
        let domain = run_config.input_domain()?;
        let report = certify_run_bounds(&model, &data, &domain, &config, sha, &device)?;
        let label = if method == BoundMethod::Ibp {
            "ibp"
        } else {
            "crown"
        };
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| run.join("certify").join(format!("{label}-eps{eps}")));
        write_bounds_report(&report, &out)?;
        print_bounds_report(&report, &out);
        Ok(())
    }

    /// Opens `--run` on `device` with its first `--limit` test rows.
    fn open(&self, device: DeviceSpec) -> Result<OpenedRun> {
        let run = self
            .run
            .as_deref()
            .expect("clap requires --run without --merge");
        open_test_rows(run, self.limit, device)
    }

    /// The smoothing settings of the flags.
    pub fn config(&self) -> SmoothingConfig {
        SmoothingConfig::new()
            .with_sigma(self.sigma)
            .with_n0(self.n0)
            .with_n(self.n)
            .with_alpha(self.alpha)
            .with_batch_size(self.batch_size)
            .with_seed(self.seed)
    }

    /// Merges the shards of `--merge` and writes the full report.
    fn merge(&self) -> Result<()> {
        let parts = self
            .merge
            .iter()
            .map(|p| read_partial_certification(p))
            .collect::<Result<Vec<_>>>()?;
        let report = merge_certifications(parts)?;
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| merged_out_dir(&self.merge[0]));
        write_certify_report(&report, &out)?;
        print_report(&report, &out);
        Ok(())
    }
}

/// Prints the smoothed accuracy, the abstentions, the certified accuracy at multiples of σ/2
/// and where the files are.
fn print_report(report: &CertifyReport, out: &Path) {
    let c = &report.config;
    println!(
        "randomized smoothing σ={} n0={} n={} α={} on {} rows: smoothed accuracy {:.2}%, \
         abstained {:.2}%, largest certifiable radius {:.3} ({:.1}s)",
        c.sigma,
        c.n0,
        c.n,
        c.alpha,
        report.n,
        100.0 * report.smoothed_accuracy,
        100.0 * report.abstain_rate,
        report.max_radius,
        report.seconds
    );
    let every = crate::certified::curve::STEPS_PER_SIGMA / 2;
    for p in report.curve.iter().step_by(every) {
        println!(
            "  certified accuracy at L2 radius {:<6} {:6.2}%",
            p.radius,
            100.0 * p.certified_accuracy
        );
    }
    println!(
        "written to {}/{CERTIFY_FILE}, curve.csv, curve.png",
        out.display()
    );
}
