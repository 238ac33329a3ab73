//! One onnx-ir node to one [`Op`]: the configs onnx-ir parsed (opset defaults applied,
//! negative axes resolved) translated into Aegis's plan vocabulary. A node Aegis does not
//! implement is `Err(None)`; an implemented op with a setting Aegis does not support is
//! `Err(Some(why))`.

use onnx_ir::expand::ExpandConfig;
use onnx_ir::gelu::GeluApproximate;
use onnx_ir::padding::{AutoPad, PaddingConfig2d};
use onnx_ir::reduce::{ReduceAxes, ReduceConfig};
use onnx_ir::reshape::ReshapeInput;
use onnx_ir::slice::SliceInput;
use onnx_ir::split::SplitSizesInput;
use onnx_ir::squeeze::SqueezeInput;
use onnx_ir::unsqueeze::UnsqueezeConfig;
use onnx_ir::{Argument, Node, RuntimeInputRef};

use super::plan::{AttentionSpec, Binary, Ints, Op, Reduce, Unary, Window};

/// Why a node cannot become an op: `None` when the op itself is not implemented.
type Refusal = Option<String>;

/// `(begin, end)` pairs from onnx-ir's padding, refusing automatic padding modes other than
/// `NOTSET` / `VALID` (onnx-ir resolves `SAME_*` to explicit pads where shapes are known).
fn pads(p: &PaddingConfig2d, auto: &AutoPad) -> Result<[(usize, usize); 2], Refusal> {
    if matches!(auto, AutoPad::SameUpper | AutoPad::SameLower) {
        return Err(Some(format!("auto_pad {auto:?} is not supported")));
    }
    Ok(match *p {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    })
}

fn runtime(r: &RuntimeInputRef) -> Ints {
    Ints::Input(r.input_index)
}

fn slice_ints(s: &SliceInput) -> Ints {
    match s {
        SliceInput::Static(v) => Ints::Static(v.clone()),
        SliceInput::Runtime(r) => runtime(r),
    }
}

/// A reduction's op (`Identity` when ONNX's `noop_with_empty_axes` applies).
fn reduce(kind: Reduce, c: &ReduceConfig) -> Op {
    let axes = match &c.axes {
        ReduceAxes::Static(v) if v.is_empty() && c.noop_with_empty_axes => return Op::Identity,
        ReduceAxes::Static(v) if v.is_empty() => None,
        ReduceAxes::Static(v) => Some(Ints::Static(v.iter().map(|&a| a as i64).collect())),
        ReduceAxes::Runtime(r) => Some(runtime(r)),
    };
    Op::Reduce {
        kind,
        axes,
        keepdims: c.keepdims,
    }
}

/// The single value of a float constant input, when the input is one.
fn scalar_constant(arg: Option<&Argument>) -> Option<f64> {
    let data = arg?.value()?;
    if data.num_elements() != 1 || !data.dtype().is_float() {
        return None;
    }
    data.iter::<f64>().next()
}

/// The op of `node`.
pub fn convert(node: &Node) -> Result<Op, Refusal> {
    let u = |f| Ok(Op::Unary(f));
    let b = |f| Ok(Op::Binary(f));
    match node {
        Node::Identity(_) | Node::Dropout(_) => Ok(Op::Identity),
        Node::Relu(_) => u(Unary::Relu),
        Node::LeakyRelu(n) => u(Unary::LeakyRelu(n.config.alpha)),
        Node::Sigmoid(_) => u(Unary::Sigmoid),
        Node::Tanh(_) => u(Unary::Tanh),
        Node::Erf(_) => u(Unary::Erf),
        Node::Gelu(n) => u(match n.config.approximate {
            GeluApproximate::Exact => Unary::Gelu,
            GeluApproximate::Tanh => Unary::GeluTanh,
        }),
        Node::Sqrt(_) => u(Unary::Sqrt),
        Node::Neg(_) => u(Unary::Neg),
        Node::Exp(_) => u(Unary::Exp),
        Node::Log(_) => u(Unary::Log),
        Node::Reciprocal(_) => u(Unary::Reciprocal),
        Node::Abs(_) => u(Unary::Abs),
        Node::Add(_) => b(Binary::Add),
        Node::Sub(_) => b(Binary::Sub),
        Node::Mul(_) => b(Binary::Mul),
        Node::Div(_) => b(Binary::Div),
        Node::Pow(n) => match scalar_constant(n.inputs.get(1)) {
            Some(p) => Ok(Op::PowScalar(p)),
            None => b(Binary::Pow),
        },
        Node::Softmax(n) => Ok(Op::Softmax {
            axis: n.config.axis,
            log: false,
        }),
        Node::LogSoftmax(n) => Ok(Op::Softmax {
            axis: n.config.axis,
            log: true,
        }),
        Node::Equal(_) => Ok(Op::Equal),
        Node::Where(_) => Ok(Op::Where),
        Node::Cast(n) => {
            let to = n.config.to;
            if to.is_float() || to.is_int() || to.is_uint() || to.is_bool() {
                Ok(Op::Cast {
                    to_float: to.is_float(),
                })
            } else {
                Err(Some(format!("a cast to {to:?}")))
            }
        }
        Node::ReduceMean(n) => Ok(reduce(Reduce::Mean, &n.config)),
        Node::ReduceSum(n) => Ok(reduce(Reduce::Sum, &n.config)),
        _ => convert_layer(node),
    }
}

/// The layer and shape ops of [`convert`].
fn convert_layer(node: &Node) -> Result<Op, Refusal> {
    match node {
        Node::Conv2d(n) => {
            let c = &n.config;
            Ok(Op::Conv2d {
                window: Window {
                    kernel: c.kernel_size,
                    stride: c.stride,
                    padding: pads(&c.padding, &c.auto_pad)?,
                    dilation: c.dilation,
                    ceil_mode: false,
                },
                groups: c.groups,
            })
        }
        Node::MaxPool2d(n) => {
            let c = &n.config;
            if n.outputs.len() > 1 {
                return Err(Some("MaxPool's indices output is not supported".into()));
            }
            Ok(Op::MaxPool2d(Window {
                kernel: c.kernel_size,
                stride: c.strides,
                padding: pads(&c.padding, &c.auto_pad)?,
                dilation: c.dilation,
                ceil_mode: c.ceil_mode,
            }))
        }
        Node::AveragePool2d(n) => {
            let c = &n.config;
            Ok(Op::AvgPool2d {
                window: Window {
                    kernel: c.kernel_size,
                    stride: c.strides,
                    padding: pads(&c.padding, &c.auto_pad)?,
                    dilation: c.dilation,
                    ceil_mode: c.ceil_mode,
                },
                count_include_pad: c.count_include_pad,
            })
        }
        Node::GlobalAveragePool(_) => Ok(Op::GlobalAvgPool),
        Node::BatchNormalization(n) => {
            let eps = match &n.config {
                onnx_ir::batch_norm::BatchNormConfig::Static(c) => c.epsilon,
                onnx_ir::batch_norm::BatchNormConfig::Runtime(c) => c.epsilon,
            };
            Ok(Op::BatchNorm { eps })
        }
        Node::LayerNormalization(n) => {
            if n.outputs.len() > 1 {
                return Err(Some(
                    "the mean / inverse std outputs are not supported".into(),
                ));
            }
            Ok(Op::LayerNorm {
                axis: n.config.axis,
                eps: n.config.epsilon,
            })
        }
        Node::Linear(n) => Ok(Op::Linear {
            transpose: n.config.transpose_weight,
        }),
        Node::Gemm(n) => Ok(Op::Gemm {
            alpha: n.config.alpha,
            beta: n.config.beta,
            trans_a: n.config.trans_a != 0,
            trans_b: n.config.trans_b != 0,
        }),
        Node::MatMul(_) => Ok(Op::MatMul),
        Node::Attention(n) => {
            let c = &n.config;
            if n.inputs.len() > 4 || n.outputs.len() > 1 {
                return Err(Some("a key/value cache is not supported".into()));
            }
            if c.softcap != 0.0 {
                return Err(Some("softcap is not supported".into()));
            }
            Ok(Op::Attention(AttentionSpec {
                q_heads: c.q_num_heads,
                kv_heads: c.kv_num_heads,
                scale: c.scale,
                causal: c.is_causal,
            }))
        }
        _ => convert_shape(node),
    }
}

/// The shape ops of [`convert`].
fn convert_shape(node: &Node) -> Result<Op, Refusal> {
    match node {
        Node::Flatten(n) => Ok(Op::Flatten {
            axis: n.config.axis,
        }),
        Node::Reshape(n) => Ok(Op::Reshape(match &n.config.shape {
            ReshapeInput::Static(v) => Ints::Static(v.clone()),
            ReshapeInput::Runtime(r) => runtime(r),
        })),
        Node::Transpose(n) => {
            let perm = n
                .config
                .perm
                .iter()
                .map(|&p| usize::try_from(p).map_err(|_| Some(format!("perm {p}"))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Op::Transpose(perm))
        }
        Node::Concat(n) => Ok(Op::Concat {
            axis: n.config.axis,
        }),
        Node::Gather(n) => Ok(Op::Gather {
            axis: n.config.axis,
        }),
        Node::GatherND(n) if n.config.batch_dims == 0 => Ok(Op::GatherNd),
        Node::GatherND(_) => Err(Some("GatherND with batch_dims > 0 is not supported".into())),
        Node::Split(n) => Ok(Op::Split {
            axis: n.config.axis,
            sizes: n.config.split_sizes.as_ref().map(|s| match s {
                SplitSizesInput::Static(v) => Ints::Static(v.iter().map(|&x| x as i64).collect()),
                SplitSizesInput::Runtime(r) => runtime(r),
            }),
            chunk: n.config.split_size,
            outputs: n.outputs.len(),
        }),
        Node::Slice(n) => {
            let c = &n.config;
            Ok(Op::Slice {
                starts: slice_ints(&c.starts),
                ends: slice_ints(&c.ends),
                axes: c.axes.as_ref().map(slice_ints),
                steps: c.steps.as_ref().map(slice_ints),
            })
        }
        Node::Squeeze(n) => Ok(Op::Squeeze(n.config.axes.as_ref().and_then(|a| match a {
            SqueezeInput::Static(v) if v.is_empty() => None,
            SqueezeInput::Static(v) => Some(Ints::Static(v.clone())),
            SqueezeInput::Runtime(r) => Some(runtime(r)),
        }))),
        Node::Unsqueeze(n) => Ok(Op::Unsqueeze(match &n.config {
            UnsqueezeConfig::Static(v) => Ints::Static(v.clone()),
            UnsqueezeConfig::Runtime(r) => runtime(r),
        })),
        Node::Expand(n) => Ok(Op::Expand(match &n.config {
            ExpandConfig::Static(v) => Ints::Static(v.clone()),
            ExpandConfig::Runtime(r) => runtime(r),
        })),
        Node::Shape(n) => Ok(Op::Shape {
            start: n.config.start,
            end: n.config.end,
        }),
        _ => Err(None),
    }
}
