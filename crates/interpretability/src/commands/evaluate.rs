//! The `evaluate` command: the quality report of a run's explanations. Are they faithful?
//!
//! On the first `rows` test rows, explaining the predicted class:
//! - deletion and insertion AUC (probability of the class) for saliency (`|∇|`) and integrated
//!   gradients (Gauss–Legendre), against the same curves in a seeded random order;
//! - IG convergence: the fraction of rows with `|δ| < 1% · |f(x) − f(x′)|`;
//! - infidelity (Yeh et al. 2019) of both methods, and max-sensitivity on the first
//!   `sensitivity_rows` rows;
//! - the cascading parameter-randomisation test (Adebayo et al. 2018) for the signed gradient
//!   and IG on the first `randomization_rows` rows;
//! - checks comparing them: each passes or fails, with the numbers.
//!
//! Baselines: 0 for images, the training means for tabular data (IG and deletion).
//! Writes `evaluation.json`, `curves.png` and `config.json`, atomically.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::burn::config::Config;
use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use aegis_model::{DeviceSpec, LoadedRun, predict};
use serde::{Deserialize, Serialize};

use super::args::default_out;
use crate::attribution::{Attribution, Attributions, check_positive, progress_bar};
use crate::error::Result;
use crate::gradient::{
    Baseline, IgConfig, IntegratedGradients, Saliency, SaliencyConfig, convergence_fraction,
};
use crate::perturbation::perturbation_baseline;
use crate::quality::{
    Curve, CurveConfig, CurveKind, InfidelityConfig, RandomizationStage, SensitivityConfig,
    infidelity, parameter_randomization, perturbation_curve, random_scores, sensitivity_max,
};

/// The flags of `evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Test rows for curves, convergence and infidelity.
    #[arg(long, default_value_t = 100)]
    pub rows: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    // `--help` shows this line as written; rustdoc would read `<run>` as an HTML tag.
    #[allow(rustdoc::invalid_html_tags)]
    /// Output folder [default: runs/<run>-evaluate].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl EvaluateArgs {
    /// Opens the run on `device`, computes the report with [`evaluate_quality`] (with a progress
    /// bar) and prints its numbers and checks.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let EvaluateArgs {
            run,
            rows,
            seed,
            out,
        } = self;
        let out = out.unwrap_or_else(|| default_out(&run, "evaluate"));
        let loaded = LoadedRun::open(&run, device)?;
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
        Ok(())
    }
}

/// Settings of the quality report.
#[derive(Config, Debug)]
pub struct EvaluateConfig {
    /// Test rows for the curves, IG convergence and infidelity.
    #[config(default = 100)]
    pub rows: usize,
    /// Test rows for max-sensitivity (it explains `samples` copies of each row).
    #[config(default = 20)]
    pub sensitivity_rows: usize,
    /// Test rows for the parameter-randomisation test.
    #[config(default = 20)]
    pub randomization_rows: usize,
    /// IG quadrature points.
    #[config(default = 50)]
    pub ig_steps: usize,
    /// Deletion / insertion curve settings (the baseline is set from the data).
    #[config(default = "CurveConfig::new()")]
    pub curve: CurveConfig,
    /// Infidelity settings.
    #[config(default = "InfidelityConfig::new()")]
    pub infidelity: InfidelityConfig,
    /// Max-sensitivity settings.
    #[config(default = "SensitivityConfig::new()")]
    pub sensitivity: SensitivityConfig,
    /// Seed of the random order and of the randomised weights.
    #[config(default = 0)]
    pub seed: u64,
}

/// The numbers of one attribution method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodQuality {
    /// Method name.
    pub method: String,
    /// Deletion curve (lower AUC is better).
    pub deletion: Curve,
    /// Insertion curve (higher AUC is better).
    pub insertion: Curve,
    /// Mean infidelity (lower is better).
    pub infidelity: f64,
    /// Mean max-sensitivity (lower is better).
    pub sensitivity_max: f64,
}

/// One comparison of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QualityCheck {
    /// What is checked.
    pub name: String,
    /// Whether it holds.
    pub passed: bool,
    /// The numbers.
    pub detail: String,
}

/// Parameter-randomisation stages of one method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomizationResult {
    /// Method name.
    pub method: String,
    /// Stages, output layer first.
    pub stages: Vec<RandomizationStage>,
}

/// `evaluation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QualityReport {
    /// Rows used for curves and infidelity.
    pub rows: usize,
    /// Saliency and IG.
    pub methods: Vec<MethodQuality>,
    /// Random-order deletion curve.
    pub random_deletion: Curve,
    /// Random-order insertion curve.
    pub random_insertion: Curve,
    /// Fraction of rows whose IG convergence delta is under 1% of the output difference.
    pub ig_convergence_fraction: f64,
    /// Cascading randomisation.
    pub randomization: Vec<RandomizationResult>,
    /// Comparisons.
    pub checks: Vec<QualityCheck>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

fn check(name: &str, passed: bool, detail: String) -> QualityCheck {
    QualityCheck {
        name: name.into(),
        passed,
        detail,
    }
}

/// The explained rows every metric of the report shares: the first `rows` test rows, their
/// predicted classes, and the deletion / insertion settings with the data's baseline.
struct Explained<'a> {
    run: &'a LoadedRun,
    x: &'a [f32],
    targets: &'a [usize],
    f: usize,
    curve: &'a CurveConfig,
    device: &'a Device,
}

/// Computes the quality report of `run`, writes `evaluation.json`, `curves.png` and `config.json`
/// into `out` when given; `progress` shows a bar over the phases on stderr.
pub fn evaluate_quality(
    run: &LoadedRun,
    config: &EvaluateConfig,
    out: Option<&Path>,
    progress: bool,
    device: &Device,
) -> Result<QualityReport> {
    check_positive("rows", config.rows)?;
    check_positive("sensitivity_rows", config.sensitivity_rows)?;
    check_positive("randomization_rows", config.randomization_rows)?;
    let started = Instant::now();
    let bar = progress_bar(progress, 8, "checks");
    let say = |s: &str| {
        bar.set_message(s.to_string());
        bar.inc(1);
    };
    let test = run.test.clone().head(Some(config.rows));
    let (n, f) = (test.len(), test.dim());
    let x = &test.features;
    let targets = predict(&run.model, x, 1024, device);
    let baseline = perturbation_baseline(run);
    let curve_cfg = config.curve.clone().with_baseline(baseline.clone());
    let saliency = Saliency::new(SaliencyConfig::new())?;
    let mut ig_cfg = IgConfig::new().with_steps(config.ig_steps);
    if !run.is_image() {
        ig_cfg = ig_cfg.with_baseline(Baseline::Custom { values: baseline });
    }
    let ig = IntegratedGradients::new(ig_cfg)?;
    let rows = Explained {
        run,
        x,
        targets: &targets,
        f,
        curve: &curve_cfg,
        device,
    };
    say("random-order curves");
    let (random_deletion, random_insertion) =
        deletion_insertion(&rows, &random_scores(n, f, config.seed))?;
    say("saliency");
    let attr = saliency.attribute(&run.model, x, &targets, device)?;
    let saliency_quality = method_quality(&saliency, attr, &rows, config, &say)?;
    say("integrated gradients");
    let attr = ig.attribute(&run.model, x, &targets, device)?;
    let ig_fraction = convergence_fraction(&attr, 0.01).unwrap_or(0.0);
    let ig_quality = method_quality(&ig, attr, &rows, config, &say)?;
    let methods = vec![saliency_quality, ig_quality];
    say("parameter randomisation");
    let randomization = randomization_tests(&ig, &rows, config)?;
    bar.finish_and_clear();
    let checks = quality_checks(
        &methods,
        (&random_deletion, &random_insertion),
        ig_fraction,
        n,
        &randomization,
    );
    let report = QualityReport {
        rows: n,
        methods,
        random_deletion,
        random_insertion,
        ig_convergence_fraction: ig_fraction,
        randomization,
        checks,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(out) = out {
        write_report(&report, config, out)?;
    }
    Ok(report)
}

/// The deletion and insertion curves of the explained rows when features go in the order of
/// `scores` (`[N, F]`).
fn deletion_insertion(rows: &Explained, scores: &[f32]) -> Result<(Curve, Curve)> {
    Ok((
        perturbation_curve(
            &rows.run.model,
            rows.x,
            rows.targets,
            scores,
            CurveKind::Deletion,
            rows.curve,
            rows.device,
        )?,
        perturbation_curve(
            &rows.run.model,
            rows.x,
            rows.targets,
            scores,
            CurveKind::Insertion,
            rows.curve,
            rows.device,
        )?,
    ))
}

/// The numbers of one method from its attributions `attr` of the explained rows: deletion and
/// insertion curves, infidelity, then max-sensitivity on the first `sensitivity_rows` rows.
fn method_quality<A: Attribution>(
    method: &A,
    attr: Attributions,
    rows: &Explained,
    config: &EvaluateConfig,
    say: &impl Fn(&str),
) -> Result<MethodQuality> {
    let name = method.name();
    let (deletion, insertion) = deletion_insertion(rows, &attr.values)?;
    say(&format!("{name}: infidelity"));
    let infid = infidelity(
        &rows.run.model,
        rows.x,
        rows.targets,
        &attr.values,
        &config.infidelity,
        rows.device,
    )?;
    say(&format!("{name}: max-sensitivity"));
    let ns = config.sensitivity_rows.min(rows.targets.len());
    let sens = sensitivity_max(
        method,
        &rows.run.model,
        &rows.x[..ns * rows.f],
        &rows.targets[..ns],
        &config.sensitivity,
        rows.device,
    )?;
    Ok(MethodQuality {
        method: name,
        deletion,
        insertion,
        infidelity: infid.mean,
        sensitivity_max: sens.mean,
    })
}

/// The cascading parameter-randomisation test of the signed gradient and of `ig` on the first
/// `randomization_rows` explained rows.
fn randomization_tests(
    ig: &IntegratedGradients,
    rows: &Explained,
    config: &EvaluateConfig,
) -> Result<Vec<RandomizationResult>> {
    let nr = config.randomization_rows.min(rows.targets.len());
    let (x, targets) = (&rows.x[..nr * rows.f], &rows.targets[..nr]);
    let gradient = Saliency::new(SaliencyConfig::new().with_abs(false))?;
    Ok(vec![
        RandomizationResult {
            method: "gradient".into(),
            stages: parameter_randomization(
                &gradient,
                &rows.run.model,
                x,
                targets,
                config.seed,
                rows.device,
            )?,
        },
        RandomizationResult {
            method: ig.name(),
            stages: parameter_randomization(
                ig,
                &rows.run.model,
                x,
                targets,
                config.seed,
                rows.device,
            )?,
        },
    ])
}

/// The comparisons of the report: each method's curves against the random order (`random`:
/// deletion, insertion), IG convergence on ≥ 95% of the `n` rows, and decorrelation after
/// randomising every layer.
fn quality_checks(
    methods: &[MethodQuality],
    random: (&Curve, &Curve),
    ig_fraction: f64,
    n: usize,
    randomization: &[RandomizationResult],
) -> Vec<QualityCheck> {
    let (random_deletion, random_insertion) = random;
    let mut checks = Vec::new();
    for m in methods {
        checks.push(check(
            &format!("{} deletion AUC below random order", m.method),
            m.deletion.auc < random_deletion.auc,
            format!("{:.4} vs {:.4}", m.deletion.auc, random_deletion.auc),
        ));
        checks.push(check(
            &format!("{} insertion AUC above random order", m.method),
            m.insertion.auc > random_insertion.auc,
            format!("{:.4} vs {:.4}", m.insertion.auc, random_insertion.auc),
        ));
    }
    checks.push(check(
        "IG |convergence delta| < 1% of |f(x) − f(x′)| on ≥ 95% of rows",
        ig_fraction >= 0.95,
        format!("{:.1}% of {n} rows", 100.0 * ig_fraction),
    ));
    for r in randomization {
        if let Some(last) = r.stages.last() {
            checks.push(check(
                &format!(
                    "{}: Spearman (signed) after randomising every layer < 0.5",
                    r.method
                ),
                last.spearman_signed < 0.5,
                format!("{:.3}", last.spearman_signed),
            ));
            checks.push(check(
                &format!(
                    "{}: Spearman (absolute values) after randomising every layer < 0.5",
                    r.method
                ),
                last.spearman_abs < 0.5,
                format!("{:.3}", last.spearman_abs),
            ));
        }
    }
    checks
}

/// Writes `curves.png` (every deletion / insertion curve of the report), `config.json` and
/// `evaluation.json` into `out`.
fn write_report(report: &QualityReport, config: &EvaluateConfig, out: &Path) -> Result<()> {
    let mut series = Vec::new();
    for (name, c) in report
        .methods
        .iter()
        .flat_map(|m| {
            [
                (format!("{} deletion", m.method), &m.deletion),
                (format!("{} insertion", m.method), &m.insertion),
            ]
        })
        .chain([
            ("random deletion".to_string(), &report.random_deletion),
            ("random insertion".to_string(), &report.random_insertion),
        ])
    {
        series.push(Series {
            name,
            points: c
                .fractions
                .iter()
                .copied()
                .zip(c.mean.iter().copied())
                .collect(),
        });
    }
    line_chart(
        &out.join("curves.png"),
        "deletion / insertion",
        "fraction of features",
        "P(predicted class)",
        &series,
        Some((0.0, 1.0)),
    )?;
    write_json(&out.join("config.json"), config)?;
    write_json(&out.join("evaluation.json"), report)?;
    Ok(())
}
