//! The bench's memory task: peak resident memory of `aegis-adversarial-trainer evaluate` at
//! 1,000 and 10,000 rows, which must not grow with the row count beyond the result arrays
//! (the bar: 10,000 rows within 1.5× of 1,000). The bundled MNIST has 1,000 test images, so
//! the task writes a derived IDX folder (the 4,000 bundled training images as they are; as
//! test split, the 1,000 bundled test images in ten copies shifted by up to two pixels,
//! labels kept: 10,000 rows), trains SmallCnn on it for one epoch (`aegis-model train`) and
//! runs `evaluate --limit N` on that run with a cheap attack (FGSM at ε 0 and 0.1; the sanity
//! checks' box PGD-20 and input gradients run on every row as always). Both binaries are the
//! dev-profile ones `cargo build` makes (the profile `cargo xtask` runs in); each child's peak
//! is its `VmHWM`, read every 5 ms while it runs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aegis_model::data::DataSource;
use aegis_model::data::idx::encode_idx_u8;
use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;

use crate::bench_env::peak_rss_mb_of;

/// The row counts measured.
pub const ROWS: [usize; 2] = [1_000, 10_000];
/// Largest allowed peak at 10,000 rows over the peak at 1,000 rows.
pub const BAR: f64 = 1.5;
/// Shifts (right, down) in pixels of the ten test copies; the first is the original.
const SHIFTS: [(i32, i32); 10] = [
    (0, 0),
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (-1, -1),
    (1, -1),
    (-1, 1),
    (2, 0),
];
/// Side of an MNIST image.
const SIDE: usize = 28;
/// The `evaluate` flags after `--limit N`: one cheap attack.
const EVALUATE_FLAGS: [&str; 6] = ["--suite", "custom", "--attacks", "fgsm", "--eps", "0,0.1"];

/// One `evaluate` run.
#[derive(Debug, Serialize)]
pub struct MemoryRow {
    /// Rows evaluated (`--limit`).
    pub rows: usize,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
    /// Wall-clock seconds of the process.
    pub seconds: f64,
    /// Clean accuracy its report.json gives (the rows were evaluated).
    pub clean_accuracy: f64,
}

/// The memory task's result.
#[derive(Debug, Serialize)]
pub struct MemoryBench {
    /// What was evaluated.
    pub data: String,
    /// The model.
    pub model: String,
    /// The command measured (`N` for the row count).
    pub command: String,
    /// `RAYON_NUM_THREADS` of the children.
    pub threads: usize,
    /// How the peak is read.
    pub measured_as: String,
    /// One run per row count, in [`ROWS`] order.
    pub runs: Vec<MemoryRow>,
    /// Peak at the most rows over the peak at the fewest.
    pub ratio: f64,
    /// The bar on `ratio`.
    pub bar: f64,
    /// `ratio` within the bar.
    pub passed: bool,
}

/// Builds the binaries, writes the derived data into `out/evaluate-memory`, trains the run and
/// measures `evaluate` at each of [`ROWS`].
pub fn run(out: &Path, threads: usize) -> Result<MemoryBench> {
    let dir = std::path::absolute(out.join("evaluate-memory"))?;
    std::fs::create_dir_all(&dir)?;
    let bins = Binaries::build()?;
    let data = dir.join("mnist-shifted");
    write_derived_mnist(&data)?;
    let run = dir.join("run");
    if run.exists() {
        std::fs::remove_dir_all(&run)?;
    }
    let mut train = Command::new(&bins.model);
    train.arg("train").arg("--data").arg(&data);
    train
        .args(["--epochs", "1", "--seed", "1", "--out"])
        .arg(&run);
    measured(train, threads, &dir.join("train.log"))?;
    let mut runs = Vec::new();
    for rows in ROWS {
        let report = dir.join(format!("evaluate-{rows}"));
        let mut cmd = Command::new(&bins.trainer);
        cmd.arg("evaluate").arg("--run").arg(&run);
        cmd.args(["--limit", &rows.to_string()])
            .args(EVALUATE_FLAGS);
        cmd.arg("--out").arg(&report);
        let (peak_rss_mb, seconds) = measured(cmd, threads, &dir.join(format!("{rows}.log")))?;
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.join("report.json"))?)?;
        ensure!(
            json["n"].as_u64() == Some(rows as u64),
            "evaluate --limit {rows} reported {} rows",
            json["n"]
        );
        eprintln!("evaluate at {rows} rows: peak {peak_rss_mb:.0} MB, {seconds:.1} s");
        runs.push(MemoryRow {
            rows,
            peak_rss_mb,
            seconds,
            clean_accuracy: json["clean_accuracy"].as_f64().unwrap_or(f64::NAN),
        });
    }
    let ratio = runs[runs.len() - 1].peak_rss_mb / runs[0].peak_rss_mb;
    Ok(MemoryBench {
        data: format!(
            "derived MNIST (assets/mnist: 4,000 training images; test split: the 1,000 test \
             images in {} copies shifted by up to 2 pixels, labels kept)",
            SHIFTS.len()
        ),
        model: "SmallCnn, 1 epoch on the 4,000 training images (aegis-model train --epochs 1 \
                --seed 1)"
            .into(),
        command: format!(
            "aegis-adversarial-trainer evaluate --run RUN --limit N {}",
            EVALUATE_FLAGS.join(" ")
        ),
        threads,
        measured_as: "VmHWM of /proc/PID/status, read every 5 ms while the process runs".into(),
        runs,
        ratio,
        bar: BAR,
        passed: ratio <= BAR,
    })
}

/// The dev-profile binaries of `aegis-model` and `aegis-adversarial-trainer`.
struct Binaries {
    model: PathBuf,
    trainer: PathBuf,
}

impl Binaries {
    /// `cargo build` of both binaries; their paths from Cargo's JSON messages.
    fn build() -> Result<Self> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "build",
                "--message-format=json-render-diagnostics",
                "--bins",
            ])
            .args(["-p", "aegis-model", "-p", "aegis-adversarial-trainer"])
            .stderr(Stdio::inherit())
            .output()
            .context("cargo builds the aegis-model and aegis-adversarial-trainer binaries")?;
        if !output.status.success() {
            bail!("cargo build of the binaries failed ({})", output.status);
        }
        let executable = |name: &str| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|m| m["target"]["name"] == name && m["executable"].is_string())
                .and_then(|m| m["executable"].as_str().map(PathBuf::from))
                .with_context(|| format!("cargo build named no executable `{name}`"))
        };
        Ok(Self {
            model: executable("aegis-model")?,
            trainer: executable("aegis-adversarial-trainer")?,
        })
    }
}

/// Runs `cmd` to its end with `threads` rayon threads, its output into `log`, reading its
/// peak resident memory every 5 ms; returns that peak (MB) and the seconds it ran.
fn measured(mut cmd: Command, threads: usize, log: &Path) -> Result<(f64, f64)> {
    let file = File::create(log)?;
    cmd.env("RAYON_NUM_THREADS", threads.to_string())
        .stdout(file.try_clone()?)
        .stderr(file);
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let mut peak = 0.0_f64;
    // Read, then ask whether it has ended: the last reading is at most one interval old.
    let status = loop {
        if let Some(mb) = peak_rss_mb_of(child.id()) {
            peak = peak.max(mb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    ensure!(
        status.success(),
        "{cmd:?} failed ({status}); its output is in {}",
        log.display()
    );
    ensure!(peak > 0.0, "{cmd:?} ended before its memory could be read");
    Ok((peak, seconds))
}

/// Writes the derived IDX folder (raw, not gzipped) into `dir`.
fn write_derived_mnist(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let (mnist, _) = DataSource::Mnist.load_split(0, 0.2)?;
    let bytes = |features: &[f32]| -> Vec<u8> {
        features
            .iter()
            .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect()
    };
    let labels = |labels: &[usize]| -> Vec<u8> { labels.iter().map(|&l| l as u8).collect() };
    let pixels = SIDE * SIDE;
    let test = bytes(&mnist.test.features);
    let mut images = Vec::with_capacity(SHIFTS.len() * test.len());
    let mut test_labels = Vec::with_capacity(SHIFTS.len() * mnist.test.len());
    for (dx, dy) in SHIFTS {
        for image in test.chunks(pixels) {
            images.extend(shifted(image, dx, dy));
        }
        test_labels.extend(labels(&mnist.test.labels));
    }
    let n_test = test_labels.len();
    let n_train = mnist.train.len();
    for (name, dims, values) in [
        (
            "train-images-idx3-ubyte",
            vec![n_train, SIDE, SIDE],
            bytes(&mnist.train.features),
        ),
        (
            "train-labels-idx1-ubyte",
            vec![n_train],
            labels(&mnist.train.labels),
        ),
        ("t10k-images-idx3-ubyte", vec![n_test, SIDE, SIDE], images),
        ("t10k-labels-idx1-ubyte", vec![n_test], test_labels),
    ] {
        aegis_model::io::write_atomic(&dir.join(name), &encode_idx_u8(&dims, &values))?;
    }
    Ok(())
}

/// A 28×28 image moved `dx` pixels right and `dy` down, zeros where it uncovers.
fn shifted(image: &[u8], dx: i32, dy: i32) -> Vec<u8> {
    let side = SIDE as i32;
    let mut out = vec![0; image.len()];
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = (x - dx, y - dy);
            if (0..side).contains(&sx) && (0..side).contains(&sy) {
                out[(y * side + x) as usize] = image[(sy * side + sx) as usize];
            }
        }
    }
    out
}

/// `1,000`, `10,000`.
pub fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}

/// The task as Markdown: the data, the command, one row per row count, the ratio and the bar.
pub fn markdown(m: &MemoryBench) -> String {
    let mut s = format!(
        "`evaluate` peak memory against the row count: `{}` ({} threads) on {}; model: {}; \
         peak: {}.\n\n| rows | peak RSS (MB) | seconds | clean accuracy |\n|---:|---:|---:|---:|\n",
        m.command, m.threads, m.data, m.model, m.measured_as
    );
    for r in &m.runs {
        s += &format!(
            "| {} | {:.0} | {:.1} | {:.1}% |\n",
            with_commas(r.rows),
            r.peak_rss_mb,
            r.seconds,
            100.0 * r.clean_accuracy
        );
    }
    s += &format!(
        "\nPeak at {} rows ÷ peak at {} rows: **{:.2}×** (bar: at most {}×): {}\n",
        with_commas(ROWS[1]),
        with_commas(ROWS[0]),
        m.ratio,
        m.bar,
        if m.passed { "ok" } else { "OVER THE BAR" }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_moves_pixels_and_fills_zeros() {
        let mut image = vec![0u8; SIDE * SIDE];
        image[0] = 7; // (0, 0)
        image[SIDE * SIDE - 1] = 9; // (27, 27)
        let right = shifted(&image, 1, 0);
        assert_eq!(right[1], 7);
        assert_eq!(right.iter().filter(|&&v| v != 0).count(), 1); // (27, 27) left the image
        let up = shifted(&image, 0, -1);
        assert_eq!(up[SIDE * 26 + 27], 9);
        assert_eq!(shifted(&image, 0, 0), image);
    }

    #[test]
    fn counts_are_written_with_commas() {
        assert_eq!(with_commas(1_000), "1,000");
        assert_eq!(with_commas(10_000), "10,000");
        assert_eq!(with_commas(999), "999");
        assert_eq!(with_commas(1_234_567), "1,234,567");
    }
}
