//! `cargo xtask bench`: throughput of training, inference, PGD, integrated gradients, MC
//! dropout and KernelSHAP on every requested device, and with `--with-pytorch` the PyTorch
//! reference on the same tasks in the same invocation, interleaved repeat by repeat (Aegis,
//! PyTorch, Aegis, PyTorch, …) through one persistent worker process, on the same cores, the
//! same thread count, the same batch sizes and the same data; then the weight-loading
//! comparison and `evaluate`'s peak memory at 1,000 and 10,000 rows (`memory_bench.rs`);
//! `--tasks` picks among these parts. Writes `report.json`, `report.md` and the README's
//! block `readme.md` into the output folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::burn::tensor::Device;
use aegis_model::data::{DataSource, Split};
use aegis_model::{DeviceSpec, Model};
use anyhow::{Context, Result};
use serde_json::json;

use crate::bench_env::{Machine, cpu_seconds, peak_rss_mb};
use crate::bench_report::{BenchReport, BenchResult, PytorchSide, RowVersions, Spread};
use crate::bench_tasks::{self as tasks, Task};
use crate::bench_torch::{Worker, write_data};

/// The parts of the bench (`--tasks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPart {
    /// Every task on every device (training, inference, PGD, integrated gradients, MC
    /// dropout, KernelSHAP), with the PyTorch side when asked, and the PGD checks.
    Throughput,
    /// Importing PyTorch weights beside PyTorch's own loading.
    WeightLoading,
    /// `evaluate`'s peak memory at 1,000 and 10,000 rows (the 1.5× bar).
    EvaluateMemory,
    /// ResNet-18 and WRN-16-4 on `[3, 32, 32]`, as a spec and as an ONNX graph, on every
    /// device, beside PyTorch when asked (`realsize_bench.rs`; needs Python with torch).
    RealSize,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// The parts to run.
    pub parts: Vec<BenchPart>,
    /// Devices.
    pub devices: Vec<DeviceSpec>,
    /// Timed repeats per task and side.
    pub repeats: usize,
    /// Training rows per timed epoch.
    pub train_rows: usize,
    /// Threads on both sides.
    pub threads: usize,
    /// Run the PyTorch reference beside (`--with-pytorch`), with this interpreter if given.
    pub with_pytorch: bool,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// Also run AutoAttack side by side on this run directory (minutes).
    pub autoattack_run: Option<PathBuf>,
    /// Only the tasks whose name contains one of these (all when empty).
    pub only: Vec<String>,
    /// Output folder.
    pub out: PathBuf,
}

/// Runs the plan inside a rayon pool of `threads` threads (flex's parallelism) and writes the
/// report.
pub fn run(plan: &BenchPlan) -> Result<BenchReport> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()?;
    pool.install(|| run_in_pool(plan))
}

fn run_in_pool(plan: &BenchPlan) -> Result<BenchReport> {
    let mut machine = Machine::read();
    let (mnist, _) = DataSource::Mnist.load_split(0, 0.2)?;
    let throughput = plan.parts.contains(&BenchPart::Throughput);
    let real_size = plan.parts.contains(&BenchPart::RealSize);
    let mut worker = if (plan.with_pytorch && throughput) || real_size {
        Some(start_worker(plan, &mnist)?)
    } else {
        None
    };
    let mut runner = Runner {
        only: plan.only.clone(),
        repeats: plan.repeats,
        threads: plan.threads,
        versions: RowVersions {
            aegis: machine.versions.aegis.clone(),
            burn: machine.versions.burn.clone(),
            torch: worker.as_ref().map(|w| w.info.torch.clone()),
        },
        results: Vec::new(),
    };
    let mut unavailable = Vec::new();
    let mut pgd_checks = Vec::new();
    let mut same_network = f64::NAN;
    for spec in plan.devices.iter().filter(|_| throughput) {
        let device = match spec.open() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("skipping {spec}: {e}");
                unavailable.push((spec.to_string(), e.to_string()));
                continue;
            }
        };
        // PyTorch runs on the CPU: it sits beside the CPU devices only.
        let cpu = matches!(spec, DeviceSpec::Flex | DeviceSpec::NdArray);
        let beside = worker.as_mut().filter(|_| cpu && plan.with_pytorch);
        let (model, config) = tasks::inference_model(&device)?;
        let diff = runner.device(spec, &device, &mnist, &model, &config, plan, beside)?;
        if same_network.is_nan() {
            same_network = diff;
        }
        pgd_checks.extend(crate::pgd_check::check_pgd(
            spec,
            &device,
            &model,
            &mnist.test,
        )?);
    }
    let real_size_models = match worker.as_mut().filter(|_| real_size) {
        Some(w) => runner.real_size(plan, w, &mut unavailable)?,
        None => Vec::new(),
    };
    let weight_loading = plan
        .parts
        .contains(&BenchPart::WeightLoading)
        .then(|| crate::load_bench::run(&plan.out.join("load"), plan.repeats.max(5)))
        .transpose()?;
    let evaluate_memory = plan
        .parts
        .contains(&BenchPart::EvaluateMemory)
        .then(|| crate::memory_bench::run(&plan.out, plan.threads))
        .transpose()?;
    let autoattack = match &plan.autoattack_run {
        Some(run) => Some(crate::autoattack_bench::run(run, 500, 0.3, &plan.out)?),
        None => None,
    };
    if let Some(a) = &autoattack {
        runner.results.push(autoattack_row(a, &runner));
    }
    machine.finish();
    let report = BenchReport {
        machine,
        threads: plan.threads,
        autotune_level: std::env::var("CUBECL_AUTOTUNE_LEVEL").unwrap_or_else(|_| "default".into()),
        repeats: plan.repeats,
        pytorch: worker.filter(|_| plan.with_pytorch).map(|w| PytorchSide {
            python: w.python.clone(),
            worker: w.info.clone(),
            same_network_max_logit_difference: same_network,
        }),
        results: runner.results,
        unavailable,
        pgd_checks,
        real_size: real_size_models,
        weight_loading,
        autoattack,
        evaluate_memory,
        peak_rss_mb: peak_rss_mb(),
        cpu_seconds: cpu_seconds(),
    };
    write_report(&report, &plan.out)?;
    Ok(report)
}

/// Finds Python, starts the worker and hands it the bench's data.
fn start_worker(plan: &BenchPlan, mnist: &Split) -> Result<Worker> {
    let python = crate::bench_python::find(plan.python.as_deref())?;
    crate::python::use_interpreter(&python.path);
    eprintln!("PyTorch side: {} ({})", python.path.display(), python.found);
    let mut worker = Worker::start(python, plan.threads)?;
    if !plan.parts.contains(&BenchPart::Throughput) {
        return Ok(worker);
    }
    let dir = plan.out.join("data");
    write_data(&dir, "train", &mnist.train.features, &mnist.train.labels)?;
    write_data(&dir, "test", &mnist.test.features, &mnist.test.labels)?;
    worker.load_data(&dir, mnist.train.len(), mnist.test.len())?;
    eprintln!(
        "PyTorch {} on Python {}, {} threads",
        worker.info.torch, worker.info.python, worker.info.threads
    );
    Ok(worker)
}

fn write_report(report: &BenchReport, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    aegis_model::io::write_json(&out.join("report.json"), report)?;
    let md = crate::bench_report::markdown(report);
    aegis_model::io::write_atomic(&out.join("report.md"), md.as_bytes())?;
    let block = crate::bench_report::table(report);
    aegis_model::io::write_atomic(&out.join("readme.md"), block.as_bytes())?;
    Ok(())
}

/// The measurements of one run of the bench.
struct Runner {
    only: Vec<String>,
    repeats: usize,
    threads: usize,
    versions: RowVersions,
    results: Vec<BenchResult>,
}

impl Runner {
    /// Every task on one device; returns the same-network check (largest logit difference
    /// against PyTorch with the same weights, NaN without a worker).
    #[allow(clippy::too_many_arguments)]
    fn device(
        &mut self,
        spec: &DeviceSpec,
        device: &Device,
        mnist: &Split,
        model: &Model,
        config: &aegis_model::ModelConfig,
        plan: &BenchPlan,
        mut worker: Option<&mut Worker>,
    ) -> Result<f64> {
        let diff = match worker.as_deref_mut() {
            Some(w) => same_network(w, model, config, device, mnist, &plan.out)?,
            None => f64::NAN,
        };
        let test = &mnist.test;
        let mut all: Vec<Task> = tasks::training(device, mnist, plan.train_rows);
        all.extend(tasks::inference(device, model, test));
        all.extend(tasks::pgd(device, model, test)?);
        all.push(tasks::integrated_gradients(device, model, test)?);
        all.push(tasks::mc_dropout(device, model, test)?);
        all.push(tasks::kernel_shap(device)?);
        for task in all {
            self.measure(spec, task, worker.as_deref_mut())?;
        }
        Ok(diff)
    }

    /// The real-size models (`realsize_bench.rs`): the worker writes each, then on every device
    /// Aegis imports it both ways, checks the logits and measures its tasks (PyTorch beside the
    /// CPU devices with `--with-pytorch`).
    fn real_size(
        &mut self,
        plan: &BenchPlan,
        worker: &mut Worker,
        unavailable: &mut Vec<(String, String)>,
    ) -> Result<Vec<crate::realsize_bench::RealSizeModel>> {
        use crate::realsize_bench as rs;
        let mut models = Vec::new();
        for (arch, name) in rs::ARCHS {
            let dir = plan.out.join("real-size").join(arch);
            let (parameters, theirs) = rs::write_model(worker, &dir, arch)?;
            for spec in &plan.devices {
                let device = match spec.open() {
                    Ok(d) => d,
                    Err(e) => {
                        unavailable.push((spec.to_string(), e.to_string()));
                        continue;
                    }
                };
                let imported = rs::import(&dir, name, &device)?;
                let checked = rs::check_same(&imported, parameters, &theirs, &device)?;
                models.push(rs::RealSizeModel {
                    device: spec.to_string(),
                    ..checked
                });
                let cpu = matches!(spec, DeviceSpec::Flex | DeviceSpec::NdArray);
                for task in rs::tasks(&imported, arch, &device)? {
                    let beside = Some(&mut *worker).filter(|_| cpu && plan.with_pytorch);
                    self.measure(spec, task, beside)?;
                }
            }
        }
        Ok(models)
    }

    /// One warm-up per side, then `repeats` interleaved pairs (Aegis, then PyTorch).
    fn measure(
        &mut self,
        spec: &DeviceSpec,
        mut task: Task,
        worker: Option<&mut Worker>,
    ) -> Result<()> {
        if !self.only.is_empty() && !self.only.iter().any(|o| task.name.contains(o.as_str())) {
            return Ok(());
        }
        let mut worker = worker.filter(|_| task.torch.is_some());
        (task.run)().with_context(|| format!("{}: warm-up", task.name))?;
        if let (Some(w), Some(cmd)) = (worker.as_deref_mut(), &task.torch) {
            w.run(cmd)?;
        }
        let (mut ours, mut ours_busy, mut theirs, mut theirs_busy) =
            (vec![], vec![], vec![], vec![]);
        for _ in 0..self.repeats {
            let (u0, s0) = cpu_seconds();
            let t = Instant::now();
            (task.run)()?;
            let secs = t.elapsed().as_secs_f64();
            let (u1, s1) = cpu_seconds();
            ours.push(secs);
            ours_busy.push((u1 - u0 + s1 - s0) / secs);
            if let (Some(w), Some(cmd)) = (worker.as_deref_mut(), &task.torch) {
                let timed = w.run(cmd)?;
                theirs.push(timed.seconds);
                theirs_busy.push(timed.cpu_seconds / timed.seconds);
            }
        }
        let aegis = Spread::of(&ours);
        let with_torch = !theirs.is_empty();
        let ratios: Vec<f64> = theirs.iter().zip(&ours).map(|(p, a)| p / a).collect();
        let result = BenchResult {
            device: spec.to_string(),
            task: task.name,
            batch: task.batch,
            samples: task.samples,
            threads: self.threads,
            seconds: aegis.median,
            samples_per_second: task.samples as f64 / aegis.median,
            aegis_seconds: aegis,
            aegis_cores_busy: Spread::of(&ours_busy).median,
            pytorch_seconds: with_torch.then(|| Spread::of(&theirs)),
            pytorch_cores_busy: with_torch.then(|| Spread::of(&theirs_busy).median),
            speed_vs_pytorch: with_torch.then(|| Spread::of(&ratios)),
            versions: RowVersions {
                torch: self.versions.torch.clone().filter(|_| with_torch),
                ..self.versions.clone()
            },
        };
        eprintln!(
            "{spec:>8}  {} (batch {}): {:.3} s{}",
            result.task,
            result.batch,
            aegis.median,
            result.speed_vs_pytorch.map_or(String::new(), |r| format!(
                ", PyTorch {:.3} s, speed ratio {:.2} ({:.2}–{:.2})",
                Spread::of(&theirs).median,
                r.median,
                r.min,
                r.max
            ))
        );
        self.results.push(result);
        Ok(())
    }
}

/// Exports the inference model to `.safetensors`, loads it into the worker's SmallCnn and
/// returns the largest logit difference on the first 8 test images.
fn same_network(
    worker: &mut Worker,
    model: &Model,
    config: &aegis_model::ModelConfig,
    device: &Device,
    mnist: &Split,
    out: &Path,
) -> Result<f64> {
    let (_, params) = aegis_model::import::state_dict_of(model, config)?;
    let path = out.join("data/smallcnn.safetensors");
    aegis_model::import::export_safetensors(&params, Default::default(), &path)?;
    let answer = worker.request(json!({"cmd": "weights", "path": path}))?;
    let theirs: Vec<f64> = serde_json::from_value(answer["logits"].clone())?;
    let x = aegis_model::batch_tensor(mnist.test.features[..8 * 784].to_vec(), 8, 784, device);
    let ours = aegis_model::to_host(aegis_model::Classifier::logits(model, x));
    let diff = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    eprintln!("same weights in PyTorch: logits within {diff:.2e}");
    anyhow::ensure!(
        diff < 1e-3,
        "PyTorch's SmallCnn with Aegis's weights gives logits {diff} away: not the same network"
    );
    Ok(diff)
}

/// AutoAttack's standard suite as a row: one run each, Aegis then the reference (minutes
/// each, so not repeated); Aegis's time includes its sanity checks.
fn autoattack_row(a: &crate::autoattack_bench::AutoAttackBench, runner: &Runner) -> BenchResult {
    let one = |x: f64| Spread {
        min: x,
        median: x,
        max: x,
    };
    BenchResult {
        device: "flex".into(),
        task: format!(
            "AutoAttack standard, {} images, ε {} (one run each; reference in batches of 500; \
             Aegis {:.1}%, reference {:.1}% robust)",
            a.n,
            a.eps,
            100.0 * a.aegis_robust_accuracy,
            100.0 * a.reference.robust_accuracy
        ),
        batch: aegis_model::DEFAULT_BATCH_ROWS,
        samples: a.n,
        threads: a.reference.threads,
        seconds: a.aegis_seconds,
        samples_per_second: a.n as f64 / a.aegis_seconds,
        aegis_seconds: one(a.aegis_seconds),
        aegis_cores_busy: f64::NAN,
        pytorch_seconds: Some(one(a.reference.seconds)),
        pytorch_cores_busy: None,
        speed_vs_pytorch: Some(one(a.reference.seconds / a.aegis_seconds)),
        versions: RowVersions {
            torch: Some(a.reference.torch.clone()),
            ..runner.versions.clone()
        },
    }
}
