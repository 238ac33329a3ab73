//! Bring your own model, end to end: a PyTorch CNN with batch norm trained on the bundled
//! MNIST subset (`tests/fixtures/mnist_bn`, made by `bench/pytorch/mnist_bn_example.py`,
//! torch 2.15.0 on CPU) is imported by `aegis-model import` and audited by the other binaries
//! unchanged: `aegis-adversarial-trainer evaluate`, `aegis-uncertainty calibrate`,
//! `aegis-interpretability explain`. Its logits match PyTorch's on all 1,000 test images, and
//! the fixture CNN of `tests/fixtures/torch_import` matches on wgpu as on flex.

use std::path::{Path, PathBuf};
use std::process::Command;

use aegis::model::burn::tensor::Device;
use aegis::model::import::{WeightsSource, load_pytorch, sequential_config};
use aegis::model::{Classifier, DataSource, DeviceSpec, SequentialSpec, batch_tensor};

#[path = "support/numeric.rs"]
mod numeric;
use numeric::max_abs_diff;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    npy_f32(&bytes)
}

/// Reads a little-endian float32 `.npy` (version 1 header) without a NumPy crate.
fn npy_f32(bytes: &[u8]) -> Vec<f32> {
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not an .npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'<f4'"), "float32 expected: {header}");
    bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn logits(spec: &str, weights: &str, shape: Vec<usize>, x: Vec<f32>, device: &Device) -> Vec<f32> {
    let spec = SequentialSpec::from_file(&fixture(spec)).unwrap();
    let cfg = sequential_config(&spec, shape).unwrap();
    let model = load_pytorch(&cfg, &fixture(weights), &WeightsSource::default(), device).unwrap();
    let f = model.input_dim();
    let n = x.len() / f;
    model
        .logits(batch_tensor(x, n, f, device))
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

#[test]
fn imported_mnist_cnn_matches_pytorch_on_the_whole_test_split() {
    let (split, _) = DataSource::Mnist.load_split(0, 0.2).unwrap();
    let ours = logits(
        "mnist_bn/arch.json",
        "mnist_bn/model.safetensors",
        vec![1, 28, 28],
        split.test.features.clone(),
        &Device::flex(),
    );
    let theirs = read_f32(&fixture("mnist_bn/test_logits.npy"));
    let d = max_abs_diff(&ours, &theirs);
    eprintln!("mnist_bn: max |Δ logit| vs PyTorch over 1,000 images = {d:e}");
    assert!(d <= 1e-4, "max |Δ logit| over 1,000 MNIST images = {d:e}");
}

#[test]
fn imported_fixture_cnn_agrees_on_wgpu_value_by_value() {
    let x = read_f32(&fixture("torch_import/inputs.npy"));
    let expected = read_f32(&fixture("torch_import/logits.npy"));
    let flex = logits(
        "torch_import/arch.json",
        "torch_import/model.safetensors",
        vec![3, 16, 16],
        x.clone(),
        &Device::flex(),
    );
    let wgpu_device = DeviceSpec::Wgpu(None)
        .open()
        .unwrap_or_else(|e| panic!("wgpu unavailable (CI installs Mesa's Vulkan): {e}"));
    let wgpu = logits(
        "torch_import/arch.json",
        "torch_import/model.pt",
        vec![3, 16, 16],
        x,
        &wgpu_device,
    );
    assert!(max_abs_diff(&flex, &expected) <= 1e-4, "flex vs PyTorch");
    let d = max_abs_diff(&wgpu, &flex);
    eprintln!(
        "torch_import fixture: max |Δ logit| wgpu vs flex = {d:e}, wgpu vs PyTorch = {:e}",
        max_abs_diff(&wgpu, &expected)
    );
    assert!(d <= 1e-4, "wgpu vs flex, value by value: {d:e}");
}

/// A workspace binary, built by `cargo test --workspace` beside this test's executable.
fn binary(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo test --workspace`",
        path.display()
    );
    let mut c = Command::new(path);
    c.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    c
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_imported_run_is_evaluated_calibrated_and_explained_by_the_unchanged_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("imported");
    let said = ok(binary("aegis-model")
        .args(["import", "--data", "mnist", "--arch"])
        .arg(fixture("mnist_bn/arch.json"))
        .arg("--weights")
        .arg(fixture("mnist_bn/model.safetensors"))
        .arg("--out")
        .arg(&run));
    assert!(
        said.contains("test accuracy 96.80%"),
        "PyTorch measured 0.968: {said}"
    );

    let rob = tmp.path().join("robustness");
    ok(binary("aegis-adversarial-trainer")
        .args(["evaluate", "--eps", "0,0.1", "--limit", "100", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&rob));
    let cal = tmp.path().join("cal");
    ok(binary("aegis-uncertainty")
        .args(["calibrate", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&cal));
    let explain = tmp.path().join("explain");
    ok(binary("aegis-interpretability")
        .args(["explain", "--method", "ig", "--index", "0", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&explain));
    for dir in [&rob, &cal, &explain] {
        let written: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .collect();
        assert!(
            written
                .iter()
                .any(|e| e.path().extension().is_some_and(|x| x == "json")),
            "{} holds no JSON report",
            dir.display()
        );
    }
}
