//! The graph module's parameters: the weight (and bias) of each convolution and dense layer
//! as a Burn layer-shaped module (`weight` / `bias`, so tools that find layers by their
//! `weight` parameter, such as the parameter-randomisation check, see the graph's layers in
//! graph order), and every other float constant flattened.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::plan::Source;
use super::value::{FloatValue, padded};

/// A convolution's kernel `[out, in / groups, kh, kw]` and bias `[out]`.
#[derive(Module, Debug)]
pub struct ConvParams {
    /// The kernel.
    pub weight: Param<Tensor<4>>,
    /// The bias.
    pub bias: Option<Param<Tensor<1>>>,
}

/// A dense layer's weight `[in, out]` and bias `[out]`.
#[derive(Module, Debug)]
pub struct DenseParams {
    /// The weight, `[in, out]` (Burn's `Linear` layout).
    pub weight: Param<Tensor<2>>,
    /// The bias.
    pub bias: Option<Param<Tensor<1>>>,
}

/// One layer of the graph.
#[derive(Module, Debug)]
pub enum LayerParams {
    /// A Conv node's constants.
    Conv(ConvParams),
    /// A Linear / Gemm / MatMul node's constant weight (and bias).
    Dense(DenseParams),
}

/// A layer's values as read from the file: the weight's shape and values (a dense weight
/// already `[in, out]`) and the bias.
#[derive(Debug, Clone)]
pub struct LayerData {
    /// The weight's shape: 4-D for a convolution, 2-D for a dense layer.
    pub dims: Vec<usize>,
    /// The weight, row-major.
    pub weight: Vec<f32>,
    /// The bias.
    pub bias: Option<Vec<f32>>,
}

fn param<const D: usize>(values: Vec<f32>, dims: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values, dims), device)
}

impl LayerParams {
    /// The module for `data` on `device`.
    pub fn new(data: LayerData, device: &Device) -> Self {
        let bias = data.bias.map(|b| {
            let n = b.len();
            param(b, [n], device)
        });
        match data.dims[..] {
            [o, i, kh, kw] => Self::Conv(ConvParams {
                weight: param(data.weight, [o, i, kh, kw], device),
                bias,
            }),
            [i, o] => Self::Dense(DenseParams {
                weight: param(data.weight, [i, o], device),
                bias,
            }),
            _ => unreachable!("load.rs makes layers of 2-D and 4-D weights only"),
        }
    }

    fn weight(&self) -> FloatValue {
        match self {
            Self::Conv(c) => FloatValue::from_tensor(c.weight.val()),
            Self::Dense(d) => FloatValue::from_tensor(d.weight.val()),
        }
    }

    fn bias(&self) -> Option<FloatValue> {
        let b = match self {
            Self::Conv(c) => c.bias.as_ref(),
            Self::Dense(d) => d.bias.as_ref(),
        };
        b.map(|b| FloatValue::from_tensor(b.val()))
    }
}

/// The value of the constant `source` with logical shape `dims`.
pub fn constant_value(
    source: Source,
    dims: &[usize],
    layers: &[LayerParams],
    constants: &[Param<Tensor<1>>],
) -> Result<FloatValue, String> {
    let missing = || format!("constant {source:?} is not in the module");
    match source {
        Source::Constant(i) => {
            let t = constants.get(i).ok_or_else(missing)?.val();
            Ok(FloatValue {
                t: t.reshape(padded(dims)?),
                rank: dims.len(),
            })
        }
        Source::LayerWeight(i) => Ok(layers.get(i).ok_or_else(missing)?.weight()),
        Source::LayerBias(i) => layers
            .get(i)
            .and_then(LayerParams::bias)
            .ok_or_else(missing),
    }
}
