//! Maintenance tasks: `cargo xtask bench | bench-autoattack | cross-cpu | fuzz | fetch-mnist |
//! bundle-assets`.

mod assets;
mod autoattack_bench;
mod bench;
mod bench_cli;
mod bench_env;
mod bench_ops;
mod bench_python;
mod bench_readme;
mod bench_report;
mod bench_tasks;
mod bench_torch;
mod cross_cpu;
mod fetch;
mod fuzz;
mod load_bench;
mod memory_bench;
mod pgd_check;
mod python;
mod realsize_bench;
mod screenshot;

use std::path::PathBuf;

use aegis_model::DeviceSpec;
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Aegis maintenance tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure training, inference, attacks and attributions on each device, with
    /// `--with-pytorch` side by side with PyTorch, and `evaluate`'s peak memory against the
    /// row count; writes target/bench/.
    Bench(bench_cli::BenchArgs),
    /// SmallCnn's operations one by one on flex (and with `--with-pytorch` in PyTorch, with
    /// torch.profiler's top entries); writes target/bench/ops.{json,md}.
    BenchOps(bench_ops::OpsArgs),
    /// AutoAttack (`--suite autoattack`) side by side with the reference (pyautoattack) on a
    /// run's weights and the first N test images; writes OUT/autoattack.{json,md}.
    BenchAutoattack {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// First N test images.
        #[arg(long, default_value_t = 500)]
        n: usize,
        /// L∞ radius.
        #[arg(long, default_value_t = 0.3)]
        eps: f64,
        /// Output folder.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
    },
    /// The figures the tests assert, across training seeds, both convolution kernels and
    /// emulated CPUs (qemu-user); writes target/cross-cpu/cross_cpu.{json,md}.
    CrossCpu(cross_cpu::CrossCpuArgs),
    /// Fuzz a reader of user files (or `all`) with mutated seeds: no panic, no allocation
    /// over budget; prints inputs run per target.
    Fuzz {
        /// Target name, or `all`.
        target: String,
        /// Seconds per target.
        #[arg(long, default_value_t = 60.0)]
        time: f64,
        /// Replay from this arbtest seed (printed by a failure).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Download the full MNIST (SHA-256 checked) into an IDX folder for `--data DIR`.
    FetchMnist {
        /// Mirror base URL.
        #[arg(long, default_value = fetch::DEFAULT_BASE_URL)]
        base_url: String,
        /// Output folder.
        #[arg(long, default_value = "data/mnist")]
        out: PathBuf,
    },
    /// Audit SmallCnn on bundled MNIST and photograph report.html for the README.
    AuditScreenshot(screenshot::ScreenshotArgs),
    /// Rebuild assets/mnist from ../shared/data/mnist_5k.csv.gz (deterministic).
    BundleAssets {
        /// Source CSV (gzip).
        #[arg(long, default_value = "../shared/data/mnist_5k.csv.gz")]
        source: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "assets/mnist")]
        out: PathBuf,
    },
}

/// Forwards to the system allocator; the fuzz targets read the largest request from it.
#[global_allocator]
static ALLOCATOR: aegis_malloc::LargestAllocation = aegis_malloc::LargestAllocation::new();

pub(crate) fn parse_device(s: &str) -> Result<DeviceSpec, String> {
    s.parse()
        .map_err(|e: aegis_model::ModelError| e.to_string())
}

fn main() -> Result<()> {
    // The bench measures what the binaries run: glibc keeping freed memory (aegis-malloc);
    // AEGIS_BENCH_DEFAULT_MALLOC=1 skips it, to measure glibc's default behaviour instead.
    if !bench_env::default_malloc_requested() {
        aegis_model::keep_freed_memory();
    }
    // Run from the workspace root whatever the caller's folder (when the sources are there; a
    // copied binary runs where it is started).
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if root.join("Cargo.toml").is_file() {
        std::env::set_current_dir(root)?;
    }
    match Cli::parse().command {
        Command::Bench(args) => bench_cli::run(args)?,
        Command::BenchOps(args) => bench_ops::run(args)?,
        Command::BenchAutoattack { run, n, eps, out } => {
            let b = autoattack_bench::run(&run, n, eps, &out)?;
            println!(
                "Aegis {:.1}% in {:.0} s, reference {:.1}% in {:.0} s; written to {}/autoattack.md",
                100.0 * b.aegis_robust_accuracy,
                b.aegis_seconds,
                100.0 * b.reference.robust_accuracy,
                b.reference.seconds,
                out.display()
            );
        }
        Command::FetchMnist { base_url, out } => {
            fetch::fetch(&base_url, &out, &fetch::MNIST_FILES)?;
            println!(
                "MNIST ready: train with `cargo run --release -p aegis-model -- train --data {}`",
                out.display()
            );
        }
        Command::BundleAssets { source, out } => assets::bundle_mnist(&source, &out)?,
        Command::AuditScreenshot(args) => screenshot::run(args)?,
        Command::CrossCpu(args) => cross_cpu::run(args)?,
        Command::Fuzz { target, time, seed } => {
            fuzz::command(&target, time, seed)?;
        }
    }
    Ok(())
}
