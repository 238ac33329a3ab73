//! Stage `explain`: integrated gradients and SmoothGrad of three groups of audited rows (the
//! most confident correct predictions, the most confident mistakes, the least confident
//! predictions), as heatmaps for images (the crate's `heatmap_overlay`, `heatmaps/*.png`) and
//! as the largest feature attributions for tables; then the crate's explanation-quality report
//! (`evaluate_quality`: deletion and insertion curves against a random order, IG convergence,
//! the cascading parameter-randomisation test) → `evaluation.json`, `curves.png`.

use std::path::Path;

use aegis_interpretability::{
    Attribution, Attributions, Baseline, EvaluateConfig as QualityConfig, IgConfig,
    IntegratedGradients, SmoothGrad, SmoothGradConfig, evaluate_quality, heatmap_overlay,
    perturbation_baseline,
};
use aegis_model::predict_proba;
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// Features listed per explained tabular row.
const TOP_FEATURES: usize = 8;

/// One feature of an explained tabular row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureAttribution {
    /// Feature name.
    pub name: String,
    /// Its value in the row.
    pub value: f64,
    /// Integrated-gradients attribution.
    pub ig: f64,
    /// SmoothGrad attribution.
    pub smoothgrad: f64,
}

/// One explained row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainedItem {
    /// `most-confident`, `misclassified` or `least-confident`.
    pub group: String,
    /// Index in the audited test rows.
    pub index: usize,
    /// True class name.
    pub label: String,
    /// Predicted class name (the explained class).
    pub predicted: String,
    /// Top-class probability.
    pub confidence: f64,
    /// IG completeness: `|Σ attributions − (f(x) − f(x′))| / |f(x) − f(x′)|`.
    pub ig_relative_delta: Option<f64>,
    /// Images: the IG heatmap, relative to the stage folder.
    pub ig_png: Option<String>,
    /// Images: the SmoothGrad heatmap, relative to the stage folder.
    pub smoothgrad_png: Option<String>,
    /// Tables: the features of largest |IG|, largest first.
    pub features: Vec<FeatureAttribution>,
}

/// A mean deletion curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletionCurve {
    /// Which order the features were deleted in (a method, or `random order`).
    pub method: String,
    /// Fractions of features deleted.
    pub fractions: Vec<f64>,
    /// Mean probability of the predicted class after deleting each fraction.
    pub mean: Vec<f64>,
    /// Area under the curve (lower is more faithful).
    pub auc: f64,
}

/// One check of the quality report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainCheck {
    /// What is checked.
    pub name: String,
    /// Whether it holds.
    pub passed: bool,
    /// The numbers, in words.
    pub detail: String,
}

/// One stage of the parameter-randomisation test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomizationRow {
    /// The method.
    pub method: String,
    /// The last layer randomised (output first).
    pub layer: String,
    /// Layers randomised so far.
    pub layers: usize,
    /// Spearman correlation of the signed maps with the trained model's.
    pub spearman_signed: f64,
    /// The same for absolute values.
    pub spearman_abs: f64,
}

/// What the stage measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainResult {
    /// The data is images (heatmaps) rather than a table (feature lists).
    pub image: bool,
    /// Explained rows, grouped.
    pub items: Vec<ExplainedItem>,
    /// Rows of the deletion curves and IG convergence.
    pub quality_rows: usize,
    /// Rows of the randomisation test.
    pub randomization_rows: usize,
    /// Deletion curves of saliency and IG, then the random order.
    pub deletion: Vec<DeletionCurve>,
    /// Fraction of rows whose IG convergence delta is under 1% of `f(x) − f(x′)`.
    pub ig_convergence_fraction: f64,
    /// The cascading randomisation, per method and stage.
    pub randomization: Vec<RandomizationRow>,
    /// The crate's checks (deletion and insertion against random, convergence,
    /// randomisation).
    pub checks: Vec<ExplainCheck>,
}

impl ExplainResult {
    /// Whether every heatmap the result names exists under `dir` (else it is recomputed).
    pub fn files_exist(&self, dir: &Path) -> bool {
        self.items
            .iter()
            .flat_map(|i| [&i.ig_png, &i.smoothgrad_png])
            .flatten()
            .all(|f| dir.join(f).is_file())
    }
}

/// The rows to explain: `(group, index, predicted, confidence)`, `k` per group, no row twice.
fn pick_items(
    probs: &[f32],
    labels: &[usize],
    c: usize,
    k: usize,
) -> Vec<(String, usize, usize, f64)> {
    let rows: Vec<(usize, usize, f64)> = probs
        .chunks(c)
        .enumerate()
        .map(|(i, p)| {
            let (pred, top) =
                p.iter().enumerate().fold(
                    (0, f32::NEG_INFINITY),
                    |a, (j, &v)| {
                        if v > a.1 { (j, v) } else { a }
                    },
                );
            (i, pred, top as f64)
        })
        .collect();
    let mut by_conf = rows.clone();
    by_conf.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(String, usize, usize, f64)> = Vec::new();
    let mut take = |group: &str, it: &mut dyn Iterator<Item = &(usize, usize, f64)>| {
        let mut n = 0;
        for &(i, p, conf) in it {
            if n == k {
                break;
            }
            if chosen.iter().all(|x| x.1 != i) {
                chosen.push((group.to_string(), i, p, conf));
                n += 1;
            }
        }
    };
    take(
        "most-confident",
        &mut by_conf.iter().filter(|r| r.1 == labels[r.0]),
    );
    take(
        "misclassified",
        &mut by_conf.iter().filter(|r| r.1 != labels[r.0]),
    );
    take("least-confident", &mut by_conf.iter().rev());
    chosen
}

/// IG and SmoothGrad of the chosen rows toward their predicted classes.
fn attribute(
    ctx: &StageContext,
    x: &[f32],
    targets: &[usize],
) -> Result<(Attributions, Attributions)> {
    let run = ctx.run;
    let s = &ctx.settings.explain;
    let mut ig_cfg = IgConfig::new().with_steps(s.ig_steps);
    if !run.is_image() {
        ig_cfg = ig_cfg.with_baseline(Baseline::Custom {
            values: perturbation_baseline(run),
        });
    }
    let ig = IntegratedGradients::new(ig_cfg)?.attribute(&run.model, x, targets, &run.device)?;
    let sg = SmoothGrad::new(
        SmoothGradConfig::new()
            .with_samples(s.smoothgrad_samples)
            .with_seed(s.seed),
    )?
    .attribute(&run.model, x, targets, &run.device)?;
    Ok((ig, sg))
}

/// The largest |IG| features of row `r`.
fn top_features(names: &[String], x: &[f32], ig: &[f32], sg: &[f32]) -> Vec<FeatureAttribution> {
    let mut order: Vec<usize> = (0..ig.len()).collect();
    order.sort_by(|&a, &b| ig[b].abs().total_cmp(&ig[a].abs()).then(a.cmp(&b)));
    order
        .into_iter()
        .take(TOP_FEATURES)
        .map(|j| FeatureAttribution {
            name: names[j].clone(),
            value: x[j] as f64,
            ig: ig[j] as f64,
            smoothgrad: sg[j] as f64,
        })
        .collect()
}

/// Explains the chosen rows: heatmaps (images) or feature lists (tables).
fn explain_items(ctx: &StageContext, dir: &Path) -> Result<Vec<ExplainedItem>> {
    let run = ctx.run;
    let c = run.test.num_classes;
    let probs = predict_proba(
        &run.model,
        &run.test.features,
        aegis_model::DEFAULT_BATCH_ROWS,
        &run.device,
    );
    let chosen = pick_items(
        &probs,
        &run.test.labels,
        c,
        ctx.settings.explain.items_per_group,
    );
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let f = run.test.dim();
    let x: Vec<f32> = chosen
        .iter()
        .flat_map(|ch| run.test.row(ch.1).to_vec())
        .collect();
    let targets: Vec<usize> = chosen.iter().map(|ch| ch.2).collect();
    let (ig, sg) = attribute(ctx, &x, &targets)?;
    let names = ctx.class_names();
    let features = run.feature_names();
    let shape = &run.test.sample_shape;
    let scale = (160 / shape.last().copied().unwrap_or(1).max(1)).max(1) as u32;
    let mut items = Vec::new();
    for (r, (group, index, pred, conf)) in chosen.into_iter().enumerate() {
        let xr = &x[r * f..(r + 1) * f];
        let (igr, sgr) = (ig.row(r), sg.row(r));
        let mut item = ExplainedItem {
            label: names[run.test.labels[index]].clone(),
            predicted: names[pred].clone(),
            ig_relative_delta: match (&ig.convergence_delta, &ig.output_difference) {
                (Some(d), Some(o)) => Some((d[r].abs() / o[r].abs().max(1e-12)) as f64),
                _ => None,
            },
            ig_png: None,
            smoothgrad_png: None,
            features: Vec::new(),
            group,
            index,
            confidence: conf,
        };
        if run.is_image() {
            for (method, attr) in [("ig", igr), ("smoothgrad", sgr)] {
                let file = format!("heatmaps/{}-{}-{method}.png", item.group, index);
                heatmap_overlay(&dir.join(&file), xr, attr, shape, scale)?;
                if method == "ig" {
                    item.ig_png = Some(file);
                } else {
                    item.smoothgrad_png = Some(file);
                }
            }
        } else {
            item.features = top_features(&features, xr, igr, sgr);
        }
        items.push(item);
    }
    Ok(items)
}

/// Runs the stage into the stage's folder.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<ExplainResult> {
    let s = &ctx.settings.explain;
    let bar = ctx.bar("explain", 2, "step");
    let dir = cache.dir();
    std::fs::create_dir_all(dir.join("heatmaps"))
        .map_err(|e| crate::error::AuditError::io(&dir.join("heatmaps"), e))?;
    let items = explain_items(ctx, dir)?;
    bar.inc(1);
    let cfg = QualityConfig::new()
        .with_rows(s.quality_rows)
        .with_sensitivity_rows(s.sensitivity_rows)
        .with_randomization_rows(s.randomization_rows)
        .with_ig_steps(s.ig_steps)
        .with_seed(s.seed);
    let q = evaluate_quality(ctx.run, &cfg, Some(dir), false, &ctx.run.device)?;
    bar.inc(1);
    bar.finish_and_clear();
    let curve = |method: &str, c: &aegis_interpretability::Curve| DeletionCurve {
        method: method.to_string(),
        fractions: c.fractions.clone(),
        mean: c.mean.clone(),
        auc: c.auc,
    };
    let mut deletion: Vec<DeletionCurve> = q
        .methods
        .iter()
        .map(|m| curve(&m.method, &m.deletion))
        .collect();
    deletion.push(curve("random order", &q.random_deletion));
    Ok(ExplainResult {
        image: ctx.run.is_image(),
        items,
        quality_rows: q.rows,
        randomization_rows: s.randomization_rows.min(q.rows),
        deletion,
        ig_convergence_fraction: q.ig_convergence_fraction,
        randomization: q
            .randomization
            .iter()
            .flat_map(|r| {
                r.stages.iter().map(|st| RandomizationRow {
                    method: r.method.clone(),
                    layer: st.layer.clone(),
                    layers: st.randomized_layers,
                    spearman_signed: st.spearman_signed,
                    spearman_abs: st.spearman_abs,
                })
            })
            .collect(),
        checks: q
            .checks
            .iter()
            .map(|c| ExplainCheck {
                name: c.name.clone(),
                passed: c.passed,
                detail: c.detail.clone(),
            })
            .collect(),
    })
}
