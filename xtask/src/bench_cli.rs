//! The flags of `cargo xtask bench` and what the command prints; the bench itself is
//! `bench.rs`.

use std::path::PathBuf;

use aegis_model::DeviceSpec;
use anyhow::Result;
use clap::Args;

use crate::bench::{BenchPart, BenchPlan};

/// `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Parts of the bench to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "throughput,weight-loading,evaluate-memory"
    )]
    tasks: Vec<BenchPart>,
    /// Devices to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "flex,ndarray,wgpu", value_parser = crate::parse_device)]
    devices: Vec<DeviceSpec>,
    /// Timed repeats per task (min / median / max are reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Training rows per timed epoch.
    #[arg(long, default_value_t = 1280)]
    train_rows: usize,
    /// Threads on each side (flex's rayon pool, torch.set_num_threads); default: the cores this
    /// process may use.
    #[arg(long)]
    threads: Option<usize>,
    /// Run the PyTorch reference in the same invocation, interleaved repeat by repeat, beside
    /// the CPU devices (finds or creates a Python with torch; see bench_python.rs).
    #[arg(long)]
    with_pytorch: bool,
    /// The Python interpreter for --with-pytorch (must import torch and numpy).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Also run AutoAttack's standard suite side by side on this run directory's weights
    /// (first 500 test images, ε 0.3; takes minutes; needs pyautoattack).
    #[arg(long)]
    autoattack_run: Option<PathBuf>,
    /// Skip the weight-loading comparison (as leaving `weight-loading` out of `--tasks`).
    #[arg(long)]
    skip_weight_loading: bool,
    /// Copy the table into README.md between `<!-- bench:begin -->` and `<!-- bench:end -->`
    /// (when `throughput` ran), and `evaluate`'s peak memory between
    /// `<!-- bench-memory:begin -->` and `<!-- bench-memory:end -->` (when it ran).
    #[arg(long)]
    readme: bool,
    /// Measure only the tasks whose name contains one of these (comma-separated, e.g.
    /// `PGD-10,ResNet`); the others are built but not timed.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// Runs the bench, prints where the report went, updates the README when asked and fails
/// when a device's PGD check failed or `evaluate`'s peak memory grew past its bar.
pub fn run(args: BenchArgs) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut parts = args.tasks;
    parts.retain(|p| !(args.skip_weight_loading && *p == BenchPart::WeightLoading));
    let plan = BenchPlan {
        parts,
        devices: args.devices,
        repeats: args.repeats.max(1),
        train_rows: args.train_rows,
        threads: threads.max(1),
        with_pytorch: args.with_pytorch || args.python.is_some(),
        python: args.python,
        autoattack_run: args.autoattack_run,
        only: args.only,
        out: args.out,
    };
    let report = crate::bench::run(&plan)?;
    println!(
        "{} measurements written to {}/report.json and report.md",
        report.results.len(),
        plan.out.display()
    );
    if let Some(m) = &report.evaluate_memory {
        let peaks: Vec<String> = m
            .runs
            .iter()
            .map(|r| {
                let rows = crate::memory_bench::with_commas(r.rows);
                format!("{:.0} MB at {rows} rows", r.peak_rss_mb)
            })
            .collect();
        println!(
            "evaluate's peak memory: {} ({:.2}×, bar {}×)",
            peaks.join(", "),
            m.ratio,
            m.bar
        );
    }
    if args.readme {
        if plan.parts.contains(&BenchPart::Throughput) {
            let block = crate::bench_report::table(&report);
            crate::bench_readme::update("README.md".as_ref(), "bench", &block)?;
            println!("README.md: the table between the bench markers is regenerated");
        }
        if let Some(m) = &report.evaluate_memory {
            let block = format!(
                "Measured {}.\n\n{}",
                report.machine.describe(),
                crate::memory_bench::markdown(m)
            );
            crate::bench_readme::update("README.md".as_ref(), "bench-memory", &block)?;
            println!("README.md: the block between the bench-memory markers is regenerated");
        }
    }
    let wrong: Vec<String> = report
        .pgd_checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} ({} steps)", c.device, c.steps))
        .collect();
    if !wrong.is_empty() {
        anyhow::bail!("PGD check failed on {}", wrong.join(", "));
    }
    if let Some(m) = report.evaluate_memory.as_ref().filter(|m| !m.passed) {
        anyhow::bail!(
            "evaluate's peak memory at {} rows is {:.2}× that at {} rows (bar: {}×)",
            crate::memory_bench::with_commas(crate::memory_bench::ROWS[1]),
            m.ratio,
            crate::memory_bench::with_commas(crate::memory_bench::ROWS[0]),
            m.bar
        );
    }
    Ok(())
}
