//! PyTorch `state_dict` names and layouts of a [`Sequential`]'s parameters: what an import
//! expects, how loaded tensors go into the Burn modules, and how an export writes them back.
//!
//! Layouts follow `torch.nn`: `Linear.weight` is `[out, in]` (Burn stores `[in, out]`, so it
//! is transposed both ways), `Conv2d.weight` `[out, in / groups, kh, kw]`, batch norm
//! `weight`, `bias`, `running_mean`, `running_var` (`num_batches_tracked` is ignored on import
//! and written as 0 on export), layer norm `weight`, `bias`.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::module::RunningState;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, LayerNorm, Linear};
use burn::tensor::{Device, Tensor, TensorData};

use super::Sequential;
use super::kind::{LayerKind, LayerSpec};
use super::layer::{Block, Leaf};
use super::shape::layer_name;
use super::spec::SequentialSpec;

/// Suffix of the batch-norm step counter PyTorch keeps in a `state_dict`.
pub const NUM_BATCHES_TRACKED: &str = "num_batches_tracked";

/// One parameter as PyTorch names and shapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchParam {
    /// Full `state_dict` key, e.g. `4.body.0.weight`.
    pub key: String,
    /// PyTorch shape.
    pub shape: Vec<usize>,
}

/// Every leaf of `spec` with its `state_dict` prefix, in order (residual body, then
/// projection).
pub fn named_leaves(spec: &SequentialSpec) -> Vec<(String, &LayerSpec)> {
    let mut out = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        let name = layer_name(layer, "", i);
        match &layer.kind {
            LayerKind::Residual { layers, projection } => {
                for (j, l) in layers.iter().enumerate() {
                    out.push((layer_name(l, &format!("{name}.body."), j), l));
                }
                for (j, l) in projection.iter().flatten().enumerate() {
                    out.push((layer_name(l, &format!("{name}.projection."), j), l));
                }
            }
            _ => out.push((name, layer)),
        }
    }
    out
}

/// The `(suffix, PyTorch shape)` of each parameter of one layer (none for stateless layers).
pub fn layer_params(kind: &LayerKind) -> Vec<(&'static str, Vec<usize>)> {
    match kind {
        LayerKind::Linear {
            in_features,
            out_features,
            bias,
        } => {
            let mut v = vec![("weight", vec![*out_features, *in_features])];
            if *bias {
                v.push(("bias", vec![*out_features]));
            }
            v
        }
        LayerKind::Conv2d {
            in_channels,
            out_channels,
            kernel_size,
            groups,
            bias,
            ..
        } => {
            let k = kernel_size.0;
            let mut v = vec![(
                "weight",
                vec![*out_channels, in_channels / groups.max(&1), k[0], k[1]],
            )];
            if *bias {
                v.push(("bias", vec![*out_channels]));
            }
            v
        }
        LayerKind::BatchNorm1d { num_features, .. }
        | LayerKind::BatchNorm2d { num_features, .. } => {
            ["weight", "bias", "running_mean", "running_var"]
                .into_iter()
                .map(|s| (s, vec![*num_features]))
                .collect()
        }
        LayerKind::LayerNorm {
            normalized_shape, ..
        } => vec![
            ("weight", normalized_shape.clone()),
            ("bias", normalized_shape.clone()),
        ],
        _ => Vec::new(),
    }
}

/// Every parameter `spec` expects in a `state_dict`, in layer order.
pub fn expected_params(spec: &SequentialSpec) -> Vec<TorchParam> {
    named_leaves(spec)
        .into_iter()
        .flat_map(|(name, layer)| {
            layer_params(&layer.kind)
                .into_iter()
                .map(move |(s, shape)| TorchParam {
                    key: format!("{name}.{s}"),
                    shape,
                })
        })
        .collect()
}

fn take(map: &mut BTreeMap<String, TensorData>, key: &str) -> TensorData {
    map.remove(key)
        .unwrap_or_else(|| panic!("`{key}` missing (the key check missed it)"))
}

fn param<const D: usize>(data: TensorData, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(data, device))
}

/// `[out, in]` f32 data as `[in, out]`.
fn transposed(data: TensorData) -> TensorData {
    let [rows, cols] = [data.shape()[0], data.shape()[1]];
    let v = data
        .try_to_vec::<f32>()
        .expect("weights are converted to f32 before loading");
    let mut t = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = v[r * cols + c];
        }
    }
    TensorData::new(t, [cols, rows])
}

fn load_leaf(leaf: &mut Leaf, name: &str, map: &mut BTreeMap<String, TensorData>, device: &Device) {
    let mut get = |s: &str| take(map, &format!("{name}.{s}"));
    match leaf {
        Leaf::Linear(l) => {
            // Transposed on the host, so Burn holds a contiguous `[in, out]` weight as its own
            // layers do (a transposed view runs another matmul path: last-bit differences).
            l.weight = param(transposed(get("weight")), device);
            if l.bias.is_some() {
                l.bias = Some(param(get("bias"), device));
            }
        }
        Leaf::Conv2d(c) => {
            c.weight = param(get("weight"), device);
            if c.bias.is_some() {
                c.bias = Some(param(get("bias"), device));
            }
        }
        Leaf::BatchNorm(b) => {
            b.gamma = param(get("weight"), device);
            b.beta = param(get("bias"), device);
            b.running_mean = RunningState::new(Tensor::from_data(get("running_mean"), device));
            b.running_var = RunningState::new(Tensor::from_data(get("running_var"), device));
        }
        Leaf::LayerNorm(l) => {
            l.gamma = param(get("weight"), device);
            l.beta = Some(param(get("bias"), device));
        }
        _ => {}
    }
}

/// Moves the tensors of `map` (PyTorch keys and layouts, already checked against
/// [`expected_params`] and converted to `f32`) into `model`, built from the same `spec`.
pub fn load_params(
    model: &mut Sequential,
    spec: &SequentialSpec,
    map: &mut BTreeMap<String, TensorData>,
    device: &Device,
) {
    let names: Vec<String> = named_leaves(spec).into_iter().map(|(n, _)| n).collect();
    let leaves = model.blocks_mut().iter_mut().flat_map(Block::leaves_mut);
    for (leaf, name) in leaves.zip(&names) {
        load_leaf(leaf, name, map, device);
    }
}

fn host(t: Tensor<1>) -> TensorData {
    t.into_data().convert::<f32>()
}

fn export_leaf(leaf: &Leaf, name: &str, out: &mut Vec<(String, TensorData)>) {
    let mut put = |s: &str, d: TensorData| out.push((format!("{name}.{s}"), d));
    match leaf {
        Leaf::Linear(Linear { weight, bias, .. }) => {
            put(
                "weight",
                weight.val().transpose().into_data().convert::<f32>(),
            );
            if let Some(b) = bias {
                put("bias", host(b.val()));
            }
        }
        Leaf::Conv2d(Conv2d { weight, bias, .. }) => {
            put("weight", weight.val().into_data().convert::<f32>());
            if let Some(b) = bias {
                put("bias", host(b.val()));
            }
        }
        Leaf::BatchNorm(b) => export_batch_norm(b, &mut put),
        Leaf::LayerNorm(LayerNorm { gamma, beta, .. }) => {
            put("weight", host(gamma.val()));
            if let Some(b) = beta {
                put("bias", host(b.val()));
            }
        }
        _ => {}
    }
}

fn export_batch_norm(b: &BatchNorm, put: &mut impl FnMut(&str, TensorData)) {
    put("weight", host(b.gamma.val()));
    put("bias", host(b.beta.val()));
    put("running_mean", host(b.running_mean.value()));
    put("running_var", host(b.running_var.value()));
    put(
        NUM_BATCHES_TRACKED,
        TensorData::new(vec![0i64], Vec::<usize>::new()),
    );
}

/// Every parameter of `model` under its PyTorch key and in PyTorch's layout, in layer order
/// (batch norms also get a `num_batches_tracked` of 0, as PyTorch's strict loading wants).
pub fn export_params(model: &Sequential, spec: &SequentialSpec) -> Vec<(String, TensorData)> {
    let names: Vec<String> = named_leaves(spec).into_iter().map(|(n, _)| n).collect();
    let mut out = Vec::new();
    let leaves = model.blocks().iter().flat_map(Block::leaves);
    for (leaf, name) in leaves.zip(&names) {
        export_leaf(leaf, name, &mut out);
    }
    out
}
