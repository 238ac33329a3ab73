//! [`run_audit`]: checks the request before writing anything (the output folder, the run, its
//! weights), then runs every stage that is neither skipped nor inapplicable through its cache,
//! adds up the verdicts, and writes `audit.json` and `report.html`, each atomically, last.
//!
//! A bad request is an error before anything is written. A stage that fails (an error or a
//! panic inside it, see `guard.rs`) is a failed section, not a failed audit: its record says
//! `failed` with the message, nothing of it is cached, and every other stage still runs (no
//! stage reads another's result).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aegis_adversarial_trainer::ThreatSpace;
use aegis_model::io::{write_atomic, write_json};
use aegis_model::{DeviceSpec, LoadedRun};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{StageCache, StageStatus};
use super::config::{AuditSettings, Profile, Stage};
use super::guard::guarded;
use super::html::render_report;
use super::report::{AuditReport, BURN_VERSION, FORMAT, ModelInfo, StageRecord, Versions, rfc3339};
use super::stages::{
    StageContext, accuracy, calibration, certified, class_names, conformal, deferral, explain, ood,
    robustness,
};
use super::verdict::verdicts;
use crate::error::{AuditError, Result};

/// What `aegis audit` is asked.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    /// The run directory.
    pub run: PathBuf,
    /// The output folder (default `RUN/audit`).
    pub out: Option<PathBuf>,
    /// How thorough.
    pub profile: Profile,
    /// Stages not to run.
    pub skip: BTreeSet<Stage>,
    /// The device.
    pub device: DeviceSpec,
    /// Audit only the first N test rows.
    pub limit: Option<usize>,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

/// Where an audit wrote its files, and what it found.
#[derive(Debug)]
pub struct AuditOutcome {
    /// The output folder.
    pub out: PathBuf,
    /// `audit.json`'s content.
    pub report: AuditReport,
}

impl AuditOutcome {
    /// The records of the stages that failed (their `reason` holds the error), in stage order.
    pub fn failed(&self) -> Vec<&StageRecord> {
        self.report
            .stages
            .iter()
            .filter(|r| r.status == StageStatus::Failed)
            .collect()
    }
}

/// Refuses an output folder that is, or lies under, a file.
fn check_out(out: &Path) -> Result<()> {
    for a in out.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if a.exists() && !a.is_dir() {
            return Err(AuditError::invalid(
                "out",
                format!("{} is a file, not a folder", a.display()),
            ));
        }
    }
    Ok(())
}

/// The model's description for the report.
fn model_info(req: &AuditRequest, run: &LoadedRun, sha256: String) -> ModelInfo {
    ModelInfo {
        run: req.run.display().to_string(),
        sha256,
        architecture: format!("{:?}", run.config.model.architecture).to_lowercase(),
        imported_from: run
            .config
            .extensions
            .get("import")
            .and_then(|i| i.get("weights"))
            .and_then(|w| w.as_str())
            .map(str::to_string),
        data: run.config.data.source.to_string(),
        image: run.is_image(),
        input_shape: run.test.sample_shape.clone(),
        class_names: class_names(run),
        n_train: run.train.len(),
        n_test: run.config.data.split.n_test,
        device: req.device.to_string(),
    }
}

/// Runs the audit `req` describes; `on_stage` hears about each stage as it ends.
pub fn run_audit(
    req: &AuditRequest,
    on_stage: &mut dyn FnMut(&StageRecord),
) -> Result<AuditOutcome> {
    let out = req.out.clone().unwrap_or_else(|| req.run.join("audit"));
    check_out(&out)?;
    if req.limit == Some(0) {
        return Err(AuditError::invalid("limit", "must be at least 1"));
    }
    let mut run = LoadedRun::open(&req.run, req.device)?;
    let sha256 = run.dir.weights_sha256()?;
    if let Some(n) = req.limit {
        run.test = run.test.clone().head(Some(n));
    }
    if run.test.len() < 2 {
        return Err(AuditError::invalid(
            "run",
            "its test split has fewer than two rows",
        ));
    }
    let units = ThreatSpace::for_domain(&run.config.input_domain()?, None, None)?.units;
    let settings = AuditSettings::new(req.profile, run.test.len(), units);
    std::fs::create_dir_all(&out).map_err(|e| AuditError::io(&out, e))?;
    let mut report = AuditReport {
        format: FORMAT,
        created: String::new(),
        versions: Versions {
            aegis: env!("CARGO_PKG_VERSION").to_string(),
            burn: BURN_VERSION.to_string(),
            run_aegis: run.config.aegis_version.clone(),
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        },
        model: model_info(req, &run, sha256.clone()),
        settings: settings.clone(),
        stages: Vec::new(),
        verdicts: Vec::new(),
        accuracy: None,
        robustness: None,
        certified: None,
        calibration: None,
        conformal: None,
        ood: None,
        explain: None,
        deferral: None,
        seconds: 0.0,
    };
    let ctx = StageContext {
        run: &run,
        settings: &settings,
        progress: req.progress,
    };
    for stage in Stage::ALL {
        let started = std::time::Instant::now();
        let record = guarded(|| run_stage(stage, req, &ctx, &out, &sha256, &mut report))
            .unwrap_or_else(|error| StageRecord {
                stage,
                status: StageStatus::Failed,
                seconds: started.elapsed().as_secs_f64(),
                reason: Some(error),
            });
        on_stage(&record);
        report.seconds += record.seconds;
        report.stages.push(record);
    }
    report.verdicts = verdicts(&report);
    report.created = rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let value = serde_json::to_value(&report)
        .map_err(|e| AuditError::corrupt(&out, format!("cannot serialise the report: {e}")))?;
    let html = render_report(&report, &value, &out)?;
    write_json(&out.join("audit.json"), &report)?;
    write_atomic(&out.join("report.html"), html.as_bytes())?;
    Ok(AuditOutcome { out, report })
}

/// The cache key of a stage: its settings, the rows audited, the device.
#[derive(Serialize)]
struct Key<'a, S> {
    stage: &'a S,
    rows: usize,
    device: String,
}

/// Runs `compute` for `stage` through its cache (an error leaves nothing cached).
fn cached<S: Serialize, R: Serialize + DeserializeOwned>(
    stage: Stage,
    ctx: &StageContext,
    out: &Path,
    sha256: &str,
    settings: &S,
    complete: impl Fn(&Path, &R) -> bool,
    compute: impl FnOnce(&StageCache) -> Result<R>,
) -> Result<(R, StageRecord)> {
    let cache = StageCache::new(out, stage, sha256);
    let key = Key {
        stage: settings,
        rows: ctx.run.test.len(),
        device: ctx.run.spec.to_string(),
    };
    let (r, status, seconds) = cache.get_or_compute(&key, complete, |_| compute(&cache))?;
    Ok((
        r,
        StageRecord {
            stage,
            status,
            seconds,
            reason: None,
        },
    ))
}

/// Every cached result is complete (stages whose files matter say otherwise).
fn always<R>(_: &Path, _: &R) -> bool {
    true
}

/// Runs (or skips) one stage and stores its result in `report`.
fn run_stage(
    stage: Stage,
    req: &AuditRequest,
    ctx: &StageContext,
    out: &Path,
    sha: &str,
    report: &mut AuditReport,
) -> Result<StageRecord> {
    let skip = |reason: String| StageRecord {
        stage,
        status: StageStatus::Skipped,
        seconds: 0.0,
        reason: Some(reason),
    };
    if req.skip.contains(&stage) {
        return Ok(skip("skipped with --skip".into()));
    }
    let s = ctx.settings;
    Ok(match stage {
        Stage::Accuracy => {
            let (r, rec) = cached(stage, ctx, out, sha, &(), always, |_| accuracy::run(ctx))?;
            report.accuracy = Some(r);
            rec
        }
        Stage::Robustness => {
            let (r, rec) = cached(stage, ctx, out, sha, &s.robustness, always, |c| {
                robustness::run(ctx, c)
            })?;
            report.robustness = Some(r);
            rec
        }
        Stage::Certified => {
            if let Some(reason) = certified::not_applicable(ctx.run, &s.certified) {
                return Ok(skip(reason));
            }
            let (r, rec) = cached(stage, ctx, out, sha, &s.certified, always, |c| {
                certified::run(ctx, c)
            })?;
            report.certified = Some(r);
            rec
        }
        Stage::Calibration => {
            let (r, rec) = cached(stage, ctx, out, sha, &s.calibration, always, |c| {
                calibration::run(ctx, c)
            })?;
            report.calibration = Some(r);
            rec
        }
        Stage::Conformal => {
            let (r, rec) = cached(stage, ctx, out, sha, &s.conformal, always, |c| {
                conformal::run(ctx, c)
            })?;
            report.conformal = Some(r);
            rec
        }
        Stage::Ood => {
            if let Some(reason) = ood::not_applicable(ctx.run) {
                return Ok(skip(reason));
            }
            let (r, rec) = cached(stage, ctx, out, sha, &s.ood, always, |c| ood::run(ctx, c))?;
            report.ood = Some(r);
            rec
        }
        Stage::Explain => {
            let complete = |dir: &Path, r: &explain::ExplainResult| r.files_exist(dir);
            let (r, rec) = cached(stage, ctx, out, sha, &s.explain, complete, |c| {
                explain::run(ctx, c)
            })?;
            report.explain = Some(r);
            rec
        }
        Stage::Deferral => {
            let (r, rec) = cached(stage, ctx, out, sha, &s.deferral, always, |c| {
                deferral::run(ctx, c)
            })?;
            report.deferral = Some(r);
            rec
        }
    })
}
