//! `cargo xtask cross-cpu`: the statistical figures the tests assert, measured on more than one
//! CPU from one machine, and the spread a change of rounding causes.
//!
//! The same seed trains a slightly different model on a CPU with another SIMD width (see
//! ARCHITECTURE.md, "Determinism across machines"). This command shows how far that moves
//! every bar the tests put on a trained model:
//!
//! 1. It builds the test binaries (`cargo test --workspace --no-run`) and keeps those that
//!    assert figures: the ones whose bytes hold `aegis-figure` (tests/support/figures.rs).
//! 2. **Native spread.** It runs each of them with every training seed offset
//!    (`AEGIS_TEST_SEED_OFFSET` = 0..seeds) and both summation orders of the convolutions
//!    (Aegis's kernels, and Burn's layers with `AEGIS_KERNELS=burn`), collecting the
//!    `aegis-figure` lines the tests print (with `AEGIS_FIGURES_REPORT_ONLY` set: reported,
//!    not asserted, so one figure past its bar does not hide the next).
//! 3. **Another L1 data cache.** gemm cuts every product whose inner dimension exceeds 512
//!    where this machine's L1d geometry says (read from `/sys`), so two CPUs of the same ISA
//!    level but other caches (Zen 4's 32K/8-way, Zen 5's 48K/12-way) train different models.
//!    As root it binds other values over `/sys/…/cache/index0/{size,ways_of_associativity}`
//!    in a private mount namespace (`unshare -m`) and reruns seed offset 0 with both kernels.
//! 4. **Other ISA levels.** Under Debian's `qemu-user` (`qemu-x86_64 -cpu Haswell`: AVX2 and
//!    FMA without AVX-512; `-cpu Nehalem`: SSE4.2 without AVX) it runs the same binaries with
//!    the default seed, each within `--emulated-timeout` (SmallCnn training is far too slow
//!    there; those binaries are reported as such). Processes a test spawns run natively:
//!    qemu-user does not follow `execve`, so only in-process figures are emulated.
//! 5. It trains the moons MLP for three epochs at every level and prints the epoch losses to
//!    ten digits: the smallest witness that the levels round differently.
//!
//! Results: `target/cross-cpu/cross_cpu.{json,md}`; the Markdown is what ARCHITECTURE.md
//! quotes. Each figure's margin is the distance from its worst value, over every run, to its
//! bar.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

mod report;
mod variant;
use report::{markdown, summarise};
use variant::Variant;

/// Flags of `cargo xtask cross-cpu`.
#[derive(clap::Args, Debug)]
pub struct CrossCpuArgs {
    /// Training seed offsets run natively: 0..SEEDS (each with both convolution kernels).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Emulated CPUs (qemu-x86_64 -cpu NAME), comma-separated; `none` for native only.
    #[arg(long, default_value = "Haswell,Nehalem", value_delimiter = ',')]
    pub emulate: Vec<String>,
    /// L1 data caches to run natively as (`SIZE/WAYS`, e.g. 48K/12), through bind mounts over
    /// `/sys` in a private mount namespace (root): gemm cuts long products by them. `auto`:
    /// whichever of 32K/8 (Zen 1–4, Skylake) and 48K/12 (Zen 5, Ice Lake and later) this
    /// machine is not; `none`: no such run.
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    pub l1: Vec<String>,
    /// Seconds one test binary may run under emulation before it is stopped.
    #[arg(long, default_value_t = 600)]
    pub emulated_timeout: u64,
    /// Emulate only the binaries that ran natively (seed offset 0, Aegis's kernels) within
    /// this many seconds: emulation is 10–40 times slower, and SmallCnn training under it is
    /// impractical.
    #[arg(long, default_value_t = 20.0)]
    pub emulate_max_native_seconds: f64,
    /// Seconds one test binary may run natively.
    #[arg(long, default_value_t = 1800)]
    pub native_timeout: u64,
    /// Only the test binaries whose name (`package/target`) contains one of these.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "target/cross-cpu")]
    pub out: PathBuf,
}

/// One test binary.
#[derive(Debug, Clone, Serialize)]
struct TestBinary {
    /// `package/target` (`lib` for unit tests).
    name: String,
    path: PathBuf,
}

/// How one run was set up.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Setup {
    /// `native`, the emulated CPU's name or `L1d SIZE/WAYS-way`.
    cpu: String,
    seed_offset: u64,
    /// `aegis` (Aegis's flex kernels) or `burn` (Burn's layers).
    kernels: String,
}

/// One run of one binary.
#[derive(Debug, Clone, Serialize)]
struct BinaryRun {
    binary: String,
    setup: Setup,
    /// `passed`, `failed` (with the failing tests) or `stopped after N s`.
    outcome: String,
    seconds: f64,
}

/// One reported figure.
#[derive(Debug, Clone, Serialize)]
struct FigureValue {
    setup: Setup,
    value: f64,
}

/// A figure over every run.
#[derive(Debug, Clone, Serialize)]
struct FigureSummary {
    name: String,
    binary: String,
    bar: String,
    values: Vec<FigureValue>,
    native_min: Option<f64>,
    native_max: Option<f64>,
    /// Distance from the worst value over every run to the bar (negative: a run fails it).
    margin: Option<f64>,
}

/// The epoch losses of the moons MLP at one level.
#[derive(Debug, Clone, Serialize)]
struct LossWitness {
    cpu: String,
    losses: Vec<f64>,
    test_accuracy: f64,
}

/// Everything the command measured.
#[derive(Debug, Serialize)]
struct CrossCpuReport {
    cpu_model: String,
    native_level: String,
    host_l1: String,
    /// The labels of every way of running other than `native`.
    variants: Vec<String>,
    seeds: u64,
    witness: Vec<LossWitness>,
    runs: Vec<BinaryRun>,
    figures: Vec<FigureSummary>,
}

/// Runs the command.
pub fn run(args: CrossCpuArgs) -> Result<()> {
    let emulated: Vec<String> = args
        .emulate
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case("none") && !c.is_empty())
        .cloned()
        .collect();
    let qemu = which("qemu-x86_64");
    if !emulated.is_empty() && qemu.is_none() {
        bail!(
            "qemu-x86_64 is not installed (Debian: apt-get install qemu-user); run with \
             --emulate none for the native spread only"
        );
    }
    let l1 = l1_variants(&args.l1)?;
    let (binaries, model_exe) = figure_binaries(&args.only)?;
    println!(
        "{} test binaries assert figures: {}",
        binaries.len(),
        binaries
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut runs = Vec::new();
    let mut values: BTreeMap<(String, String), (String, Vec<FigureValue>)> = BTreeMap::new();
    let qemu_variants: Vec<Variant> = emulated.iter().cloned().map(Variant::Qemu).collect();
    let plan = plan(args.seeds, &l1, &qemu_variants);
    let mut native_seconds: BTreeMap<String, f64> = BTreeMap::new();
    for (variant, setup) in &plan {
        for bin in &binaries {
            let timeout = if !matches!(variant, Variant::Qemu(_)) {
                args.native_timeout
            } else {
                let native = native_seconds
                    .get(&bin.name)
                    .copied()
                    .unwrap_or(f64::INFINITY);
                if native > args.emulate_max_native_seconds {
                    println!(
                        "{:<44} {:<9} not emulated: {native:.0} s natively",
                        bin.name, setup.cpu
                    );
                    runs.push(BinaryRun {
                        binary: bin.name.clone(),
                        setup: setup.clone(),
                        outcome: format!("not emulated ({native:.0} s natively)"),
                        seconds: 0.0,
                    });
                    continue;
                }
                args.emulated_timeout
            };
            let (run, figures) = run_binary(bin, variant, setup, qemu.as_deref(), timeout)?;
            if setup.cpu == "native" && setup.seed_offset == 0 && setup.kernels == "aegis" {
                native_seconds.insert(bin.name.clone(), run.seconds);
            }
            println!(
                "{:<44} {:<9} seed+{} {:<5} {:>7.1}s  {}",
                bin.name, setup.cpu, setup.seed_offset, setup.kernels, run.seconds, run.outcome
            );
            for (name, bar, value) in figures {
                let entry = values
                    .entry((name, bin.name.clone()))
                    .or_insert_with(|| (bar.clone(), Vec::new()));
                entry.1.push(FigureValue {
                    setup: setup.clone(),
                    value,
                });
            }
            runs.push(run);
        }
    }
    let variants: Vec<Variant> = std::iter::once(Variant::Native)
        .chain(l1.iter().cloned())
        .chain(qemu_variants.iter().cloned())
        .collect();
    let witness = loss_witness(&model_exe, &variants, qemu.as_deref())?;
    let figures = values
        .into_iter()
        .map(|((name, binary), (bar, values))| summarise(name, binary, bar, values))
        .collect();
    let report = CrossCpuReport {
        cpu_model: cpu_model(),
        native_level: native_level(),
        host_l1: variant::host_l1().unwrap_or_else(|| "unknown".into()),
        variants: variants.iter().skip(1).map(Variant::label).collect(),
        seeds: args.seeds,
        witness,
        runs,
        figures,
    };
    std::fs::create_dir_all(&args.out)?;
    let md = markdown(&report);
    std::fs::write(
        args.out.join("cross_cpu.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(args.out.join("cross_cpu.md"), &md)?;
    println!("{md}");
    println!("written to {}/cross_cpu.{{json,md}}", args.out.display());
    Ok(())
}

/// Every way of running each binary, in order: native over seeds and kernels, each L1d with
/// both kernels, each emulated CPU with seed offset 0 and Aegis's kernels.
fn plan(seeds: u64, l1: &[Variant], qemu_variants: &[Variant]) -> Vec<(Variant, Setup)> {
    let setup = |variant: &Variant, seed_offset: u64, kernels: &str| {
        let s = Setup {
            cpu: variant.label(),
            seed_offset,
            kernels: kernels.into(),
        };
        (variant.clone(), s)
    };
    let mut plan = Vec::new();
    for seed_offset in 0..seeds {
        for kernels in ["aegis", "burn"] {
            plan.push(setup(&Variant::Native, seed_offset, kernels));
        }
    }
    for v in l1 {
        for kernels in ["aegis", "burn"] {
            plan.push(setup(v, 0, kernels));
        }
    }
    for v in qemu_variants {
        plan.push(setup(v, 0, "aegis"));
    }
    plan
}

/// The test binaries of the workspace that assert figures, built first, and the `aegis-model`
/// binary the same build made (its integration tests run it).
fn figure_binaries(only: &[String]) -> Result<(Vec<TestBinary>, PathBuf)> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cargo test --no-run")?;
    if !out.status.success() {
        bail!("cargo test --workspace --no-run failed");
    }
    let mut binaries = Vec::new();
    let mut model_exe = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = v["executable"].as_str() else {
            continue;
        };
        if v["profile"]["test"] != true {
            if v["target"]["name"] == "aegis-model" {
                model_exe = Some(PathBuf::from(exe));
            }
            continue;
        }
        let package = v["package_id"]
            .as_str()
            .and_then(package_name)
            .unwrap_or("?")
            .to_string();
        let kinds = &v["target"]["kind"];
        let target = if kinds
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "lib"))
        {
            "lib".to_string()
        } else {
            v["target"]["name"].as_str().unwrap_or("?").to_string()
        };
        let name = format!("{package}/{target}");
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let path = PathBuf::from(exe);
        if contains(&std::fs::read(&path)?, b"aegis-figure\t") {
            binaries.push(TestBinary { name, path });
        }
    }
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    binaries.dedup_by(|a, b| a.name == b.name);
    let model_exe = model_exe.context("cargo test --no-run built no aegis-model binary")?;
    Ok((binaries, model_exe))
}

/// `aegis-model` from a package id (`path+file:///…/crates/model#aegis-model@0.1.0`, or
/// `…#0.1.0` where the folder is the name).
fn package_name(id: &str) -> Option<&str> {
    let (head, tail) = id.rsplit_once('#')?;
    match tail.split_once('@') {
        Some((name, _)) => Some(name),
        None => head.rsplit('/').next(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs `bin` in `setup` (under qemu for an emulated CPU), within `timeout` seconds; returns
/// the run and the figures it printed (`name, bar, value`).
fn run_binary(
    bin: &TestBinary,
    variant: &Variant,
    setup: &Setup,
    qemu: Option<&Path>,
    timeout: u64,
) -> Result<(BinaryRun, Vec<(String, String, f64)>)> {
    let scratch = tempfile::tempdir()?;
    let mut cmd = variant.command(&bin.path, qemu, scratch.path())?;
    cmd.args(["--nocapture"])
        .env("AEGIS_TEST_SEED_OFFSET", setup.seed_offset.to_string())
        .env("AEGIS_FIGURES_REPORT_ONLY", "1")
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .env_remove("AEGIS_KERNELS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if setup.kernels == "burn" {
        cmd.env("AEGIS_KERNELS", "burn");
    }
    // The workspace root, as `cargo test` runs a package's tests from its own folder; the
    // tests find their fixtures from CARGO_MANIFEST_DIR, compiled in.
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| bin.path.display().to_string())?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(timeout) {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let seconds = start.elapsed().as_secs_f64();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let outcome = match status {
        None => format!("stopped after {timeout} s"),
        Some(s) if s.success() => "passed".into(),
        Some(_) => {
            let failed: Vec<&str> = stdout
                .lines()
                .chain(stderr.lines())
                .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
                .collect();
            format!("failed: {}", failed.join(", "))
        }
    };
    let figures: Vec<(String, String, f64)> = stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("aegis-figure\t")?.split('\t');
            let name = parts.next()?.to_string();
            let value: f64 = parts.next()?.parse().ok()?;
            let bar = parts.next()?.to_string();
            Some((name, bar, value))
        })
        .collect();
    let past = figures
        .iter()
        .filter(|(_, bar, value)| !report::meets(bar, *value))
        .count();
    let outcome = match past {
        0 => outcome,
        n => format!("{outcome}; {n} figures past their bars"),
    };
    Ok((
        BinaryRun {
            binary: bin.name.clone(),
            setup: setup.clone(),
            outcome,
            seconds,
        },
        figures,
    ))
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let mut bytes = Vec::new();
            p.read_to_end(&mut bytes).ok();
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// `aegis-model train --data moons --model mlp --epochs 3 --seed 1` at every level: the
/// epoch losses to ten digits.
fn loss_witness(exe: &Path, variants: &[Variant], qemu: Option<&Path>) -> Result<Vec<LossWitness>> {
    let mut out = Vec::new();
    for variant in variants {
        let cpu = variant.label();
        let dir = tempfile::tempdir()?;
        let mut cmd = variant.command(exe, qemu, dir.path())?;
        let run = dir.path().join("run");
        let result = cmd
            .args([
                "train", "--data", "moons", "--model", "mlp", "--epochs", "3",
            ])
            .args(["--seed", "1", "--out"])
            .arg(&run)
            .env_remove("AEGIS_KERNELS")
            .output()?;
        if !result.status.success() {
            bail!(
                "moons MLP on {cpu}: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("metrics.json"))?)?;
        let losses = metrics["epochs"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["loss"].as_f64()).collect())
            .unwrap_or_default();
        out.push(LossWitness {
            cpu,
            losses,
            test_accuracy: metrics["test_accuracy"].as_f64().unwrap_or(f64::NAN),
        });
    }
    Ok(out)
}

/// The `--l1` values as variants (`auto`: the common geometry this machine lacks).
fn l1_variants(wanted: &[String]) -> Result<Vec<Variant>> {
    let wanted: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty() && *w != "none")
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    if !variant::l1_variants_work() {
        println!("L1 variants skipped: they need root and /sys describing the L1d as index0");
        return Ok(Vec::new());
    }
    let host = variant::host_l1();
    let mut out = Vec::new();
    for w in wanted {
        if w == "auto" {
            for common in ["32K/8", "48K/12"] {
                if host.as_deref() != Some(common) {
                    out.push(Variant::parse_l1(common)?);
                }
            }
        } else {
            out.push(Variant::parse_l1(w)?);
        }
    }
    Ok(out)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The x86-64 level this CPU reaches, as the SIMD libraries detect it at run time.
fn native_level() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "x86-64-v4 (AVX-512F, AVX2, FMA)".into();
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "x86-64-v3 (AVX2, FMA; no AVX-512)".into();
        }
        if std::arch::is_x86_feature_detected!("sse4.2") {
            return "x86-64-v2 (SSE4.2; no AVX)".into();
        }
        "x86-64 (SSE2)".into()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.into()
    }
}
