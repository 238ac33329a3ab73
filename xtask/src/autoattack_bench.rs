//! `cargo xtask bench-autoattack --run RUN`: Aegis's `evaluate --suite autoattack` and the
//! reference AutoAttack (`bench/pytorch/autoattack_reference.py`, pyautoattack) on the same
//! weights (the run exported to `.safetensors`), the same first N bundled MNIST test images
//! and the same cores, one after the other in one run. Writes `autoattack.json` and
//! `autoattack.md` into the output folder.

use std::path::Path;
use std::time::Instant;

use aegis_adversarial_trainer::{EvaluateConfig, Suite, evaluate_robustness};
use aegis_model::{DeviceSpec, RunDir, export_run};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The reference's summary line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reference {
    /// torch version.
    pub torch: String,
    /// torch threads.
    pub threads: usize,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Robust accuracy after the four attacks.
    pub robust_accuracy: f64,
    /// Seconds of `run_standard_evaluation`.
    pub seconds: f64,
}

/// Both sides.
#[derive(Debug, Serialize)]
pub struct AutoAttackBench {
    /// The run evaluated.
    pub run: String,
    /// Rows (the first N test images).
    pub n: usize,
    /// Radius.
    pub eps: f64,
    /// Aegis's robust accuracy after each stage: (attack, accuracy).
    pub aegis_stages: Vec<(String, f64)>,
    /// Aegis's robust accuracy.
    pub aegis_robust_accuracy: f64,
    /// Aegis's seconds (the whole `evaluate_robustness`, sanity checks included).
    pub aegis_seconds: f64,
    /// The reference.
    pub reference: Reference,
}

/// Runs both on `run` and writes the report into `out`.
pub fn run(run: &Path, n: usize, eps: f64, out: &Path) -> Result<AutoAttackBench> {
    std::fs::create_dir_all(out)?;
    let weights = out.join("model.safetensors");
    let arch = out.join("model.arch.json");
    export_run(run, &weights, &arch, DeviceSpec::Flex)?;
    let device = DeviceSpec::Flex.open()?;
    let (model, config) = RunDir::new(run).load_model(&device)?;
    let data = config.test_split(None)?.head(Some(n));
    let cfg = EvaluateConfig {
        suite: Suite::AutoAttack,
        eps: vec![eps],
        ..EvaluateConfig::default()
    };
    let start = Instant::now();
    let report = evaluate_robustness(&model, &data, &cfg, &device, &out.join("aegis"))?;
    let aegis_seconds = start.elapsed().as_secs_f64();
    let reference = reference(&arch, &weights, n, eps)?;
    let bench = AutoAttackBench {
        run: run.display().to_string(),
        n,
        eps,
        aegis_stages: report
            .stages
            .iter()
            .map(|s| (s.attack.clone(), s.robust_accuracy))
            .collect(),
        aegis_robust_accuracy: report.worst_case.last().map_or(f64::NAN, |w| w.accuracy),
        aegis_seconds,
        reference,
    };
    aegis_model::io::write_json(&out.join("autoattack.json"), &bench)?;
    aegis_model::io::write_atomic(&out.join("autoattack.md"), markdown(&bench).as_bytes())?;
    Ok(bench)
}

fn reference(arch: &Path, weights: &Path, n: usize, eps: f64) -> Result<Reference> {
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get());
    let args = [
        "--arch".into(),
        arch.into(),
        "--weights".into(),
        weights.into(),
        "--n".into(),
        n.to_string().into(),
        "--eps".into(),
        eps.to_string().into(),
        "--threads".into(),
        threads.to_string().into(),
    ];
    crate::python::run_json("bench/pytorch/autoattack_reference.py", &args)
}

pub fn markdown(b: &AutoAttackBench) -> String {
    let stages: Vec<String> = b
        .aegis_stages
        .iter()
        .map(|(a, acc)| format!("{a} {:.1}%", 100.0 * acc))
        .collect();
    format!(
        "# AutoAttack side by side\n\n{} — first {} test images, ε = {}, same weights, same cores, one after the other.\n\n| | robust accuracy | seconds |\n|---|---:|---:|\n| Aegis `--suite autoattack` ({}) | {:.1}% | {:.0} |\n| reference (pyautoattack, torch {}, {} threads) | {:.1}% | {:.0} |\n",
        b.run,
        b.n,
        b.eps,
        stages.join(", "),
        100.0 * b.aegis_robust_accuracy,
        b.aegis_seconds,
        b.reference.torch,
        b.reference.threads,
        100.0 * b.reference.robust_accuracy,
        b.reference.seconds
    )
}
