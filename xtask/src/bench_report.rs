//! The bench's report: one row per task and device with the spread (min / median / max) of
//! Aegis's seconds, of PyTorch's seconds in the same run, and of their ratio per interleaved
//! pair; the machine, versions and settings; written as `report.json` and `report.md`, and the
//! README's block (`readme.md`: the same table under one line of provenance).

use serde::Serialize;

use crate::bench_env::Machine;
use crate::bench_torch::WorkerInfo;

/// min / median / max of a set of repeats.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median (the upper one of an even count).
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (not empty).
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Self {
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
        }
    }

    fn cells(&self, digits: usize) -> String {
        format!(
            "{:.d$} / {:.d$} / {:.d$}",
            self.min,
            self.median,
            self.max,
            d = digits
        )
    }
}

/// Versions a row was measured with.
#[derive(Debug, Clone, Serialize)]
pub struct RowVersions {
    /// Aegis (workspace version and commit).
    pub aegis: String,
    /// Burn.
    pub burn: String,
    /// torch, when the row has a PyTorch side.
    pub torch: Option<String>,
}

/// One task on one device.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    /// Device.
    pub device: String,
    /// What was measured.
    pub task: String,
    /// Rows per forward batch.
    pub batch: usize,
    /// Samples per repeat.
    pub samples: usize,
    /// Threads on both sides (rayon pool and `torch.set_num_threads`).
    pub threads: usize,
    /// Median seconds of Aegis's repeats.
    pub seconds: f64,
    /// samples / median seconds.
    pub samples_per_second: f64,
    /// Aegis's seconds over the repeats.
    pub aegis_seconds: Spread,
    /// Median CPU seconds per wall second of Aegis's repeats (2.0 = two cores busy).
    pub aegis_cores_busy: f64,
    /// PyTorch's seconds over the repeats interleaved with Aegis's.
    pub pytorch_seconds: Option<Spread>,
    /// Median CPU seconds per wall second of PyTorch's repeats.
    pub pytorch_cores_busy: Option<f64>,
    /// Aegis's speed over PyTorch's (PyTorch seconds / Aegis seconds) per interleaved pair:
    /// above 1 Aegis is faster.
    pub speed_vs_pytorch: Option<Spread>,
    /// Versions.
    pub versions: RowVersions,
}

/// The PyTorch side of the run.
#[derive(Debug, Serialize)]
pub struct PytorchSide {
    /// The interpreter and how it was found.
    pub python: crate::bench_python::Python,
    /// What the worker reported.
    pub worker: WorkerInfo,
    /// Largest |Aegis logit − PyTorch logit| on the first 8 test images with the same weights
    /// (the inference-side tasks compute the same network).
    pub same_network_max_logit_difference: f64,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Where and with what.
    pub machine: Machine,
    /// Threads on both sides.
    pub threads: usize,
    /// `CUBECL_AUTOTUNE_LEVEL` in effect.
    pub autotune_level: String,
    /// Timed repeats per task and side (after one warm-up each).
    pub repeats: usize,
    /// The PyTorch side, with `--with-pytorch`.
    pub pytorch: Option<PytorchSide>,
    /// Results.
    pub results: Vec<BenchResult>,
    /// Devices that could not be opened, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// PGD correctness per device.
    pub pgd_checks: Vec<crate::pgd_check::PgdCheck>,
    /// The real-size models measured (`--tasks real-size`), with their same-network checks.
    pub real_size: Vec<crate::realsize_bench::RealSizeModel>,
    /// Importing PyTorch weights, side by side with PyTorch's `load_state_dict`.
    pub weight_loading: Option<crate::load_bench::LoadBench>,
    /// AutoAttack side by side, with `--autoattack-run`.
    pub autoattack: Option<crate::autoattack_bench::AutoAttackBench>,
    /// `evaluate`'s peak memory at 1,000 and 10,000 rows.
    pub evaluate_memory: Option<crate::memory_bench::MemoryBench>,
    /// Peak resident memory of the bench process (Aegis's side), MB.
    pub peak_rss_mb: f64,
    /// User and system CPU seconds of the bench process.
    pub cpu_seconds: (f64, f64),
}

/// The provenance line and the table: what the README shows.
pub fn table(r: &BenchReport) -> String {
    let torch = r.pytorch.as_ref().map_or(
        "no PyTorch side (run with --with-pytorch)".to_string(),
        |p| {
            let same = match p.same_network_max_logit_difference {
                d if d.is_nan() => String::new(),
                d => format!("; same weights give logits within {d:.1e}"),
            };
            format!(
                "PyTorch {} (Python {}, {}; found as {}){same}",
                p.worker.torch,
                p.worker.python,
                p.python.path.display(),
                p.python.found,
            )
        },
    );
    let mut s = format!(
        "Measured {}. {threads} threads on each side; {repeats} interleaved repeats per task after \
         one warm-up each (Aegis, PyTorch, Aegis, PyTorch, …); {torch}. Peak memory of the \
         Aegis process {rss:.0} MB, its CPU time {user:.1} s user, {sys:.1} s system.\n\n",
        r.machine.describe(),
        threads = r.threads,
        repeats = r.repeats,
        rss = r.peak_rss_mb,
        user = r.cpu_seconds.0,
        sys = r.cpu_seconds.1,
    );
    s += "| task | batch | device, threads | Aegis s (min / median / max) | samples/s | PyTorch s (min / median / max) | Aegis ÷ PyTorch speed (min / median / max) | cores busy (Aegis / PyTorch) |\n|---|---:|---|---:|---:|---:|---:|---:|\n";
    for x in &r.results {
        let none = || "–".to_string();
        s += &format!(
            "| {} | {} | {}, {} | {} | {:.0} | {} | {} | {} / {} |\n",
            x.task,
            x.batch,
            x.device,
            x.threads,
            x.aegis_seconds.cells(3),
            x.samples_per_second,
            x.pytorch_seconds.map_or_else(none, |p| p.cells(3)),
            x.speed_vs_pytorch
                .map_or_else(none, |p| format!("**{}**", p.cells(2))),
            if x.aegis_cores_busy.is_finite() {
                format!("{:.1}", x.aegis_cores_busy)
            } else {
                none()
            },
            x.pytorch_cores_busy
                .map_or_else(none, |c| format!("{c:.1}")),
        );
    }
    s
}

/// The whole report as Markdown: the table, the PGD checks, the devices not measured,
/// AutoAttack, `evaluate`'s peak memory and weight loading.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = format!("# Aegis benchmark\n\n{}", table(r));
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
    for m in &r.real_size {
        s += &format!(
            "\n{} on {}: {} parameters, random weights and BatchNorm statistics; the spec and the \
             ONNX graph give PyTorch's logits within {:.1e} and {:.1e} (first 8 rows)\n",
            m.name, m.device, m.parameters, m.spec_vs_pytorch, m.graph_vs_pytorch
        );
    }
    for (d, why) in &r.unavailable {
        s += &format!("\n{d}: not measured ({why})\n");
    }
    if let Some(a) = &r.autoattack {
        s += &format!("\n{}", crate::autoattack_bench::markdown(a));
    }
    if let Some(m) = &r.evaluate_memory {
        s += &format!("\n{}", crate::memory_bench::markdown(m));
    }
    match &r.weight_loading {
        Some(w) => s + &crate::load_bench::markdown(w),
        None => s,
    }
}
