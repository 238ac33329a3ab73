//! Bring-your-own-model against PyTorch: the fixture model of `tests/fixtures/torch_import`
//! (made by `bench/pytorch/import_fixtures.py`, torch 2.15.0 on CPU; a CNN with batch norms,
//! two residual blocks, a grouped dilated convolution, pools, layer norm and six activations)
//! imported from `.safetensors` and `.pt` must give PyTorch's logits within 1e-4; export →
//! import is bit-exact; and every bad input is a one-line error with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aegis_model::burn::tensor::Device;
use aegis_model::import::{
    WeightsSource, export_safetensors, load_pytorch, sequential_config, state_dict_of,
};
use aegis_model::{Classifier, DeviceSpec, Model, ModelConfig, SequentialSpec, batch_tensor};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;
use cli_contract::assert_clean_error;

#[path = "../../../tests/support/numeric.rs"]
mod numeric;
use numeric::max_abs_diff;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/torch_import")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<f32>()
        .unwrap()
}

fn config() -> ModelConfig {
    let spec = SequentialSpec::from_file(&fixture("arch.json")).unwrap();
    sequential_config(&spec, vec![3, 16, 16]).unwrap()
}

fn logits(model: &Model, device: &Device) -> Vec<f32> {
    let x = read_f32(&fixture("inputs.npy"));
    let n = x.len() / 768;
    model
        .logits(batch_tensor(x, n, 768, device))
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

#[test]
fn imported_logits_match_pytorch_from_safetensors_and_pt_on_flex_and_ndarray() {
    let expected = read_f32(&fixture("logits.npy"));
    let cfg = config();
    for spec in [DeviceSpec::Flex, DeviceSpec::NdArray] {
        let device = spec.open().unwrap();
        for file in ["model.safetensors", "model.pt"] {
            let model =
                load_pytorch(&cfg, &fixture(file), &WeightsSource::default(), &device).unwrap();
            let d = max_abs_diff(&logits(&model, &device), &expected);
            eprintln!("{file} on {spec}: max |Δ logit| vs PyTorch = {d:e}");
            assert!(d <= 1e-4, "{file} on {spec}: max |Δ logit| = {d:e}");
        }
    }
}

#[test]
fn export_then_import_is_bit_exact() {
    let device = Device::flex();
    let cfg = config();
    let first = load_pytorch(
        &cfg,
        &fixture("model.safetensors"),
        &WeightsSource::default(),
        &device,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("exported.safetensors");
    let (spec, params) = state_dict_of(&first, &cfg).unwrap();
    assert_eq!(
        Some(&spec),
        cfg.spec.as_ref(),
        "an imported model exports its own spec"
    );
    export_safetensors(&params, Default::default(), &out).unwrap();
    let second = load_pytorch(&cfg, &out, &WeightsSource::default(), &device).unwrap();
    assert_eq!(logits(&first, &device), logits(&second, &device));
    let (_, again) = state_dict_of(&second, &cfg).unwrap();
    assert_eq!(params, again, "every exported tensor is bit-identical");
    // Against the original file: the same keys (plus PyTorch's counters) and the same bits.
    let original = safetensors_tensors(&fixture("model.safetensors"));
    for (key, data) in &params {
        let (shape, bytes) = original
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, s, b)| (s, b))
            .unwrap();
        assert_eq!(&data.shape().to_vec(), shape, "{key}");
        if !key.ends_with("num_batches_tracked") {
            assert_eq!(data.as_bytes(), &bytes[..], "{key}");
        }
    }
}

fn safetensors_tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, v.shape().to_vec(), v.data().to_vec()))
        .collect()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aegis-model"));
    c.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    c
}

/// A data folder: the fixture inputs as `x.npy` with `labels` (a fixture file) as
/// `x_labels.npy`.
fn npy_data(dir: &Path, labels: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(fixture("inputs.npy"), dir.join("x.npy")).unwrap();
    std::fs::copy(fixture(labels), dir.join("x_labels.npy")).unwrap();
    dir.join("x.npy")
}

fn import(arch: &Path, weights: &Path, data: &Path, out: &Path) -> Output {
    bin()
        .args(["import", "--arch"])
        .arg(arch)
        .arg("--weights")
        .arg(weights)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn import_writes_a_run_that_eval_and_export_accept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = npy_data(&tmp.path().join("data"), "labels.npy");
    let run = tmp.path().join("run");
    let out = import(&fixture("arch.json"), &fixture("model.pt"), &data, &run);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported") && stdout.contains("test accuracy 100.00%"),
        "{stdout}"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"]["architecture"], "sequential");
    assert_eq!(config["extensions"]["import"]["format"], "pytorch");
    let out = bin().args(["eval", "--run"]).arg(&run).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // predict takes the NumPy inputs (exact: PyTorch's labels) and colour PNGs.
    let out = bin()
        .args(["predict", "--run"])
        .arg(&run)
        .arg(fixture("inputs.npy"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let classes: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["class"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let labels = npyz::NpyFile::new(&std::fs::read(fixture("labels.npy")).unwrap()[..])
        .unwrap()
        .into_vec::<i64>()
        .unwrap();
    assert_eq!(
        classes,
        labels.iter().map(|&l| l as u64).collect::<Vec<_>>()
    );
    let png = tmp.path().join("colour.png");
    image::RgbImage::from_pixel(20, 12, image::Rgb([200, 30, 90]))
        .save(&png)
        .unwrap();
    let out = bin()
        .args(["predict", "--run"])
        .arg(&run)
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = tmp.path().join("back.safetensors");
    let out = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&exported)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("back.arch.json").is_file());
    let again = import(
        &tmp.path().join("back.arch.json"),
        &exported,
        &data,
        &tmp.path().join("run2"),
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn each_bad_weights_file_is_one_line_naming_the_file_and_the_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let data = npy_data(&tmp.path().join("data"), "labels.npy");
    let arch = fixture("arch.json");
    let cases: [(&str, &[&str]); 5] = [
        (
            "missing_key.safetensors",
            &["missing_key.safetensors", "1 missing keys", "`15.weight`"],
        ),
        (
            "unexpected_key.safetensors",
            &[
                "unexpected_key.safetensors",
                "1 unexpected keys",
                "`99.weight`",
            ],
        ),
        (
            "wrong_shape.safetensors",
            &[
                "wrong_shape.safetensors",
                "`15.weight` expected [32, 64] found [32, 63]",
            ],
        ),
        (
            "wrong_dtype.safetensors",
            &["wrong_dtype.safetensors", "`15.weight` is i32"],
        ),
        (
            "whole_model.pt",
            &["whole_model.pt", "not a state_dict", "model.state_dict()"],
        ),
    ];
    for (file, needles) in cases {
        let out = import(&arch, &fixture(file), &data, &tmp.path().join(file));
        assert_clean_error(&out, needles);
        assert!(
            !tmp.path().join(file).join("model.bpk").exists(),
            "{file}: nothing written"
        );
    }
    for (name, keep) in [("truncated.safetensors", 20_000), ("truncated.pt", 20_000)] {
        let src = if name.ends_with("pt") {
            "model.pt"
        } else {
            "model.safetensors"
        };
        let bytes = std::fs::read(fixture(src)).unwrap();
        let cut = tmp.path().join(name);
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        let out = import(&arch, &cut, &data, &tmp.path().join("t"));
        assert_clean_error(&out, &[name, "truncated"]);
    }
}

#[test]
fn bad_specs_and_data_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = npy_data(&tmp.path().join("data"), "labels.npy");
    let unknown = tmp.path().join("unknown.json");
    std::fs::write(
        &unknown,
        r#"{"input_shape": [3, 16, 16], "layers": [{"type": "conv3d"}]}"#,
    )
    .unwrap();
    let out = import(
        &unknown,
        &fixture("model.safetensors"),
        &data,
        &tmp.path().join("r"),
    );
    assert_clean_error(&out, &["unknown.json", "layer 0", "conv3d"]);
    let impossible = tmp.path().join("impossible.json");
    let text = std::fs::read_to_string(fixture("arch.json"))
        .unwrap()
        .replacen("\"in_features\": 64", "\"in_features\": 65", 1);
    std::fs::write(&impossible, text).unwrap();
    let out = import(
        &impossible,
        &fixture("model.safetensors"),
        &data,
        &tmp.path().join("r"),
    );
    assert_clean_error(
        &out,
        &["impossible.json", "layer 15 (linear)", "[65]", "[64]"],
    );
    let bad = npy_data(&tmp.path().join("bad"), "bad_labels.npy");
    let out = import(
        &fixture("arch.json"),
        &fixture("model.safetensors"),
        &bad,
        &tmp.path().join("r"),
    );
    assert_clean_error(&out, &["x_labels.npy", "15 labels for 16 images"]);
}
