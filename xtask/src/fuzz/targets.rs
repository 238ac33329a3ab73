//! The fuzz targets: every reader of a file a user hands to Aegis, fed a mutated copy of a
//! seed (`xtask/fuzz-seeds/`, made from the bundled data: a breast-cancer run, its export,
//! its review queue and audit log; IDX, CSV and NumPy seeds from `assets/` and
//! `tests/fixtures/`; ONNX seeds from `tests/fixtures/onnx/`). A target returns whether the
//! reader accepted the input; an error is fine, a panic or an allocation beyond the budget
//! is a finding.

use std::io::Write;
use std::path::{Path, PathBuf};

use aegis_model::burn::tensor::Device;
use aegis_model::data::idx::{encode_idx_u8, parse_idx};
use aegis_model::data::tabular::parse_csv;
use aegis_model::data::{ImageOptions, load_idx_dir, load_image_folder, load_npy, load_npz};
use aegis_model::import::sequential_config;
use aegis_model::import::weights::{key_remapper, read_state_dict};
use aegis_model::load_onnx;
use aegis_model::models::SequentialSpec;
use aegis_model::models::sequential::budget::{MemoryBudget, Phase};
use aegis_model::run::load_weights;
use aegis_model::{RunConfig, RunDir};
use aegis_oversight::{Queue, ScriptedDecisions, read_audit_log};
use anyhow::{Context, Result};

/// One reader under test: its name, its seed and how to feed it one input in a scratch folder.
pub struct Target {
    /// Name on the command line (`cargo xtask fuzz NAME`).
    pub name: &'static str,
    /// The seed the mutations start from.
    pub seed: Vec<u8>,
    /// Runs the reader on `input` inside the empty folder `dir`; `true` when it accepted it.
    pub run: Box<dyn Fn(&[u8], &Path) -> bool>,
    /// Bytes a third-party parser the reader uses may allocate in one request whatever the
    /// input, on top of [`super::budget`] (0 for every reader but ONNX's).
    pub allowance: usize,
}

/// rust-protobuf 3 (onnx-ir's ONNX parser) reserves a packed repeated field by the length
/// its header declares, capped at 10,000,000 elements, so a mutated header costs one
/// allocation of up to 80 MB (`u64` elements) before the parser finds the field truncated.
/// Bounded and independent of the input; the reader adds nothing of its own above it.
const PROTOBUF_PACKED_RESERVE: usize = 10_000_000 * 8;

/// `xtask/fuzz-seeds/<name>`.
fn seed_file(name: &str) -> Result<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-seeds")
        .join(name);
    std::fs::read(&path).with_context(|| format!("fuzz seed {}", path.display()))
}

/// A file of the workspace (bundled data, fixtures).
fn workspace_file(rel: &str) -> Result<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read(&path).with_context(|| format!("fuzz seed {}", path.display()))
}

/// Writes `bytes` to `dir/name` and returns the path.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch folder is writable");
    }
    std::fs::write(&path, bytes).expect("scratch folder is writable");
    path
}

/// A small valid IDX image file (`[n, 4, 4]` of u8) and its labels.
fn idx_pair(n: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * 16).map(|i| (i * 37 % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    (
        encode_idx_u8(&[n, 4, 4], &pixels),
        encode_idx_u8(&[n], &labels),
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("in memory");
    gz.finish().expect("in memory")
}

/// A valid 6×5 grey PNG.
fn png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(6, 5, |x, y| image::Luma([(x * 40 + y * 7) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("in memory");
    out.into_inner()
}

/// Every target, with its seed loaded.
pub fn all() -> Result<Vec<Target>> {
    let mut targets = data_targets()?;
    targets.extend(run_targets()?);
    targets.push(spec_target()?);
    targets.extend(onnx_targets()?);
    Ok(targets)
}

/// The memory budget a fuzzed spec is checked against before its model is built: half the
/// single-allocation budget of the smallest input, so a spec the check lets through can
/// never make an allocation the harness flags.
const SPEC_MEMORY_BUDGET: u64 = 32 << 20;

/// The spec reader (`train --arch`, `import --arch`): parse and shape-check the file, check
/// it against [`SPEC_MEMORY_BUDGET`], then build the model on flex and run one row through
/// it, so the estimate is tested against what Burn really allocates.
fn spec_target() -> Result<Target> {
    Ok(t(
        "spec",
        workspace_file("tests/fixtures/torch_import/arch.json")?,
        Box::new(|b, dir| {
            let Ok(spec) = SequentialSpec::from_file(&put(dir, "arch.json", b)) else {
                return false;
            };
            let budget = MemoryBudget::bytes(SPEC_MEMORY_BUDGET);
            if spec.check_memory(Phase::Inference, 1, &budget).is_err() {
                return false;
            }
            let Ok(config) = sequential_config(&spec, spec.input_shape.clone()) else {
                return false;
            };
            let device = Device::flex();
            let Ok(model) = config.init_for_loading(&device) else {
                return false;
            };
            let f: usize = spec.input_shape.iter().product();
            let x = aegis_model::burn::tensor::Tensor::<2>::zeros([1, f], &device);
            let logits = aegis_model::Classifier::logits(&model, x);
            logits.dims()[0] == 1
        }),
    ))
}

/// The ONNX reader (`import --onnx`): [`load_onnx`] on the mutated file on flex (the file
/// check, onnx-ir's parse, the plan and the trial forward pass), then one row through the
/// model it returns. Seeds: the MLP fixture (Gemm, Relu, Gelu) and the small CNN whose
/// adaptive pool PyTorch exports as index arithmetic (Conv, Gather, GatherND, Where, …).
fn onnx_targets() -> Result<Vec<Target>> {
    let run = |b: &[u8], dir: &Path| {
        let Ok(model) = load_onnx(&put(dir, "model.onnx", b), &Device::flex()) else {
            return false;
        };
        let f: usize = aegis_model::Classifier::input_shape(&model)
            .iter()
            .product();
        let x = aegis_model::burn::tensor::Tensor::<2>::zeros([1, f], &Device::flex());
        aegis_model::Classifier::logits(&model, x).dims()[0] == 1
    };
    let onnx = |name, seed| Target {
        name,
        seed,
        run: Box::new(run),
        allowance: PROTOBUF_PACKED_RESERVE,
    };
    Ok(vec![
        onnx(
            "onnx",
            workspace_file("tests/fixtures/onnx/mlp/model.onnx")?,
        ),
        onnx(
            "onnx-cnn",
            workspace_file("tests/fixtures/onnx/adaptive_pool/model.onnx")?,
        ),
    ])
}

/// A target.
fn t(name: &'static str, seed: Vec<u8>, run: Box<dyn Fn(&[u8], &Path) -> bool>) -> Target {
    Target {
        name,
        seed,
        run,
        allowance: 0,
    }
}

/// The readers of data files: IDX, CSV, NumPy, image folders.
fn data_targets() -> Result<Vec<Target>> {
    let (images, labels) = idx_pair(6);
    let npy_labels = workspace_file("tests/fixtures/torch_import/labels.npy")?;
    // The header and the first rows of each class (the file starts with 0s).
    let text = String::from_utf8(workspace_file("assets/breast_cancer.csv")?)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    let ones = rows.iter().filter(|l| l.ends_with(",1")).take(6);
    let zeros = rows.iter().filter(|l| l.ends_with(",0")).take(6);
    let csv = std::iter::once(header)
        .chain(zeros.chain(ones).copied())
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    let (img2, lab2) = (images.clone(), labels.clone());
    let lab3 = npy_labels.clone();
    Ok(vec![
        t(
            "idx",
            images.clone(),
            Box::new(|b, _| parse_idx(Path::new("x.idx"), b).is_ok()),
        ),
        t(
            "idx-gzip",
            labels.clone(),
            Box::new(|b, _| parse_idx(Path::new("x.idx.gz"), &gzip(b)).is_ok()),
        ),
        t(
            "idx-gzip-stream",
            gzip(&images),
            Box::new(|b, _| parse_idx(Path::new("x.idx.gz"), b).is_ok()),
        ),
        t(
            "idx-labels",
            labels,
            Box::new(move |b, dir| {
                put(dir, "train-images-idx3-ubyte", &img2);
                put(dir, "t10k-images-idx3-ubyte", &img2);
                put(dir, "train-labels-idx1-ubyte", b);
                put(dir, "t10k-labels-idx1-ubyte", &lab2);
                load_idx_dir(dir).is_ok()
            }),
        ),
        t(
            "csv",
            csv,
            Box::new(|b, _| parse_csv(Path::new("x.csv"), b, None).is_ok()),
        ),
        t(
            "npy",
            workspace_file("tests/fixtures/torch_import/inputs.npy")?,
            Box::new(move |b, dir| {
                put(dir, "labels.npy", &npy_labels);
                load_npy(&put(dir, "x.npy", b)).is_ok()
            }),
        ),
        t(
            "npy-labels",
            lab3.clone(),
            Box::new(move |b, dir| {
                let inputs = workspace_file("tests/fixtures/torch_import/inputs.npy")
                    .expect("fixture is there");
                put(dir, "labels.npy", b);
                load_npy(&put(dir, "x.npy", &inputs)).is_ok()
            }),
        ),
        t(
            "npz",
            npz_seed(&lab3)?,
            Box::new(|b, dir| load_npz(&put(dir, "d.npz", b)).is_ok()),
        ),
        t(
            "image-folder",
            png(),
            Box::new(|b, dir| {
                put(dir, "root/a/1.png", b);
                put(dir, "root/b/2.png", &png());
                load_image_folder(&dir.join("root"), ImageOptions::default()).is_ok()
            }),
        ),
    ])
}

/// The readers of what Aegis writes and users hand back: run files, weights, queues, logs.
fn run_targets() -> Result<Vec<Target>> {
    let config: RunConfig = serde_json::from_slice(&seed_file("config.json")?)?;
    let model_config = config.model.clone();
    let queue_meta = seed_file("queue/queue.json")?;
    let queue_lines = seed_file("queue/queue.jsonl")?;
    let (meta2, lines2) = (queue_meta.clone(), queue_lines.clone());
    Ok(vec![
        t(
            "run-config",
            seed_file("config.json")?,
            Box::new(|b, dir| {
                put(dir, "config.json", b);
                RunDir::new(dir).load_config().is_ok()
            }),
        ),
        t(
            "metrics",
            seed_file("metrics.json")?,
            Box::new(|b, dir| {
                put(dir, "metrics.json", b);
                RunDir::new(dir).load_metrics().is_ok()
            }),
        ),
        t(
            "model-bpk",
            seed_file("model.bpk")?,
            Box::new(move |b, dir| {
                load_weights(&model_config, &put(dir, "model.bpk", b), &Device::flex()).is_ok()
            }),
        ),
        t(
            "safetensors",
            seed_file("weights.safetensors")?,
            Box::new(|b, dir| {
                let path = put(dir, "w.safetensors", b);
                read_state_dict(&path, key_remapper(&[]).expect("no rules"), None).is_ok()
            }),
        ),
        t(
            "pytorch-pt",
            seed_file("tiny.pt")?,
            Box::new(|b, dir| {
                let path = put(dir, "w.pt", b);
                read_state_dict(&path, key_remapper(&[]).expect("no rules"), None).is_ok()
            }),
        ),
        t(
            "queue-jsonl",
            queue_lines,
            Box::new(move |b, dir| {
                put(dir, "q/queue.json", &meta2);
                put(dir, "q/queue.jsonl", b);
                Queue::load(&dir.join("q")).is_ok()
            }),
        ),
        t(
            "queue-json",
            queue_meta,
            Box::new(move |b, dir| {
                put(dir, "q/queue.json", b);
                put(dir, "q/queue.jsonl", &lines2);
                Queue::load(&dir.join("q")).is_ok()
            }),
        ),
        t(
            "audit-log",
            seed_file("queue/audit.jsonl")?,
            Box::new(|b, dir| read_audit_log(&put(dir, "audit.jsonl", b)).is_ok()),
        ),
        t(
            "decisions",
            seed_file("decisions.txt")?,
            Box::new(|b, dir| ScriptedDecisions::read(&put(dir, "d.txt", b)).is_ok()),
        ),
    ])
}

/// An `.npz` with `x` (the fixture's inputs) and `y` (its labels).
fn npz_seed(labels: &[u8]) -> Result<Vec<u8>> {
    let inputs = workspace_file("tests/fixtures/torch_import/inputs.npy")?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in [("x.npy", &inputs[..]), ("y.npy", labels)] {
        zip.start_file(name, opts)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
