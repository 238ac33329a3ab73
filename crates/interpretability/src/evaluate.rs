//! The quality report of the `evaluate` command: are the explanations of a run faithful?
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

use std::time::Instant;

use aegis_model::burn::config::Config;
use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use aegis_model::predict;
use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, check_positive, progress_bar};
use crate::deletion::{Curve, CurveConfig, CurveKind, perturbation_curve, random_scores};
use crate::error::Result;
use crate::infidelity::{InfidelityConfig, infidelity};
use crate::integrated_gradients::{Baseline, IgConfig, IntegratedGradients, convergence_fraction};
use crate::job::perturbation_baseline;
use crate::randomization::{RandomizationStage, parameter_randomization};
use crate::saliency::{Saliency, SaliencyConfig};
use crate::sensitivity::{SensitivityConfig, sensitivity_max};
use aegis_model::LoadedRun;

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

/// Computes the quality report of `run`, writes `evaluation.json`, `curves.png` and `config.json`
/// into `out` when given; `progress` shows a bar over the phases on stderr.
pub fn evaluate_quality(
    run: &LoadedRun,
    config: &EvaluateConfig,
    out: Option<&std::path::Path>,
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
    let curves = |scores: &[f32]| -> Result<(Curve, Curve)> {
        Ok((
            perturbation_curve(
                &run.model,
                x,
                &targets,
                scores,
                CurveKind::Deletion,
                &curve_cfg,
                device,
            )?,
            perturbation_curve(
                &run.model,
                x,
                &targets,
                scores,
                CurveKind::Insertion,
                &curve_cfg,
                device,
            )?,
        ))
    };
    say("random-order curves");
    let (random_deletion, random_insertion) = curves(&random_scores(n, f, config.seed))?;
    let ns = config.sensitivity_rows.min(n);
    let mut methods = Vec::new();
    let mut ig_fraction = 0.0;
    for which in 0..2 {
        let (name, attr) = if which == 0 {
            say("saliency");
            (
                saliency.name(),
                saliency.attribute(&run.model, x, &targets, device)?,
            )
        } else {
            say("integrated gradients");
            let a = ig.attribute(&run.model, x, &targets, device)?;
            ig_fraction = convergence_fraction(&a, 0.01).unwrap_or(0.0);
            (ig.name(), a)
        };
        let (deletion, insertion) = curves(&attr.values)?;
        say(&format!("{name}: infidelity"));
        let infid = infidelity(
            &run.model,
            x,
            &targets,
            &attr.values,
            &config.infidelity,
            device,
        )?;
        say(&format!("{name}: max-sensitivity"));
        let sens = if which == 0 {
            sensitivity_max(
                &saliency,
                &run.model,
                &x[..ns * f],
                &targets[..ns],
                &config.sensitivity,
                device,
            )?
        } else {
            sensitivity_max(
                &ig,
                &run.model,
                &x[..ns * f],
                &targets[..ns],
                &config.sensitivity,
                device,
            )?
        };
        methods.push(MethodQuality {
            method: name,
            deletion,
            insertion,
            infidelity: infid.mean,
            sensitivity_max: sens.mean,
        });
    }
    let nr = config.randomization_rows.min(n);
    say("parameter randomisation");
    let gradient = Saliency::new(SaliencyConfig::new().with_abs(false))?;
    let randomization = vec![
        RandomizationResult {
            method: "gradient".into(),
            stages: parameter_randomization(
                &gradient,
                &run.model,
                &x[..nr * f],
                &targets[..nr],
                config.seed,
                device,
            )?,
        },
        RandomizationResult {
            method: ig.name(),
            stages: parameter_randomization(
                &ig,
                &run.model,
                &x[..nr * f],
                &targets[..nr],
                config.seed,
                device,
            )?,
        },
    ];
    bar.finish_and_clear();
    let mut checks = Vec::new();
    for m in &methods {
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
    for r in &randomization {
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
        write_json(&out.join("evaluation.json"), &report)?;
    }
    Ok(report)
}
