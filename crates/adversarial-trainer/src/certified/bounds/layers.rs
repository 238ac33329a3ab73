//! A model as a list of bound-propagation operations ([`Network`]): every layer of its
//! [`Sequential`] form (built-in models go through their spec,
//! `aegis_model::models::sequential::builtin::to_sequential`), in inference mode, each either
//! affine (with its forward map, `|W|·r` for interval arithmetic, and the vector–Jacobian
//! product `A ↦ A·W` for the backward pass), a piecewise-linear activation, a max-pool, a
//! monotone activation (interval arithmetic only), a residual block, or a layer no method
//! bounds. Every tensor is flat, `[B, D]`; each operation knows its per-sample input shape.

use aegis_model::Model;
use aegis_model::burn::module::{Module, Param, ParamId};
use aegis_model::burn::nn::conv::Conv2d;
use aegis_model::burn::nn::pool::MaxPool2d;
use aegis_model::burn::tensor::{Device, Tensor};
use aegis_model::models::Normalize;
use aegis_model::models::sequential::Sequential;
use aegis_model::models::sequential::builtin::to_sequential;
use aegis_model::models::sequential::layer::{Activation, Block, Leaf};

use super::BoundMethod;
use crate::error::{AdversarialError, Result};

/// An affine map `x ↦ W·x + b` of one layer.
#[derive(Debug, Clone)]
pub(crate) enum Affine {
    /// The model's input normalisation `(x − mean) / std` on the flat raw input.
    InputNorm(Normalize),
    /// A linear, convolution, batch-norm (inference), pooling-by-average, flatten, dropout
    /// (inference: identity) or normalize layer.
    Leaf(Leaf),
}

/// What an operation computes, for the bounds.
#[derive(Debug, Clone)]
pub(crate) enum OpKind {
    /// An affine layer.
    Affine(Affine),
    /// `x` for `x ≥ 0`, `slope · x` otherwise (ReLU: slope 0), with `0 ≤ slope ≤ 1`.
    Relu {
        /// Slope of the negative part.
        slope: f64,
    },
    /// Max pooling over windows (padding counts as −∞).
    MaxPool(MaxPool2d),
    /// A monotone non-decreasing activation (sigmoid, tanh): exact under interval
    /// arithmetic, no linear relaxation here.
    Monotone(Leaf),
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    Residual {
        /// The main branch.
        body: Vec<Op>,
        /// The projection.
        short: Vec<Op>,
    },
    /// A layer no method here bounds (GELU, SiLU, layer norm, a leaky ReLU with a slope
    /// outside `[0, 1]`).
    Refused,
}

/// One operation of the network.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// Unique over the network (residual branches included), in forward order; indexes the
    /// stored input bounds of the operation.
    pub id: usize,
    /// `"layer 3 (conv2d)"`, `"layer 4.body.1 (relu)"`, `"the input normalisation"`.
    pub name: String,
    /// Per-sample input shape (`[F]` or `[C, H, W]`).
    pub in_shape: Vec<usize>,
    /// Per-sample output shape.
    pub out_shape: Vec<usize>,
    /// What it computes.
    pub kind: OpKind,
}

impl Op {
    /// Input width `D` of one sample.
    pub fn in_dim(&self) -> usize {
        self.in_shape.iter().product()
    }
}

/// The model as operations, with the number of operation ids.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// The top-level operations, the input normalisation first.
    pub ops: Vec<Op>,
    /// One more than the largest id.
    pub count: usize,
    /// Widest per-sample activation over every operation's input and output.
    pub widest: usize,
}

fn leaf_type(leaf: &Leaf, flat: bool) -> &'static str {
    match leaf {
        Leaf::Linear(_) => "linear",
        Leaf::Conv2d(_) => "conv2d",
        Leaf::BatchNorm(_) if flat => "batchnorm1d",
        Leaf::BatchNorm(_) => "batchnorm2d",
        Leaf::LayerNorm(_) => "layernorm",
        Leaf::Relu(_) => "relu",
        Leaf::LeakyRelu(_) => "leakyrelu",
        Leaf::Gelu(_) => "gelu",
        Leaf::Tanh(_) => "tanh",
        Leaf::Sigmoid(_) => "sigmoid",
        Leaf::Silu(_) => "silu",
        Leaf::MaxPool(_) => "maxpool2d",
        Leaf::AvgPool(_) => "avgpool2d",
        Leaf::AdaptiveAvgPool(_) => "adaptiveavgpool2d",
        Leaf::Flatten(_) => "flatten",
        Leaf::Dropout(_) => "dropout",
        Leaf::Normalize(_) => "normalize",
    }
}

fn leaf_kind(leaf: &Leaf) -> OpKind {
    match leaf {
        Leaf::Linear(_)
        | Leaf::Conv2d(_)
        | Leaf::BatchNorm(_)
        | Leaf::AvgPool(_)
        | Leaf::AdaptiveAvgPool(_)
        | Leaf::Flatten(_)
        | Leaf::Dropout(_)
        | Leaf::Normalize(_) => OpKind::Affine(Affine::Leaf(leaf.clone())),
        Leaf::Relu(_) => OpKind::Relu { slope: 0.0 },
        Leaf::LeakyRelu(l) if (0.0..=1.0).contains(&l.negative_slope) => OpKind::Relu {
            slope: l.negative_slope,
        },
        Leaf::MaxPool(p) => OpKind::MaxPool(p.clone()),
        Leaf::Tanh(_) | Leaf::Sigmoid(_) => OpKind::Monotone(leaf.clone()),
        Leaf::LeakyRelu(_) | Leaf::Gelu(_) | Leaf::Silu(_) | Leaf::LayerNorm(_) => OpKind::Refused,
    }
}

/// Wraps a flat batch as the activation a layer takes.
fn activation(x: Tensor<2>, shape: &[usize]) -> Activation {
    match *shape {
        [c, h, w] => {
            let [b, _] = x.dims();
            Activation::Image(x.reshape([b, c, h, w]))
        }
        _ => Activation::Flat(x),
    }
}

fn flat(a: Activation) -> Tensor<2> {
    match a {
        Activation::Flat(x) => x,
        Activation::Image(x) => x.flatten(1, 3),
    }
}

fn shape_of(a: &Activation) -> Vec<usize> {
    match a {
        Activation::Flat(x) => vec![x.dims()[1]],
        Activation::Image(x) => x.dims()[1..].to_vec(),
    }
}

struct Builder {
    device: Device,
    next: usize,
    widest: usize,
}

impl Builder {
    fn leaves(&mut self, leaves: &[Leaf], mut shape: Vec<usize>, prefix: &str) -> Vec<Op> {
        let mut ops = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            let x = Tensor::<2>::zeros([1, shape.iter().product::<usize>()], &self.device);
            let out = shape_of(&leaf.forward(activation(x, &shape)));
            let name = format!("layer {prefix}{i} ({})", leaf_type(leaf, shape.len() == 1));
            ops.push(self.op(name, shape, out.clone(), leaf_kind(leaf)));
            shape = out;
        }
        ops
    }

    fn op(&mut self, name: String, in_shape: Vec<usize>, out: Vec<usize>, kind: OpKind) -> Op {
        let id = self.next;
        self.next += 1;
        let widest = in_shape.iter().product::<usize>().max(out.iter().product());
        self.widest = self.widest.max(widest);
        Op {
            id,
            name,
            in_shape,
            out_shape: out,
            kind,
        }
    }
}

impl Network {
    /// The operations of `model` in inference mode (dropout off, batch norm on its running
    /// statistics); `None` for an imported ONNX graph (no layer list to walk).
    pub fn from_model(model: &Model, device: &Device) -> Option<Self> {
        Self::of_sequential(
            model,
            to_sequential(model)?.valid().to_device(device),
            device,
        )
    }

    /// The operations of `model` with its parameters as they are (on an autodiff device,
    /// tracked: bounds computed from them have gradients, for certified training); refuses
    /// batch norm by name (training normalises by batch statistics, the bounds by running
    /// ones). `None` for an imported ONNX graph.
    pub fn for_training(model: &Model, device: &Device) -> Option<Result<Self>> {
        let seq = to_sequential(model)?;
        let batch_norm = seq
            .blocks()
            .iter()
            .enumerate()
            .find(|(_, b)| b.leaves().iter().any(|l| matches!(l, Leaf::BatchNorm(_))));
        if let Some((i, _)) = batch_norm {
            return Some(Err(AdversarialError::invalid(
                "model",
                format!(
                    "certified training does not support batch norm (layer {i}): the bounds \
                     use running statistics, training uses the batch's"
                ),
            )));
        }
        Self::of_sequential(model, seq, device).map(Ok)
    }

    fn of_sequential(model: &Model, seq: Sequential, device: &Device) -> Option<Self> {
        use aegis_model::Classifier;
        let features = model.input_dim();
        let mut b = Builder {
            device: device.clone(),
            next: 0,
            widest: 0,
        };
        let norm = OpKind::Affine(Affine::InputNorm(seq.norm().clone()));
        let mut ops = vec![b.op(
            "the input normalisation".into(),
            vec![features],
            vec![features],
            norm,
        )];
        let mut shape = match model.input_shape() {
            s @ [_, _, _] => s.to_vec(),
            _ => vec![features],
        };
        for (i, block) in seq.blocks().iter().enumerate() {
            match block {
                Block::Leaf(leaf) => {
                    let mut one = b.leaves(std::slice::from_ref(leaf), shape.clone(), "");
                    let mut op = one.remove(0);
                    op.name = op.name.replacen("layer 0", &format!("layer {i}"), 1);
                    shape = op.out_shape.clone();
                    ops.push(op);
                }
                Block::Residual(r) => {
                    let id = b.next;
                    b.next += 1;
                    let body = b.leaves(&r.body, shape.clone(), &format!("{i}.body."));
                    let short = b.leaves(&r.projection, shape.clone(), &format!("{i}.projection."));
                    let out = body.last().map_or(shape.clone(), |o| o.out_shape.clone());
                    ops.push(Op {
                        id,
                        name: format!("layer {i} (residual)"),
                        in_shape: shape,
                        out_shape: out.clone(),
                        kind: OpKind::Residual { body, short },
                    });
                    shape = out;
                }
            }
        }
        Some(Self {
            ops,
            count: b.next,
            widest: b.widest,
        })
    }

    /// Refuses, by name, the first layer `method` cannot bound.
    pub fn check(&self, method: BoundMethod) -> Result<()> {
        fn walk(ops: &[Op], method: BoundMethod) -> Result<()> {
            for op in ops {
                let refused = match &op.kind {
                    OpKind::Refused => true,
                    OpKind::Monotone(_) => method == BoundMethod::Crown,
                    OpKind::Residual { body, short } => {
                        walk(body, method)?;
                        walk(short, method)?;
                        false
                    }
                    _ => false,
                };
                if refused {
                    return Err(AdversarialError::invalid(
                        "method",
                        format!("{} does not bound {}", method.label(), op.name),
                    ));
                }
            }
            Ok(())
        }
        walk(&self.ops, method)
    }
}

impl Network {
    /// The name of the first convolution or pooling-by-average (a mixing map other than a
    /// dense layer), residual branches included.
    pub fn first_mixing_non_dense(&self) -> Option<String> {
        fn find(ops: &[Op]) -> Option<String> {
            ops.iter().find_map(|op| match &op.kind {
                OpKind::Affine(a) if a.mixes() && !matches!(a, Affine::Leaf(Leaf::Linear(_))) => {
                    Some(op.name.clone())
                }
                OpKind::Residual { body, short } => find(body).or_else(|| find(short)),
                _ => None,
            })
        }
        find(&self.ops)
    }

    /// The number of activation inputs that a relaxation covers: the input widths of every
    /// ReLU, leaky ReLU and max-pool, residual branches included.
    pub fn relaxed_neurons(&self) -> usize {
        fn count(ops: &[Op]) -> usize {
            ops.iter()
                .map(|op| match &op.kind {
                    OpKind::Relu { .. } | OpKind::MaxPool(_) => op.in_dim(),
                    OpKind::Residual { body, short } => count(body) + count(short),
                    _ => 0,
                })
                .sum()
        }
        count(&self.ops)
    }
}

impl Affine {
    /// Whether the map mixes coordinates (linear, convolution, pooling); the others are
    /// diagonal (normalisations, batch norm, flatten, dropout in inference).
    pub fn mixes(&self) -> bool {
        matches!(
            self,
            Self::Leaf(
                Leaf::Linear(_) | Leaf::Conv2d(_) | Leaf::AvgPool(_) | Leaf::AdaptiveAvgPool(_)
            )
        )
    }

    /// `W·x + b` on a flat batch `[B, D_in]` of samples of shape `in_shape`.
    pub fn apply(&self, x: Tensor<2>, in_shape: &[usize]) -> Tensor<2> {
        match self {
            Self::InputNorm(n) => n.forward(x),
            Self::Leaf(l) => flat(l.forward(activation(x, in_shape))),
        }
    }

    /// `|W|·r` for a radius `r` `[B, D_in]` (interval arithmetic in centre/radius form).
    pub fn apply_abs(&self, r: Tensor<2>, in_shape: &[usize]) -> Tensor<2> {
        match self {
            Self::Leaf(Leaf::Linear(l)) => r.matmul(l.weight.val().abs()),
            Self::Leaf(Leaf::Conv2d(c)) => {
                let abs = Conv2d {
                    // `initialized` keeps the tensor as it is: under certified training `|W|`
                    // is a tracked non-leaf tensor, which `from_tensor` cannot re-track.
                    weight: Param::initialized(ParamId::new(), c.weight.val().abs()),
                    bias: None,
                    ..c.clone()
                };
                flat(Leaf::Conv2d(abs).forward(activation(r, in_shape)))
            }
            // Diagonal maps: |W|·r = |f(r) − f(0)|.
            Self::InputNorm(_) | Self::Leaf(Leaf::BatchNorm(_) | Leaf::Normalize(_)) => {
                let zero = r.zeros_like();
                (self.apply(r, in_shape) - self.apply(zero, in_shape)).abs()
            }
            // Non-negative weights, no bias: pooling by average, flatten, dropout.
            Self::Leaf(_) => self.apply(r, in_shape),
        }
    }

    /// The vector–Jacobian product of the layer for rows `a` `[R, D_out]`: `(a·W [R, D_in],
    /// a·b [R, 1])`, by autodiff of `Σ a ⊙ f(x)` (the map is affine, so at `x = 0`).
    pub fn vjp(&self, a: Tensor<2>, in_shape: &[usize]) -> (Tensor<2>, Tensor<2>) {
        let [rows, _] = a.dims();
        let d_in: usize = in_shape.iter().product();
        let device = a.device();
        if let Self::Leaf(Leaf::Linear(l)) = self {
            let bias = match &l.bias {
                Some(b) => a.clone().matmul(b.val().unsqueeze_dim::<2>(1)),
                None => Tensor::zeros([rows, 1], &device),
            };
            return (a.matmul(l.weight.val().transpose()), bias);
        }
        let f0 = self.apply(Tensor::zeros([1, d_in], &device), in_shape);
        let bias = (a.clone() * f0.clone()).sum_dim(1);
        if !self.mixes() {
            // Diagonal (normalisations, batch norm, flatten, dropout): `W = diag(f(1) − f(0))`,
            // with no inner backward pass, so the product keeps the parameters' gradients
            // (certified training).
            let diagonal = self.apply(Tensor::ones([1, d_in], &device), in_shape) - f0;
            return (a * diagonal, bias);
        }
        let x = Tensor::<2>::zeros([rows, d_in], &device)
            .autodiff()
            .require_grad();
        let y = self.apply(x.clone(), in_shape);
        let mut grads = (y * a.autodiff()).sum().backward();
        let g = x
            .grad_remove(&mut grads)
            .unwrap_or_else(|| Tensor::zeros([rows, d_in], &device));
        (g, bias)
    }
}
