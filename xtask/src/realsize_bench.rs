//! `cargo xtask bench --tasks real-size`: the networks robustness work is done with, on
//! CIFAR-size inputs `[3, 32, 32]`, beside PyTorch (issue 28), and the same network imported
//! both ways, as a spec with `.safetensors` weights and as an ONNX graph (issue 24's bar: the
//! graph is no slower than the spec).
//!
//! The PyTorch worker writes each model (`bench/pytorch/realsize.py`: ResNet-18 in the CIFAR
//! layout, WideResNet-16-4 in RobustBench's) with random weights and random BatchNorm running
//! statistics, as `arch.json` + `model.safetensors` and as `model.onnx` (torch's dynamo
//! exporter, opset 20), with 512 uniform rows and random labels; Aegis imports both files, and
//! the logits of the first 8 rows of all three must agree before anything is timed. Then, per
//! device: inference at batch 1, 32 and 256, PGD-10 (ε 8/255, step 2/255, random start) on 64
//! rows in one batch, for the spec and the graph; one training epoch of the 512 rows (batch 64,
//! Adam) for the spec (a graph is not trained). Random weights are fine for speed; the report
//! says so. Needs Python with torch (the worker), with or without `--with-pytorch`: without it
//! the worker only writes the models and nothing of PyTorch's is timed.

use std::path::Path;

use aegis_adversarial_trainer::{Attack, Goal, Pgd, PgdConfig};
use aegis_model::burn::tensor::Device;
use aegis_model::data::{Dataset, Split};
use aegis_model::import::{WeightsSource, load_pytorch, sequential_config};
use aegis_model::models::graph::load_onnx;
use aegis_model::train::{TrainConfig, TrainOptions, fit};
use aegis_model::{Classifier, Model, ModelConfig, SequentialSpec, batch_tensor, predict, to_host};
use anyhow::{Context, Result, ensure};
use serde::Serialize;
use serde_json::json;

use crate::bench_tasks::{TRAIN_TEST_ROWS, Task};
use crate::bench_torch::Worker;

/// The models: the worker's name and the table's.
pub const ARCHS: [(&str, &str); 2] = [
    ("resnet18", "ResNet-18 (CIFAR layout)"),
    ("wrn16_4", "WRN-16-4 (RobustBench layout)"),
];

/// Rows written with each model (training epoch; inference takes the first 256).
pub const ROWS: usize = 512;

/// Features of one `[3, 32, 32]` row.
const FEATURES: usize = 3 * 32 * 32;

/// Largest logit difference accepted between the three forms of one network.
const SAME_NETWORK: f64 = 1e-3;

/// One model as measured.
#[derive(Debug, Serialize)]
pub struct RealSizeModel {
    /// The table's name.
    pub name: String,
    /// The device Aegis ran it on.
    pub device: String,
    /// Parameters (PyTorch's count).
    pub parameters: usize,
    /// Largest |logit| difference, spec against PyTorch, first 8 rows.
    pub spec_vs_pytorch: f64,
    /// Largest |logit| difference, ONNX graph against PyTorch, first 8 rows.
    pub graph_vs_pytorch: f64,
}

/// A model written by the worker, imported both ways on one device, with its rows.
pub struct Imported {
    /// The table's name.
    pub name: String,
    /// The spec's config (a fresh model for the training task).
    pub config: ModelConfig,
    /// The spec with the `.safetensors` weights.
    pub spec: Model,
    /// The ONNX graph.
    pub graph: Model,
    /// The rows and their labels.
    pub data: Dataset,
}

/// Has the worker write `arch` (one of [`ARCHS`]) into `dir`; returns its parameter count and
/// PyTorch's logits of the first 8 rows. The worker's model and data are then this model's.
pub fn write_model(worker: &mut Worker, dir: &Path, arch: &str) -> Result<(usize, Vec<f64>)> {
    let answer = worker.request(json!({"cmd": "realsize", "dir": dir, "arch": arch,
                                       "rows": ROWS, "seed": 1}))?;
    Ok((
        serde_json::from_value(answer["parameters"].clone())?,
        serde_json::from_value(answer["logits"].clone())?,
    ))
}

/// Imports the model the worker wrote into `dir` on `device`, both ways, with its rows.
pub fn import(dir: &Path, name: &str, device: &Device) -> Result<Imported> {
    let spec: SequentialSpec = serde_json::from_slice(&std::fs::read(dir.join("arch.json"))?)?;
    let config = sequential_config(&spec, spec.input_shape.clone())?;
    let weights = dir.join("model.safetensors");
    let spec_model = load_pytorch(&config, &weights, &WeightsSource::default(), device)
        .with_context(|| weights.display().to_string())?;
    let graph = Model::Graph(load_onnx(&dir.join("model.onnx"), device)?);
    let x: Vec<f32> = std::fs::read(dir.join("x.f32"))?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let labels: Vec<usize> = std::fs::read(dir.join("y.i64"))?
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .collect();
    ensure!(
        x.len() == ROWS * FEATURES && labels.len() == ROWS,
        "{}: wrong row count",
        dir.display()
    );
    let data = Dataset {
        features: x,
        labels,
        sample_shape: vec![3, 32, 32],
        num_classes: 10,
        feature_names: Vec::new(),
        class_names: (0..10).map(|c| c.to_string()).collect(),
    };
    Ok(Imported {
        name: name.to_string(),
        config,
        spec: spec_model,
        graph,
        data,
    })
}

/// Checks that the spec and the graph compute PyTorch's network (`theirs`: its logits of the
/// first 8 rows) and returns the record (its `device` left for the caller).
pub fn check_same(
    m: &Imported,
    parameters: usize,
    theirs: &[f64],
    device: &Device,
) -> Result<RealSizeModel> {
    let x = batch_tensor(
        m.data.features[..8 * FEATURES].to_vec(),
        8,
        FEATURES,
        device,
    );
    let diff = |model: &Model| {
        to_host(model.logits(x.clone()))
            .iter()
            .zip(theirs)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max)
    };
    let (spec, graph) = (diff(&m.spec), diff(&m.graph));
    eprintln!(
        "{}: logits within {spec:.1e} (spec) and {graph:.1e} (ONNX) of PyTorch's",
        m.name
    );
    ensure!(
        spec < SAME_NETWORK && graph < SAME_NETWORK,
        "{}: the imported models are not PyTorch's network (logits {spec:.1e} and {graph:.1e} away)",
        m.name
    );
    Ok(RealSizeModel {
        name: m.name.clone(),
        device: String::new(),
        parameters,
        spec_vs_pytorch: spec,
        graph_vs_pytorch: graph,
    })
}

/// The timed tasks of one imported model on `device`.
pub fn tasks<'a>(m: &'a Imported, arch: &str, device: &'a Device) -> Result<Vec<Task<'a>>> {
    let mut all = Vec::new();
    for (model, how) in [(&m.spec, "spec"), (&m.graph, "ONNX")] {
        for (batch, rows) in [(1, 32), (32, 256), (256, 256)] {
            all.push(inference(
                model,
                &format!("{} {how}", m.name),
                &m.data,
                batch,
                rows,
                device,
            ));
        }
    }
    for (model, how) in [(&m.spec, "spec"), (&m.graph, "ONNX")] {
        all.push(pgd(model, &format!("{} {how}", m.name), &m.data, device)?);
    }
    all.push(training(m, arch, device));
    Ok(all)
}

fn inference<'a>(
    model: &'a Model,
    name: &str,
    data: &'a Dataset,
    batch: usize,
    rows: usize,
    device: &'a Device,
) -> Task<'a> {
    let xs = &data.features[..rows * FEATURES];
    Task {
        name: format!("inference {name} ({rows} rows, random weights)"),
        batch,
        samples: rows,
        torch: Some(json!({"task": "infer", "rows": rows, "batch": batch})),
        run: Box::new(move || {
            predict(model, xs, batch, device);
            Ok(())
        }),
    }
}

fn pgd<'a>(
    model: &'a Model,
    name: &str,
    data: &'a Dataset,
    device: &'a Device,
) -> Result<Task<'a>> {
    let (rows, eps, step) = (64, 8.0 / 255.0, 2.0 / 255.0);
    let pgd = Pgd::new(PgdConfig::new(eps).with_steps(10).with_step_size(step))?;
    let goal = Goal::Untargeted(data.labels[..rows].to_vec());
    let xs = &data.features[..rows * FEATURES];
    Ok(Task {
        name: format!("PGD-10 {name} ({rows} rows, ε 8/255, step 2/255, random weights)"),
        batch: rows,
        samples: rows,
        torch: Some(
            json!({"task": "pgd", "rows": rows, "batch": rows, "eps": eps,
                           "step_size": step, "steps": 10}),
        ),
        run: Box::new(move || {
            let x = batch_tensor(xs.to_vec(), rows, FEATURES, device);
            pgd.perturb(model, x, &goal)?.into_data();
            Ok(())
        }),
    })
}

fn training<'a>(m: &'a Imported, arch: &str, device: &'a Device) -> Task<'a> {
    let batch = 64;
    let split = Split {
        train: m.data.clone(),
        test: m.data.clone().head(Some(TRAIN_TEST_ROWS)),
    };
    let cfg = TrainConfig::new().with_epochs(1).with_batch_size(batch);
    Task {
        name: format!("train {} spec (Adam, {ROWS} random rows, 1 epoch)", m.name),
        batch,
        samples: ROWS,
        torch: Some(
            json!({"task": "train", "arch": arch, "rows": ROWS, "batch": batch,
                           "test_rows": TRAIN_TEST_ROWS}),
        ),
        run: Box::new(move || {
            fit(
                m.config.init(device, 1)?,
                &cfg,
                &split,
                device,
                &TrainOptions::default(),
            )?;
            Ok(())
        }),
    }
}
