//! Import a PyTorch model and explain a prediction, from code: the committed fixture (a CNN
//! with batch norm trained in PyTorch, `tests/fixtures/mnist_bn`) into a run directory, then
//! integrated gradients of its first test image. `cargo run --example import_and_explain`.
//!
//! The same as `aegis-model import --arch … --weights … --data mnist --out RUN` followed by
//! `aegis-interpretability explain --run RUN --method ig --index 0`.

use std::path::Path;

use aegis::interpretability::{Attribution, IgConfig, IntegratedGradients};
use aegis::model::import::WeightsSource;
use aegis::model::{
    DataSource, DeviceSpec, ImportRequest, LoadedRun, SequentialSpec, import_run, predict,
};

fn main() -> anyhow::Result<()> {
    aegis::model::keep_freed_memory();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mnist_bn");
    let out = tempfile::tempdir()?;

    // Import: the spec says the layers, the weights file fills them; every key, shape and
    // dtype is checked before anything is loaded. The run is an ordinary run directory.
    let arch = fixture.join("arch.json");
    let report = import_run(&ImportRequest {
        spec: SequentialSpec::from_file(&arch)?,
        arch_path: arch,
        weights: fixture.join("model.safetensors"),
        source: WeightsSource::default(),
        data: DataSource::Mnist,
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: out.path().join("mnist-bn"),
    })?;
    println!("imported {} parameters", report.parameters);

    // Explain: integrated gradients (50 Gauss–Legendre nodes from a black image) toward the
    // predicted class of the first test image.
    let run = LoadedRun::open(&out.path().join("mnist-bn"), DeviceSpec::Flex)?;
    let f = run.test.features.len() / run.test.labels.len();
    let x = &run.test.features[..f];
    let class = predict(&run.model, x, 1, &run.device)[0];
    let ig = IntegratedGradients::new(IgConfig::new())?;
    let map = ig.attribute(&run.model, x, &[class], &run.device)?;

    let total: f32 = map.values.iter().sum();
    let delta = map.convergence_delta.as_ref().map_or(f32::NAN, |d| d[0]);
    println!("predicted class: {class} (label {})", run.test.labels[0]);
    println!("attribution sum: {total:.4}, convergence delta: {delta:.2e}");
    Ok(())
}
