//! The layers of a spec: what each computes ([`LayerKind`], PyTorch's `torch.nn` names,
//! arguments and defaults), its optional `state_dict` name ([`LayerSpec`]), and the `[h, w]`
//! pairs they take ([`Pair`]), with their JSON form.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `[h, w]` pair that reads from a number or a two-element list, as PyTorch's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pair(pub [usize; 2]);

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(usize),
            Two([usize; 2]),
        }
        match Raw::deserialize(d) {
            Ok(Raw::One(v)) => Ok(Pair([v, v])),
            Ok(Raw::Two(v)) => Ok(Pair(v)),
            Err(_) => Err(D::Error::custom(
                "expected a non-negative integer or a list of two",
            )),
        }
    }
}

fn one() -> Pair {
    Pair([1, 1])
}
fn zero() -> Pair {
    Pair([0, 0])
}
fn yes() -> bool {
    true
}
fn bn_eps() -> f64 {
    1e-5
}
fn bn_momentum() -> f64 {
    0.1
}
fn leaky_slope() -> f64 {
    0.01
}

/// What a layer computes (the `"type"` of a spec layer) and its arguments, with PyTorch's
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerKind {
    /// `nn.Linear(in_features, out_features, bias=True)` on `[N, F]`.
    Linear {
        /// Input width.
        in_features: usize,
        /// Output width.
        out_features: usize,
        /// Learn an additive bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// `nn.Conv2d` on `[N, C, H, W]`: zero padding, stride, dilation and groups as PyTorch.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel `[kh, kw]`.
        kernel_size: Pair,
        /// Stride (default 1).
        #[serde(default = "one")]
        stride: Pair,
        /// Zero padding on each side (default 0).
        #[serde(default = "zero")]
        padding: Pair,
        /// Dilation (default 1).
        #[serde(default = "one")]
        dilation: Pair,
        /// Channel groups (default 1); both channel counts must divide by it.
        #[serde(default = "usize_one")]
        groups: usize,
        /// Learn an additive bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// `nn.BatchNorm1d` on `[N, F]`: running statistics in inference, batch statistics in
    /// training.
    BatchNorm1d {
        /// Features.
        num_features: usize,
        /// Added to the variance (default 1e-5).
        #[serde(default = "bn_eps")]
        eps: f64,
        /// Running-statistics momentum (default 0.1).
        #[serde(default = "bn_momentum")]
        momentum: f64,
    },
    /// `nn.BatchNorm2d` on `[N, C, H, W]` (per channel).
    BatchNorm2d {
        /// Channels.
        num_features: usize,
        /// Added to the variance (default 1e-5).
        #[serde(default = "bn_eps")]
        eps: f64,
        /// Running-statistics momentum (default 0.1).
        #[serde(default = "bn_momentum")]
        momentum: f64,
    },
    /// `nn.LayerNorm([d])` over the last dimension, with a learnt scale and bias.
    LayerNorm {
        /// Normalised shape: one entry, the size of the last dimension.
        normalized_shape: Vec<usize>,
        /// Added to the variance (default 1e-5).
        #[serde(default = "bn_eps")]
        eps: f64,
    },
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x ≥ 0`, `negative_slope · x` otherwise (default slope 0.01).
    LeakyRelu {
        /// Slope of the negative part.
        #[serde(default = "leaky_slope")]
        negative_slope: f64,
    },
    /// The exact (erf) GELU, PyTorch's default.
    Gelu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^{-x})`.
    Sigmoid,
    /// `x · sigmoid(x)`.
    Silu,
    /// `nn.MaxPool2d` (padding counts as −∞).
    MaxPool2d {
        /// Window.
        kernel_size: Pair,
        /// Stride (default: the window).
        #[serde(default)]
        stride: Option<Pair>,
        /// Padding (default 0).
        #[serde(default = "zero")]
        padding: Pair,
        /// Dilation (default 1).
        #[serde(default = "one")]
        dilation: Pair,
    },
    /// `nn.AvgPool2d`.
    AvgPool2d {
        /// Window.
        kernel_size: Pair,
        /// Stride (default: the window).
        #[serde(default)]
        stride: Option<Pair>,
        /// Padding (default 0).
        #[serde(default = "zero")]
        padding: Pair,
        /// Count the zero padding in the average (default true, as PyTorch).
        #[serde(default = "yes")]
        count_include_pad: bool,
    },
    /// `nn.AdaptiveAvgPool2d(output_size)`.
    AdaptiveAvgPool2d {
        /// Output `[h, w]`.
        output_size: Pair,
    },
    /// `[N, C, H, W] → [N, C·H·W]`.
    Flatten,
    /// Inverted dropout with a seeded mask stream; Monte-Carlo capable.
    Dropout {
        /// Probability of zeroing an element, in `[0, 1)`.
        p: f64,
    },
    /// `(x − mean) / std` with constants: one value, one per channel (images) or one per
    /// feature (flat inputs). Not in a PyTorch `state_dict`.
    Normalize {
        /// Means.
        mean: Vec<f64>,
        /// Standard deviations (positive).
        std: Vec<f64>,
    },
    /// `body(x) + projection(x)` (identity when there is no projection): a ResNet block.
    /// Residual blocks do not nest.
    Residual {
        /// The main branch.
        layers: Vec<LayerSpec>,
        /// The shortcut, e.g. a 1×1 strided convolution and a batch norm; none: identity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        projection: Option<Vec<LayerSpec>>,
    },
}

fn usize_one() -> usize {
    1
}

impl LayerKind {
    /// The `"type"` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Linear { .. } => "linear",
            Self::Conv2d { .. } => "conv2d",
            Self::BatchNorm1d { .. } => "batchnorm1d",
            Self::BatchNorm2d { .. } => "batchnorm2d",
            Self::LayerNorm { .. } => "layernorm",
            Self::Relu => "relu",
            Self::LeakyRelu { .. } => "leakyrelu",
            Self::Gelu => "gelu",
            Self::Tanh => "tanh",
            Self::Sigmoid => "sigmoid",
            Self::Silu => "silu",
            Self::MaxPool2d { .. } => "maxpool2d",
            Self::AvgPool2d { .. } => "avgpool2d",
            Self::AdaptiveAvgPool2d { .. } => "adaptiveavgpool2d",
            Self::Flatten => "flatten",
            Self::Dropout { .. } => "dropout",
            Self::Normalize { .. } => "normalize",
            Self::Residual { .. } => "residual",
        }
    }
}

/// The layer types a spec may use, for error messages.
pub const LAYER_TYPES: &str = "linear, conv2d, batchnorm1d, batchnorm2d, layernorm, relu, \
     leakyrelu, gelu, tanh, sigmoid, silu, maxpool2d, avgpool2d, adaptiveavgpool2d, flatten, \
     dropout, normalize, residual";

/// One layer of a spec: what it computes and, optionally, its `state_dict` prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// What it computes.
    pub kind: LayerKind,
    /// Its prefix in a PyTorch `state_dict` (default: by position, see the module docs).
    pub name: Option<String>,
}

impl LayerSpec {
    /// A layer named by position.
    pub fn new(kind: LayerKind) -> Self {
        Self { kind, name: None }
    }
}

impl Serialize for LayerSpec {
    /// `"type"` first, then `"name"`, then the arguments (as a person would write them).
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let v = serde_json::to_value(&self.kind).map_err(serde::ser::Error::custom)?;
        let serde_json::Value::Object(fields) = v else {
            return Err(serde::ser::Error::custom("a layer serialises to an object"));
        };
        let mut map = s.serialize_map(Some(fields.len() + 1))?;
        map.serialize_entry("type", &fields["type"])?;
        if let Some(name) = &self.name {
            map.serialize_entry("name", name)?;
        }
        for (k, v) in fields.iter().filter(|(k, _)| *k != "type") {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LayerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut v = serde_json::Value::deserialize(d)?;
        let name = match v.as_object_mut().and_then(|o| o.remove("name")) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => return Err(D::Error::custom(format!("name {other} is not a string"))),
        };
        let kind = LayerKind::deserialize(v).map_err(|e| {
            let e = e.to_string();
            if e.starts_with("unknown variant") {
                D::Error::custom(format!("{e} (the layer types are: {LAYER_TYPES})"))
            } else {
                D::Error::custom(e)
            }
        })?;
        Ok(Self { kind, name })
    }
}
