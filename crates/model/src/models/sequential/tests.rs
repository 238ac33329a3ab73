//! Unit tests of the spec format, its shape check and the built-in equivalence.

use burn::tensor::Device;

use super::builtin::builtin_spec;
use super::spec::SequentialSpec;
use crate::classifier::{Classifier, batch_tensor};
use crate::models::{Architecture, ModelConfig};

fn parse(json: &str) -> Result<SequentialSpec, String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("arch.json");
    std::fs::write(&p, json).unwrap();
    SequentialSpec::from_file(&p).map_err(|e| e.to_string())
}

fn logits(cfg: &ModelConfig, seed: u64, x: &[f32], n: usize) -> Vec<f32> {
    let device = Device::flex();
    let model = cfg.init(&device, seed).unwrap().valid();
    let f = x.len() / n;
    model
        .logits(batch_tensor(x.to_vec(), n, f, &device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

use burn::module::Module;

#[test]
fn every_builtin_is_a_spec_with_identical_weights_and_logits() {
    let x: Vec<f32> = (0..3 * 784)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    for (arch, shape, hidden) in [
        (Architecture::Mlp, vec![1, 28, 28], vec![32, 16]),
        (Architecture::SmallCnn, vec![1, 28, 28], vec![]),
        (Architecture::MadryCnn, vec![1, 28, 28], vec![]),
    ] {
        let builtin = ModelConfig::new(arch, shape.clone(), 10)
            .with_hidden(hidden.clone())
            .with_dropout(0.3);
        let spec = builtin_spec(arch, &shape, &hidden, 0.3, 10).unwrap();
        let seq = ModelConfig::new(Architecture::Sequential, shape, 10).with_spec(Some(spec));
        assert_eq!(logits(&builtin, 5, &x, 3), logits(&seq, 5, &x, 3), "{arch}");
        let json = serde_json::to_string(&seq).unwrap();
        let back: ModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.spec, seq.spec, "{arch}: the spec survives config.json");
    }
}

#[test]
fn pairs_read_from_numbers_or_lists_and_defaults_follow_pytorch() {
    let spec = parse(
        r#"{"input_shape": [3, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": [1, 1], "name": "stem"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "in_features": 64, "out_features": 5}]}"#,
    )
    .unwrap();
    assert_eq!(spec.output_classes(), Ok(5));
    assert_eq!(spec.layers[0].name.as_deref(), Some("stem"));
    let names: Vec<String> = super::torch::expected_params(&spec)
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(names, ["stem.weight", "stem.bias", "3.weight", "3.bias"]);
}

#[test]
fn a_bad_spec_names_the_layer_and_the_shapes() {
    let e = parse(r#"{"input_shape": [4], "layers": [{"type": "linear", "in_features": 4, "out_features": 3}, {"type": "conv3d"}]}"#)
        .unwrap_err();
    assert!(
        e.contains("layer 1") && e.contains("conv3d") && e.contains("conv2d"),
        "{e}"
    );
    let e = parse(r#"{"input_shape": [4], "layers": [{"type": "linear", "in_features": 5, "out_features": 3}]}"#).unwrap_err();
    assert!(
        e.contains("layer 0 (linear)") && e.contains("[5]") && e.contains("[4]"),
        "{e}"
    );
    let e = parse(r#"{"input_shape": [3, 8, 8], "layers": [{"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}]}"#)
        .unwrap_err();
    assert!(e.contains("1 channels") && e.contains("[3, 8, 8]"), "{e}");
    let e = parse(r#"{"input_shape": [1, 4, 4], "layers": [{"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 5}]}"#)
        .unwrap_err();
    assert!(e.contains("does not fit") && e.contains("[1, 4, 4]"), "{e}");
    let e = parse(
        r#"{"input_shape": [4], "layers": [{"type": "residual", "layers": [{"type": "linear", "in_features": 4, "out_features": 2}]},
            {"type": "linear", "in_features": 2, "out_features": 2}]}"#,
    )
    .unwrap_err();
    assert!(
        e.contains("layer 0 (residual)") && e.contains("shortcut"),
        "{e}"
    );
    let e = parse(r#"{"input_shape": [4], "layers": [{"type": "linear", "in_features": 4, "out_features": 3, "kernal": 1}]}"#)
        .unwrap_err();
    assert!(e.contains("kernal"), "{e}");
    let e = parse(r#"{"input_shape": [1, 4, 4], "layers": [{"type": "relu"}]}"#).unwrap_err();
    assert!(e.contains("flat logits"), "{e}");
}

#[test]
fn a_spec_with_batch_norm_and_a_residual_block_trains() {
    let spec = parse(
        r#"{"input_shape": [2], "layers": [
            {"type": "linear", "in_features": 2, "out_features": 16},
            {"type": "batchnorm1d", "num_features": 16},
            {"type": "relu"},
            {"type": "residual", "layers": [
                {"type": "linear", "in_features": 16, "out_features": 16},
                {"type": "gelu"}]},
            {"type": "dropout", "p": 0.1},
            {"type": "linear", "in_features": 16, "out_features": 2}]}"#,
    )
    .unwrap();
    let mut req = crate::TrainRequest::new(crate::DataSource::Moons);
    req.architecture = Some(Architecture::Sequential);
    req.spec = Some(spec);
    req.train = req
        .train
        .clone()
        .with_epochs(8)
        .with_seed(crate::figures::seed(2));
    let a = crate::train_run(&req).unwrap();
    // Spread: 0.85 to 0.885 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    crate::figures::at_least(
        "model/sequential_batchnorm_residual_moons_accuracy",
        a.metrics.test_accuracy,
        0.8,
    );
    let b = crate::train_run(&req).unwrap();
    assert_eq!(a.metrics.test_accuracy, b.metrics.test_accuracy, "seeded");
    assert!(a.model.dropout_prob() > 0.0);
}

#[test]
fn a_builtin_model_exports_and_imports_back_with_identical_logits() {
    use crate::import::{
        WeightsSource, export_safetensors, load_pytorch, sequential_config, state_dict_of,
    };
    let device = Device::flex();
    let x: Vec<f32> = (0..2 * 784)
        .map(|i| ((i * 13) % 97) as f32 / 96.0)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    for (arch, hidden) in [
        (Architecture::Mlp, vec![16]),
        (Architecture::SmallCnn, vec![]),
        (Architecture::MadryCnn, vec![]),
    ] {
        let cfg = ModelConfig::new(arch, vec![1, 28, 28], 10).with_hidden(hidden);
        let model = cfg.init(&device, 4).unwrap().valid();
        let (spec, params) = state_dict_of(&model, &cfg).unwrap();
        let path = tmp.path().join(format!("{arch}.safetensors"));
        export_safetensors(&params, Default::default(), &path).unwrap();
        let back_cfg = sequential_config(&spec, vec![1, 28, 28]).unwrap();
        let back = load_pytorch(&back_cfg, &path, &WeightsSource::default(), &device).unwrap();
        let logits = |m: &crate::Model| {
            m.logits(batch_tensor(x.clone(), 2, 784, &device))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(logits(&model), logits(&back), "{arch}");
    }
}
