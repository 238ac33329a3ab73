//! Weight loading side by side with PyTorch, in one run on the same cores: the PyTorch script
//! (`bench/pytorch/load_bench.py`) writes a ResNet-style CNN (about 11 M parameters) as
//! `.safetensors` and `.pt` with its spec and times its own `load_state_dict`; then Aegis's
//! `load_pytorch` (read, check, build, load) is timed on the same files. Skipped, with the
//! reason in the report, when `python3` with torch is not installed.

use std::path::Path;
use std::time::Instant;

use aegis_model::burn::tensor::Device;
use aegis_model::import::{WeightsSource, load_pytorch, sequential_config};
use aegis_model::{DeviceSpec, SequentialSpec};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One file loaded by both.
#[derive(Debug, Serialize)]
pub struct LoadResult {
    /// `safetensors` or `pt`.
    pub format: String,
    /// Parameters in the file.
    pub parameters: usize,
    /// PyTorch: read the file and `load_state_dict` into an existing model (median).
    pub pytorch_seconds: f64,
    /// PyTorch: build the model, read the file and `load_state_dict` (median).
    pub pytorch_with_build_seconds: f64,
    /// Aegis on flex: read, check the keys, build the model and load (median).
    pub aegis_seconds: f64,
    /// `aegis_seconds / pytorch_seconds` (the bar: at most 2).
    pub ratio: f64,
    /// `aegis_seconds / pytorch_with_build_seconds`.
    pub ratio_with_build: f64,
}

/// The comparison, or why it was not made.
#[derive(Debug, Serialize)]
pub struct LoadBench {
    /// The torch version that ran, when it did.
    pub torch: Option<String>,
    /// Results per format.
    pub results: Vec<LoadResult>,
    /// Why nothing was measured.
    pub skipped: Option<String>,
}

#[derive(Deserialize)]
struct TorchSide {
    torch: String,
    parameters: usize,
    seconds: std::collections::BTreeMap<String, f64>,
    seconds_with_build: std::collections::BTreeMap<String, f64>,
}

fn torch_side(dir: &Path, repeats: usize, threads: usize) -> Result<TorchSide> {
    let args = [
        "--out".into(),
        dir.into(),
        "--repeats".into(),
        repeats.to_string().into(),
    ];
    let threads = ["--threads".into(), threads.to_string().into()];
    crate::python::run_json(
        "bench/pytorch/load_bench.py",
        &[args.as_slice(), &threads].concat(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs both sides on files written under `dir`, timing each `repeats` times after a warm-up.
pub fn run(dir: &Path, repeats: usize) -> Result<LoadBench> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let theirs = match torch_side(dir, repeats, threads) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("weight loading not compared: {e}");
            return Ok(LoadBench {
                torch: None,
                results: Vec::new(),
                skipped: Some(e.to_string()),
            });
        }
    };
    let spec = SequentialSpec::from_file(&dir.join("arch.json"))?;
    let cfg = sequential_config(&spec, spec.input_shape.clone())?;
    let device: Device = DeviceSpec::Flex.open()?;
    let mut results = Vec::new();
    for (format, file) in [("safetensors", "model.safetensors"), ("pt", "model.pt")] {
        let path = dir.join(file);
        let load = || load_pytorch(&cfg, &path, &WeightsSource::default(), &device);
        load()?;
        let mut secs = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let t = Instant::now();
            let model = load()?;
            secs.push(t.elapsed().as_secs_f64());
            drop(model);
        }
        let aegis = median(secs);
        let torch = theirs
            .seconds
            .get(format)
            .copied()
            .context("PyTorch result missing")?;
        let built = theirs
            .seconds_with_build
            .get(format)
            .copied()
            .context("PyTorch result missing")?;
        results.push(LoadResult {
            format: format.into(),
            parameters: theirs.parameters,
            pytorch_seconds: torch,
            pytorch_with_build_seconds: built,
            aegis_seconds: aegis,
            ratio: aegis / torch,
            ratio_with_build: aegis / built,
        });
    }
    Ok(LoadBench {
        torch: Some(theirs.torch),
        results,
        skipped: None,
    })
}

/// The Markdown section of the report.
pub fn markdown(b: &LoadBench) -> String {
    let mut s = String::from("\n## Weight loading vs PyTorch (same files, same run)\n\n");
    if let Some(why) = &b.skipped {
        return s + &format!("Not measured: {why}\n");
    }
    s += &format!(
        "PyTorch {}: read + `load_state_dict` into an existing model (load), and build + read + load (build + load); Aegis (flex): read, check every key, build, load. Median of the repeats.\n\n| format | parameters | PyTorch load s | PyTorch build + load s | Aegis s | Aegis / PyTorch load | Aegis / PyTorch build + load |\n|---|---:|---:|---:|---:|---:|---:|\n",
        b.torch.as_deref().unwrap_or("?")
    );
    for r in &b.results {
        s += &format!(
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.2}× | {:.2}× |\n",
            r.format,
            r.parameters,
            r.pytorch_seconds,
            r.pytorch_with_build_seconds,
            r.aegis_seconds,
            r.ratio,
            r.ratio_with_build
        );
    }
    s
}
