//! `cargo xtask bench`: throughput of training and inference on every available device,
//! measured side by side in one run, and PyTorch weight import against PyTorch's own loading
//! (`load_bench`). Writes `target/bench/report.json` and `report.md`.

use std::path::Path;
use std::time::Instant;

use aegis_adversarial_trainer::{Attack, Goal, Pgd, PgdConfig};
use aegis_interpretability::{
    Attribution, IgConfig, IntegratedGradients, KernelShap, KernelShapConfig,
};
use aegis_model::burn::tensor::Device;
use aegis_model::data::{DataSource, Dataset, Split};
use aegis_model::model_config_for;
use aegis_model::models::{Architecture, Model, ModelConfig};
use aegis_model::train::{TrainConfig, TrainOptions, fit, seed_device};
use aegis_model::{DeviceSpec, batch_tensor, predict};
use anyhow::Result;
use serde::Serialize;

/// One measurement.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    /// Device.
    pub device: String,
    /// What was measured.
    pub task: String,
    /// Samples processed in the timed part.
    pub samples: usize,
    /// Seconds of the timed part (median of the repeats).
    pub seconds: f64,
    /// samples / seconds.
    pub samples_per_second: f64,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Logical CPU cores.
    pub cpu_cores: usize,
    /// `CUBECL_AUTOTUNE_LEVEL` in effect.
    pub autotune_level: String,
    /// Repeats per measurement (the median is reported).
    pub repeats: usize,
    /// Results.
    pub results: Vec<BenchResult>,
    /// Devices that could not be opened, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// PGD correctness per device.
    pub pgd_checks: Vec<crate::pgd_check::PgdCheck>,
    /// Importing PyTorch weights, side by side with PyTorch's `load_state_dict`.
    pub weight_loading: crate::load_bench::LoadBench,
}

fn subset(split: &Split, n_train: usize, n_test: usize) -> Split {
    Split {
        train: split.train.clone().head(Some(n_train)),
        test: split.test.clone().head(Some(n_test)),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmarks on `devices` and writes the report into `out_dir`.
pub fn run(
    devices: &[DeviceSpec],
    repeats: usize,
    train_rows: usize,
    out_dir: &Path,
) -> Result<BenchReport> {
    let (mnist, _) = DataSource::Mnist.load_split(0, 0.2)?;
    let mut bench = Bench {
        repeats,
        results: Vec::new(),
    };
    let mut unavailable = Vec::new();
    let mut pgd_checks = Vec::new();
    for spec in devices {
        let device = match spec.open() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("skipping {spec}: {e}");
                unavailable.push((spec.to_string(), e.to_string()));
                continue;
            }
        };
        bench.training(spec, &device, &mnist, train_rows)?;
        let model =
            ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10).init(&device, 1)?;
        bench.inference(spec, &device, &model, &mnist.test)?;
        bench.pgd(spec, &device, &model, &mnist.test)?;
        bench.integrated_gradients(spec, &device, &model, &mnist.test)?;
        bench.kernel_shap(spec, &device)?;
        pgd_checks.extend(crate::pgd_check::check_pgd(
            spec,
            &device,
            &model,
            &mnist.test,
        )?);
    }
    let weight_loading = crate::load_bench::run(&out_dir.join("load"), repeats.max(5))?;
    let report = BenchReport {
        cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        autotune_level: std::env::var("CUBECL_AUTOTUNE_LEVEL").unwrap_or_else(|_| "default".into()),
        repeats,
        results: bench.results,
        unavailable,
        pgd_checks,
        weight_loading,
    };
    std::fs::create_dir_all(out_dir)?;
    aegis_model::io::write_json(&out_dir.join("report.json"), &report)?;
    aegis_model::io::write_atomic(&out_dir.join("report.md"), markdown(&report).as_bytes())?;
    Ok(report)
}

/// The measurements of one run of the bench.
struct Bench {
    repeats: usize,
    results: Vec<BenchResult>,
}

impl Bench {
    /// Median seconds of `repeats` calls of `task` (warm-up is the caller's).
    fn time(&self, mut task: impl FnMut() -> Result<()>) -> Result<f64> {
        let mut secs = Vec::with_capacity(self.repeats);
        for _ in 0..self.repeats {
            let t = Instant::now();
            task()?;
            secs.push(t.elapsed().as_secs_f64());
        }
        Ok(median(secs))
    }

    fn record(&mut self, spec: &DeviceSpec, task: String, samples: usize, seconds: f64) {
        self.results.push(BenchResult {
            device: spec.to_string(),
            task,
            samples,
            seconds,
            samples_per_second: samples as f64 / seconds,
        });
    }

    /// One epoch of `train_rows` MNIST images (batch 64, Adam), SmallCnn and MLP.
    fn training(
        &mut self,
        spec: &DeviceSpec,
        device: &Device,
        mnist: &Split,
        train_rows: usize,
    ) -> Result<()> {
        let timed = subset(mnist, train_rows, 10);
        let warm = subset(mnist, 128, 10);
        for (arch, name) in [
            (Architecture::SmallCnn, "train SmallCnn (batch 64, Adam)"),
            (
                Architecture::Mlp,
                "train MLP 784-128-64-10 (batch 64, Adam)",
            ),
        ] {
            let model_cfg =
                ModelConfig::new(arch, vec![1, 28, 28], 10).with_dropout(arch.default_dropout());
            let cfg = TrainConfig::new().with_epochs(1);
            let opts = TrainOptions::default();
            seed_device(device, 1);
            // Warm-up: kernel compilation / autotune on GPUs, allocator on CPUs.
            fit(model_cfg.init(device, 1)?, &cfg, &warm, device, &opts)?;
            let s = self.time(|| {
                fit(model_cfg.init(device, 1)?, &cfg, &timed, device, &opts)?;
                Ok(())
            })?;
            eprintln!("{spec:>8}  {name}: {:.0} samples/s", train_rows as f64 / s);
            self.record(spec, name.into(), train_rows, s);
        }
        Ok(())
    }

    /// SmallCnn inference on the 1,000 test images in batches of 500.
    fn inference(
        &mut self,
        spec: &DeviceSpec,
        device: &Device,
        model: &Model,
        test: &Dataset,
    ) -> Result<()> {
        predict(model, &test.features[..500 * 784], 500, device);
        let s = self.time(|| {
            predict(model, &test.features, 500, device);
            Ok(())
        })?;
        let name = "inference SmallCnn (1,000 images, batch 500)";
        eprintln!("{spec:>8}  {name}: {:.0} samples/s", test.len() as f64 / s);
        self.record(spec, name.into(), test.len(), s);
        Ok(())
    }

    /// PGD-10 (ε 0.3, step 0.01, random start) on the 1,000 test images, as one batch and in
    /// batches of 100 rows (what `attack` and `evaluate` use by default: on flex the large
    /// batch is slower, on a GPU it is not).
    fn pgd(
        &mut self,
        spec: &DeviceSpec,
        device: &Device,
        model: &Model,
        test: &Dataset,
    ) -> Result<()> {
        let x = batch_tensor(test.features.clone(), test.len(), 784, device);
        let goal = Goal::Untargeted(test.labels.clone());
        let pgd = Pgd::new(PgdConfig::new(0.3).with_steps(10).with_step_size(0.01))?;
        pgd.perturb(model, x, &goal)?;
        for chunk in [1000, aegis_model::DEFAULT_BATCH_ROWS] {
            let s = self.time(|| {
                for start in (0..test.len()).step_by(chunk) {
                    let end = (start + chunk).min(test.len());
                    let xb = batch_tensor(
                        test.features[start * 784..end * 784].to_vec(),
                        end - start,
                        784,
                        device,
                    );
                    let gb = Goal::Untargeted(test.labels[start..end].to_vec());
                    pgd.perturb(model, xb, &gb)?.into_data();
                }
                Ok(())
            })?;
            let name =
                format!("PGD-10 SmallCnn (1,000 images, ε 0.3, step 0.01; batches of {chunk})");
            eprintln!(
                "{spec:>8}  {name}: {:.0} images/s ({s:.2} s)",
                test.len() as f64 / s
            );
            self.record(spec, name, test.len(), s);
        }
        Ok(())
    }

    /// Integrated gradients (Gauss–Legendre, n = 50) per image: 20 images, one call.
    fn integrated_gradients(
        &mut self,
        spec: &DeviceSpec,
        device: &Device,
        model: &Model,
        test: &Dataset,
    ) -> Result<()> {
        let n_ig = 20;
        let ig = IntegratedGradients::new(IgConfig::new())?;
        let (xs, ys) = (&test.features[..n_ig * 784], &test.labels[..n_ig]);
        ig.attribute(model, &xs[..784], &ys[..1], device)?;
        let s = self.time(|| {
            ig.attribute(model, xs, ys, device)?;
            Ok(())
        })?;
        let name = "integrated gradients SmallCnn (n = 50, Gauss–Legendre; 20 images)";
        eprintln!("{spec:>8}  {name}: {:.4} s per image", s / n_ig as f64);
        self.record(spec, name.into(), n_ig, s);
        Ok(())
    }

    /// KernelSHAP per row on a breast-cancer MLP (30-128-64-2), 100 background rows, shap's
    /// automatic budget (2·30 + 2048 = 2,108 coalitions): 5 rows.
    fn kernel_shap(&mut self, spec: &DeviceSpec, device: &Device) -> Result<()> {
        let (bc, _) = DataSource::BreastCancer.load_split(0, 0.2)?;
        let mlp_cfg = model_config_for(Architecture::Mlp, &bc.train, None, None);
        let (mlp, _) = fit(
            mlp_cfg.init(device, 1)?,
            &TrainConfig::new().with_epochs(10),
            &bc,
            device,
            &TrainOptions::default(),
        )?;
        let background = bc.train.clone().head(Some(100)).features;
        let n_shap = 5;
        let rows = &bc.test.features[..n_shap * 30];
        let targets = vec![1usize; n_shap];
        let shap = KernelShap::new(KernelShapConfig::new())?;
        shap.explain(&mlp, &rows[..30], &targets[..1], &background, device)?;
        let s = self.time(|| {
            shap.explain(&mlp, rows, &targets, &background, device)?;
            Ok(())
        })?;
        let name = "KernelSHAP breast-cancer MLP (100 background rows, 2,108 coalitions; 5 rows)";
        eprintln!("{spec:>8}  {name}: {:.4} s per row", s / n_shap as f64);
        self.record(spec, name.into(), n_shap, s);
        Ok(())
    }
}

/// PGD correctness on a device: 2 and 10 steps of 0.01 from the clean input.

fn markdown(r: &BenchReport) -> String {
    let mut s = format!(
        "# Aegis benchmark\n\n{} CPU cores, autotune level `{}`, median of {} repeats. Ratios are against flex on the same task, measured in the same run.\n\n| task | device | samples | seconds | samples/s | vs flex |\n|---|---|---:|---:|---:|---:|\n",
        r.cpu_cores, r.autotune_level, r.repeats
    );
    for x in &r.results {
        let flex = r
            .results
            .iter()
            .find(|y| y.device == "flex" && y.task == x.task);
        let ratio = flex.map_or("–".to_string(), |f| {
            format!("{:.2}×", x.samples_per_second / f.samples_per_second)
        });
        s += &format!(
            "| {} | {} | {} | {:.3} | {:.0} | {} |\n",
            x.task, x.device, x.samples, x.seconds, x.samples_per_second, ratio
        );
    }
    for c in &r.pgd_checks {
        s += &format!(
            "\nPGD check on {}: {} steps of 0.01 without random start give max |δ| = {} (expected {}), loss {:.4} → {:.4}, {:.4}% of pixels differ from flex (max {}): {}\n",
            c.device,
            c.steps,
            c.max_perturbation,
            c.expected,
            c.loss_clean,
            c.loss_adversarial,
            100.0 * c.differing_from_flex,
            c.max_difference_from_flex,
            if c.passed { "ok" } else { "WRONG" }
        );
    }
    for (d, why) in &r.unavailable {
        s += &format!("\n{d}: not measured ({why})\n");
    }
    s + &crate::load_bench::markdown(&r.weight_loading)
}
