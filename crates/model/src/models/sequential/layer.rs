//! The Burn modules a spec is built from: one [`Leaf`] per parametric or stateless layer and
//! [`Block`]s that are either a leaf or a residual block of leaves, with their forward pass
//! on a sample that is flat (`[N, F]`) or an image (`[N, C, H, W]`).

use burn::module::{Module, Param};
use burn::nn::activation::SiLU;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{
    AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, AvgPool2d, AvgPool2dConfig, MaxPool2d,
    MaxPool2dConfig,
};
use burn::nn::{
    BatchNorm, BatchNormConfig, Gelu, LayerNorm, LayerNormConfig, LeakyRelu, LeakyReluConfig,
    Linear, PaddingConfig2d, Relu, Sigmoid, Tanh,
};
use burn::tensor::{Device, Tensor, TensorData};

use super::kind::{LayerKind, LayerSpec, Pair};
use crate::models::dropout::Dropout;
use crate::models::init::SeededInit;
use aegis_kernels::{conv2d, max_pool2d};

/// An activation between layers: flat `[N, F]` or image `[N, C, H, W]`.
#[derive(Debug, Clone)]
pub enum Activation {
    /// `[N, F]`.
    Flat(Tensor<2>),
    /// `[N, C, H, W]`.
    Image(Tensor<4>),
}

impl Activation {
    fn image(self) -> Tensor<4> {
        match self {
            Self::Image(x) => x,
            Self::Flat(x) => panic!(
                "layer needs an image, got {:?} (the spec check missed it)",
                x.dims()
            ),
        }
    }
    fn flat(self) -> Tensor<2> {
        match self {
            Self::Flat(x) => x,
            Self::Image(x) => panic!(
                "layer needs a flat input, got {:?} (the spec check missed it)",
                x.dims()
            ),
        }
    }
    fn map(
        self,
        f2: impl FnOnce(Tensor<2>) -> Tensor<2>,
        f4: impl FnOnce(Tensor<4>) -> Tensor<4>,
    ) -> Self {
        match self {
            Self::Flat(x) => Self::Flat(f2(x)),
            Self::Image(x) => Self::Image(f4(x)),
        }
    }
    /// The sum of two residual branches.
    pub(crate) fn add(self, other: Self) -> Self {
        match (self, other) {
            (Self::Flat(a), Self::Flat(b)) => Self::Flat(a + b),
            (Self::Image(a), Self::Image(b)) => Self::Image(a + b),
            _ => panic!("residual branches differ in rank (the spec check missed it)"),
        }
    }
}

/// `[N, C, H, W] → [N, C·H·W]`, as `nn.Flatten`.
#[derive(Module, Debug, Default)]
pub struct Flatten;

/// `(x − mean) / std` with frozen constants: one value, one per channel, or one per feature.
#[derive(Module, Debug)]
pub struct ChannelNorm {
    /// Means `[K]`.
    pub mean: Param<Tensor<1>>,
    /// Standard deviations `[K]`.
    pub std: Param<Tensor<1>>,
}

impl ChannelNorm {
    fn new(mean: &[f64], std: &[f64], device: &Device) -> Self {
        let t = |v: &[f64]| {
            let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let n = v.len();
            Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device))
                .set_require_grad(false)
        };
        Self {
            mean: t(mean),
            std: t(std),
        }
    }

    fn forward(&self, x: Activation) -> Activation {
        let [k] = self.mean.dims();
        let (mean, std) = (self.mean.val(), self.std.val());
        x.map(
            |x| (x - mean.clone().unsqueeze::<2>()) / std.clone().unsqueeze::<2>(),
            |x| (x - mean.clone().reshape([1, k, 1, 1])) / std.clone().reshape([1, k, 1, 1]),
        )
    }
}

/// One non-residual layer.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Leaf {
    /// `nn.Linear` (Burn stores the weight `[in, out]`).
    Linear(Linear),
    /// `nn.Conv2d`.
    Conv2d(Conv2d),
    /// `nn.BatchNorm1d` / `nn.BatchNorm2d`.
    BatchNorm(BatchNorm),
    /// `nn.LayerNorm` over the last dimension.
    LayerNorm(LayerNorm),
    /// ReLU.
    Relu(Relu),
    /// Leaky ReLU.
    LeakyRelu(LeakyRelu),
    /// Exact GELU.
    Gelu(Gelu),
    /// tanh.
    Tanh(Tanh),
    /// Logistic sigmoid.
    Sigmoid(Sigmoid),
    /// SiLU / swish.
    Silu(SiLU),
    /// Max pooling.
    MaxPool(MaxPool2d),
    /// Average pooling.
    AvgPool(AvgPool2d),
    /// Adaptive average pooling.
    AdaptiveAvgPool(AdaptiveAvgPool2d),
    /// Flatten.
    Flatten(Flatten),
    /// Seeded dropout.
    Dropout(Dropout),
    /// Constant normalisation.
    Normalize(ChannelNorm),
}

/// A residual block: `body(x) + shortcut(x)`.
#[derive(Module, Debug)]
pub struct Residual {
    /// The main branch.
    pub body: Vec<Leaf>,
    /// The shortcut's layers (empty: identity).
    pub projection: Vec<Leaf>,
}

/// One top-level layer.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Block {
    /// A plain layer.
    Leaf(Leaf),
    /// A residual block.
    Residual(Residual),
}

fn padding(p: Pair) -> PaddingConfig2d {
    PaddingConfig2d::Explicit(p.0[0], p.0[1], p.0[0], p.0[1])
}

impl Leaf {
    /// Builds the layer for `kind` with weights drawn from `init` (PyTorch's default
    /// initialisation; batch and layer norms start at scale 1, shift 0, running mean 0 and
    /// variance 1). Dropout layers get their mask seeds later, from [`Leaf::seed_dropout`].
    pub fn build(kind: &LayerKind, init: &mut SeededInit, device: &Device) -> Self {
        use LayerKind as K;
        match kind {
            K::Linear {
                in_features,
                out_features,
                bias,
            } => Self::Linear(init.linear_with_bias(*in_features, *out_features, *bias, device)),
            K::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding: p,
                dilation,
                groups,
                bias,
            } => {
                let cfg = Conv2dConfig::new([*in_channels, *out_channels], kernel_size.0)
                    .with_stride(stride.0)
                    .with_padding(padding(*p))
                    .with_dilation(dilation.0)
                    .with_groups(*groups)
                    .with_bias(*bias);
                Self::Conv2d(init.conv2d(cfg, device))
            }
            K::BatchNorm1d {
                num_features,
                eps,
                momentum,
            }
            | K::BatchNorm2d {
                num_features,
                eps,
                momentum,
            } => Self::BatchNorm(
                BatchNormConfig::new(*num_features)
                    .with_epsilon(*eps)
                    .with_momentum(*momentum)
                    .init(device),
            ),
            K::LayerNorm {
                normalized_shape,
                eps,
            } => Self::LayerNorm(
                LayerNormConfig::new(normalized_shape.last().copied().unwrap_or(1))
                    .with_epsilon(*eps)
                    .init(device),
            ),
            K::Relu => Self::Relu(Relu::new()),
            K::LeakyRelu { negative_slope } => Self::LeakyRelu(
                LeakyReluConfig::new()
                    .with_negative_slope(*negative_slope)
                    .init(),
            ),
            K::Gelu => Self::Gelu(Gelu::new()),
            K::Tanh => Self::Tanh(Tanh::new()),
            K::Sigmoid => Self::Sigmoid(Sigmoid::new()),
            K::Silu => Self::Silu(SiLU::new()),
            K::MaxPool2d {
                kernel_size,
                stride,
                padding: p,
                dilation,
            } => Self::MaxPool(
                MaxPool2dConfig::new(kernel_size.0)
                    .with_strides(stride.unwrap_or(*kernel_size).0)
                    .with_padding(padding(*p))
                    .with_dilation(dilation.0)
                    .init(),
            ),
            K::AvgPool2d {
                kernel_size,
                stride,
                padding: p,
                count_include_pad,
            } => Self::AvgPool(
                AvgPool2dConfig::new(kernel_size.0)
                    .with_strides(stride.unwrap_or(*kernel_size).0)
                    .with_padding(padding(*p))
                    .with_count_include_pad(*count_include_pad)
                    .init(),
            ),
            K::AdaptiveAvgPool2d { output_size } => {
                Self::AdaptiveAvgPool(AdaptiveAvgPool2dConfig::new(output_size.0).init())
            }
            K::Flatten => Self::Flatten(Flatten),
            K::Dropout { p } => Self::Dropout(Dropout::new(*p, 0)),
            K::Normalize { mean, std } => Self::Normalize(ChannelNorm::new(mean, std, device)),
            K::Residual { .. } => unreachable!("residual blocks are built by Block::build"),
        }
    }

    /// Gives a dropout layer its own mask stream.
    pub fn seed_dropout(&mut self, init: &mut SeededInit) {
        if let Self::Dropout(d) = self {
            d.reseed(init.fork_seed());
        }
    }

    /// The forward pass.
    pub fn forward(&self, x: Activation) -> Activation {
        use burn::tensor::activation as act;
        match self {
            Self::Linear(l) => Activation::Flat(l.forward(x.flat())),
            Self::Conv2d(c) => Activation::Image(conv2d(c, x.image())),
            Self::BatchNorm(b) => x.map(|x| b.forward(x), |x| b.forward(x)),
            Self::LayerNorm(l) => x.map(|x| l.forward(x), |x| l.forward(x)),
            Self::Relu(_) => x.map(act::relu, act::relu),
            Self::LeakyRelu(l) => x.map(|x| l.forward(x), |x| l.forward(x)),
            Self::Gelu(_) => x.map(act::gelu, act::gelu),
            Self::Tanh(_) => x.map(act::tanh, act::tanh),
            Self::Sigmoid(_) => x.map(act::sigmoid, act::sigmoid),
            Self::Silu(_) => x.map(act::silu, act::silu),
            Self::MaxPool(p) => Activation::Image(max_pool2d(p, x.image())),
            Self::AvgPool(p) => Activation::Image(p.forward(x.image())),
            Self::AdaptiveAvgPool(p) => Activation::Image(p.forward(x.image())),
            Self::Flatten(_) => match x {
                Activation::Image(x) => {
                    let [n, c, h, w] = x.dims();
                    Activation::Flat(x.reshape([n, c * h * w]))
                }
                flat => flat,
            },
            Self::Dropout(d) => x.map(|x| d.forward(x), |x| d.forward(x)),
            Self::Normalize(n) => n.forward(x),
        }
    }

    /// The dropout layer, if this is one.
    pub fn as_dropout_mut(&mut self) -> Option<&mut Dropout> {
        match self {
            Self::Dropout(d) => Some(d),
            _ => None,
        }
    }
}

fn build_leaves(layers: &[LayerSpec], init: &mut SeededInit, device: &Device) -> Vec<Leaf> {
    layers
        .iter()
        .map(|l| Leaf::build(&l.kind, init, device))
        .collect()
}

impl Block {
    /// Builds a top-level layer (see [`Leaf::build`]).
    pub fn build(kind: &LayerKind, init: &mut SeededInit, device: &Device) -> Self {
        match kind {
            LayerKind::Residual { layers, projection } => Self::Residual(Residual {
                body: build_leaves(layers, init, device),
                projection: build_leaves(projection.as_deref().unwrap_or(&[]), init, device),
            }),
            other => Self::Leaf(Leaf::build(other, init, device)),
        }
    }

    /// Every leaf, in order (a residual block's body, then its projection).
    pub fn leaves_mut(&mut self) -> Vec<&mut Leaf> {
        match self {
            Self::Leaf(l) => vec![l],
            Self::Residual(r) => r.body.iter_mut().chain(r.projection.iter_mut()).collect(),
        }
    }

    /// Every leaf, in order.
    pub fn leaves(&self) -> Vec<&Leaf> {
        match self {
            Self::Leaf(l) => vec![l],
            Self::Residual(r) => r.body.iter().chain(r.projection.iter()).collect(),
        }
    }

    /// The forward pass.
    pub fn forward(&self, x: Activation) -> Activation {
        match self {
            Self::Leaf(l) => l.forward(x),
            Self::Residual(r) => {
                let body = forward_leaves(&r.body, x.clone());
                let short = forward_leaves(&r.projection, x);
                body.add(short)
            }
        }
    }
}

/// `leaf` on `x`, or `leaf` and `next` as one pass where a peephole applies, and whether `next`
/// was consumed: a ReLU straight into a max-pool (aegis-kernels; the same values and
/// gradients, bit for bit, as the two layers one after the other), and a convolution followed
/// by batch norm in inference folded into one convolution where that is cheaper
/// ([`super::fold`]).
pub fn forward_pair(leaf: &Leaf, next: Option<&Leaf>, x: Activation) -> (Activation, bool) {
    match (leaf, next, x) {
        (Leaf::Relu(_), Some(Leaf::MaxPool(pool)), Activation::Image(t)) => (
            Activation::Image(aegis_kernels::relu_max_pool2d(pool, t)),
            true,
        ),
        (Leaf::Conv2d(conv), Some(Leaf::BatchNorm(bn)), Activation::Image(t))
            if super::fold::folds(conv, bn, &t) =>
        {
            (Activation::Image(super::fold::conv_bn(conv, bn, t)), true)
        }
        (leaf, _, x) => (leaf.forward(x), false),
    }
}

/// `leaves` one after the other on `x`, through [`forward_pair`]'s peepholes.
pub fn forward_leaves(leaves: &[Leaf], mut x: Activation) -> Activation {
    let mut i = 0;
    while i < leaves.len() {
        let (y, consumed) = forward_pair(&leaves[i], leaves.get(i + 1), x);
        x = y;
        i += if consumed { 2 } else { 1 };
    }
    x
}
