//! ONNX graphs against PyTorch: each model of `tests/fixtures/onnx/` (exported by
//! `bench/pytorch/onnx_fixtures.py` with `torch.onnx.export(..., dynamo=True)`) loaded by
//! [`load_onnx`] gives PyTorch's logits within 1e-4 (max abs) and PyTorch's input gradients
//! of `Σᵢ log_softmax(logits)[i, argmax_i]` within 1e-3 (relative L2), on flex and ndarray
//! (and on wgpu: a documented subset, every model with `AEGIS_WGPU_ALL_FIXTURES=1`);
//! and bad files (not ONNX, truncated, an operator Aegis lacks, a cycle, a missing
//! initializer, two inputs, external data outside the folder) are refused in one line that
//! names the file.

use std::path::{Path, PathBuf};

use aegis_model::burn::tensor::{Device, Tensor, TensorData, activation};
use aegis_model::models::graph::Graph;
use aegis_model::{Classifier, load_onnx};
use onnx_ir::{Message, ModelProto, TensorProto};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/onnx")
}

/// An `.npy` file of `f32` values: the values and the shape.
fn npy(path: &Path) -> (Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = npyz::NpyFile::new(&bytes[..]).expect("an .npy file");
    let shape = file.shape().iter().map(|&d| d as usize).collect();
    (file.into_vec::<f32>().expect("f32 values"), shape)
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32")
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (num / den.max(1e-30)).sqrt()
}

/// Logits and input gradients of the fixture `name` on `device`, against PyTorch's.
fn check_fixture(name: &str, device: &Device) {
    check_dir(&fixtures().join(name), name, device);
}

/// Like [`check_fixture`] for the fixture folder `dir`.
fn check_dir(dir: &Path, name: &str, device: &Device) {
    let (x, xshape) = npy(&dir.join("inputs.npy"));
    let (want_logits, lshape) = npy(&dir.join("logits.npy"));
    let (want_grads, _) = npy(&dir.join("grads.npy"));
    let n = xshape[0];
    let f = x.len() / n;
    let model = load_onnx(&dir.join("model.onnx"), device)
        .unwrap_or_else(|e| panic!("{name} on {device:?}: {e}"));
    assert_eq!(model.input_shape(), &xshape[1..], "{name}: sample shape");
    assert_eq!(model.num_classes(), lshape[1], "{name}: classes");
    let input = || Tensor::<2>::from_data(TensorData::new(x.clone(), [n, f]), device);
    let logits = values(model.logits(input()));
    let d = max_abs(&logits, &want_logits);
    println!("aegis-onnx {name} {device:?} logits max-abs {d:.3e}");
    assert!(d <= 1e-4, "{name} on {device:?}: logits max abs diff {d}");

    let ad = device.clone().autodiff();
    let model = load_onnx(&dir.join("model.onnx"), &ad).expect("loads on autodiff");
    let xs = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, f]), &ad).require_grad();
    let out = model.logits(xs.clone());
    let c = lshape[1];
    let mut onehot = vec![0f32; n * c];
    for i in 0..n {
        onehot[i * c + aegis_model::argmax(&want_logits[i * c..(i + 1) * c])] = 1.0;
    }
    let mask = Tensor::<2>::from_data(TensorData::new(onehot, [n, c]), &ad);
    let loss = (activation::log_softmax(out, 1) * mask).sum();
    let grads = loss.backward();
    let g = values(xs.grad(&grads).expect("input gradient"));
    let r = rel_l2(&g, &want_grads);
    println!("aegis-onnx {name} {device:?} grads rel-L2 {r:.3e}");
    assert!(r <= 1e-3, "{name} on {device:?}: gradient relative L2 {r}");
}

macro_rules! fixture_tests {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            check_fixture($name, &Device::flex());
            #[allow(deprecated)]
            check_fixture($name, &Device::ndarray());
        }
    )*};
}

fixture_tests! {
    mlp_matches_pytorch => "mlp",
    resnet18_cifar_matches_pytorch => "resnet18_cifar",
    resnet18_tv_matches_pytorch => "resnet18_tv",
    preact_resnet18_matches_pytorch => "preact_resnet18",
    wide_resnet_matches_pytorch => "wrn",
    vit_matches_pytorch => "vit",
    adaptive_pool_matches_pytorch => "adaptive_pool",
    external_data_matches_pytorch => "external",
    static_batch_matches_pytorch => "static_batch",
    unoptimized_matches_pytorch => "unoptimized",
}

/// onnx-ir coalesces the legacy exporter's hand-written attention into one `Attention` node
/// (`crates/model/tests/fixtures/onnx_attention`, from `bench/pytorch/onnx_attention_fixture.py`).
#[test]
fn coalesced_attention_matches_pytorch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx_attention");
    let graph = onnx_ir::OnnxGraphBuilder::new()
        .parse_file(dir.join("model.onnx"))
        .unwrap();
    assert!(
        graph
            .nodes
            .iter()
            .any(|n| matches!(n, onnx_ir::Node::Attention(_))),
        "the fixture exercises Attention"
    );
    check_dir(&dir, "attention", &Device::flex());
    #[allow(deprecated)]
    check_dir(&dir, "attention", &Device::ndarray());
}

/// The mlp fixture's file, parsed, for the bad-input tests to break.
fn mlp_proto() -> ModelProto {
    let bytes = std::fs::read(fixtures().join("mlp/model.onnx")).expect("mlp fixture");
    ModelProto::parse_from_bytes(&bytes).expect("parses")
}

/// The error `load_onnx` gives for `bytes` written to a temporary `model.onnx`.
fn load_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, bytes).unwrap();
    let e = load_onnx(&path, &Device::flex())
        .expect_err("refused")
        .to_string();
    assert!(e.contains("model.onnx"), "names the file: {e}");
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

fn write(m: &ModelProto) -> Vec<u8> {
    m.write_to_bytes().expect("serialises")
}

#[test]
fn non_onnx_and_truncated_files_are_refused() {
    let e = load_error(b"<html>not a model</html>");
    assert!(e.contains("not an ONNX model"), "{e}");
    let full = write(&mlp_proto());
    let e = load_error(&full[..full.len() / 2]);
    assert!(e.contains("not an ONNX model"), "{e}");
}

#[test]
fn an_unimplemented_operator_is_named_with_its_node_and_opset() {
    let mut m = mlp_proto();
    let opset = m
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty())
        .unwrap()
        .version;
    let node = m.graph.as_mut().unwrap().node.last_mut().unwrap();
    node.op_type = "Einsum".into();
    node.name = "/fc/Einsum".into();
    let e = load_error(&write(&m));
    assert!(
        e.contains(&format!(
            "node \"/fc/Einsum\" uses Einsum (opset {opset}), which Aegis does not implement"
        )),
        "{e}"
    );
}

#[test]
fn cycles_missing_initializers_and_extra_inputs_are_refused() {
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let last = g.node.last().unwrap().output[0].clone();
    g.node[0].input[0] = last;
    let e = load_error(&write(&m));
    assert!(e.contains("cycle"), "{e}");

    let mut m = mlp_proto();
    m.graph.as_mut().unwrap().initializer.pop();
    let e = load_error(&write(&m));
    assert!(e.contains("missing initializer"), "{e}");

    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let mut second = g.input[0].clone();
    second.name = "second".into();
    g.input.push(second);
    let e = load_error(&write(&m));
    assert!(e.contains("one float input"), "{e}");
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let mut m = mlp_proto();
    let t = &mut m.graph.as_mut().unwrap().initializer[0];
    t.raw_data.clear();
    t.float_data.clear();
    // Field 14 (data_location) = 1 (EXTERNAL), as protobuf bytes: the enum type is private.
    t.data_location = TensorProto::parse_from_bytes(&[0x70, 0x01])
        .unwrap()
        .data_location;
    t.external_data.push(Default::default());
    let entry = t.external_data.last_mut().unwrap();
    entry.key = "location".into();
    entry.value = "../../x".into();
    let e = load_error(&write(&m));
    assert!(e.contains("outside the model's folder"), "{e}");
}

#[test]
fn a_fixed_batch_graph_takes_any_number_of_rows() {
    let dir = fixtures().join("mlp");
    let model: Graph = load_onnx(&dir.join("model.onnx"), &Device::flex()).unwrap();
    let (x, xshape) = npy(&dir.join("inputs.npy"));
    let (want, _) = npy(&dir.join("logits.npy"));
    let f: usize = xshape[1..].iter().product();
    let c = model.num_classes();
    let batch = model.fixed_batch().unwrap_or(xshape[0]);
    // One row fewer than the batch (a padded chunk), then the rows twice over (two chunks).
    for rows in [batch - 1, 2 * xshape[0]] {
        let data: Vec<f32> = (0..rows)
            .flat_map(|i| x[(i % xshape[0]) * f..][..f].to_vec())
            .collect();
        let out = values(model.logits(Tensor::from_data(
            TensorData::new(data, [rows, f]),
            &Device::flex(),
        )));
        assert_eq!(out.len(), rows * c);
        for i in 0..rows {
            let j = i % xshape[0];
            let d = max_abs(&out[i * c..][..c], &want[j * c..][..c]);
            assert!(d <= 1e-4, "row {i} of {rows}: {d}");
        }
    }
}

/// Every fixture model of [`fixture_tests!`], in the same order.
const FIXTURES: [&str; 9] = [
    "mlp",
    "resnet18_cifar",
    "resnet18_tv",
    "preact_resnet18",
    "wrn",
    "vit",
    "adaptive_pool",
    "external",
    "static_batch",
];

/// The fixtures the wgpu test runs by default: the cheap ones on lavapipe, and the CIFAR
/// ResNet-18 with the pre-activation one (which reuses its kernels). Measured on lavapipe
/// with 2 shared cores, seconds per model in this order, with Mesa's shader cache cold /
/// warm (`~/.cache/mesa_shader_cache`): mlp 13/3, resnet18_cifar 74/10, resnet18_tv 70/0.5,
/// preact_resnet18 3/1, wrn 54/4, vit 85/21, adaptive_pool 8/0.4, external 0/0,
/// static_batch 0/0, attention 50/7 (361 s / 49 s in all, every one within the bars); this
/// subset takes 15 s warm. The rest run with `AEGIS_WGPU_ALL_FIXTURES=1`.
const WGPU_DEFAULT: [&str; 6] = [
    "mlp",
    "resnet18_cifar",
    "preact_resnet18",
    "adaptive_pool",
    "external",
    "static_batch",
];

/// On wgpu (Mesa's software Vulkan here, `CUBECL_AUTOTUNE_LEVEL=minimal` as in CI): the
/// [`WGPU_DEFAULT`] fixtures, or with `AEGIS_WGPU_ALL_FIXTURES=1` every fixture model and the
/// coalesced-attention one, within the same bars; prints each model's seconds (kernel
/// compilation on lavapipe dominates).
#[test]
fn fixtures_match_pytorch_on_wgpu() {
    let device = aegis_model::DeviceSpec::Wgpu(None)
        .open()
        .expect("wgpu (install mesa-vulkan-drivers)");
    let all = std::env::var("AEGIS_WGPU_ALL_FIXTURES").is_ok_and(|v| v == "1");
    let attention = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx_attention");
    let mut dirs: Vec<(PathBuf, &str)> = if all {
        &FIXTURES[..]
    } else {
        &WGPU_DEFAULT[..]
    }
    .iter()
    .map(|n| (fixtures().join(n), *n))
    .collect();
    if all {
        dirs.push((attention, "attention"));
    }
    for (dir, name) in dirs {
        let start = std::time::Instant::now();
        check_dir(&dir, name, &device);
        println!(
            "aegis-onnx {name} wgpu {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
}
