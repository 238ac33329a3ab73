//! The executable form of a graph: numbered value slots and a list of steps, each one
//! operation of Aegis's own vocabulary ([`Op`]) reading and writing slots.
//!
//! The plan is plain data built once at load time from onnx-ir's nodes (`super::load`); the
//! forward pass (`super::ops`) walks it. Float constants are not in the plan: they are the
//! graph module's parameters, placed into their slots at the start of each forward.

use super::value::IntValue;

/// A list of integers fixed in the graph or read from one of the step's inputs at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Ints {
    /// Known at load time.
    Static(Vec<i64>),
    /// The integer value of the step's input with this index.
    Input(usize),
}

/// An element-wise function of one float tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x >= 0`, `alpha·x` otherwise.
    LeakyRelu(f64),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// The Gauss error function.
    Erf,
    /// Exact GELU, `x·Φ(x)`.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// Square root.
    Sqrt,
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// Natural logarithm.
    Log,
    /// `1 / x`.
    Reciprocal,
    /// `|x|`.
    Abs,
}

/// An element-wise function of two broadcast operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
    /// `a ^ b`.
    Pow,
}

/// A reduction over axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Mean.
    Mean,
    /// Sum.
    Sum,
}

/// A 2-D window: kernel, stride, `(begin, end)` padding per spatial axis, dilation.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Strides.
    pub stride: [usize; 2],
    /// `(top, bottom)` and `(left, right)` zero padding.
    pub padding: [(usize, usize); 2],
    /// Dilations.
    pub dilation: [usize; 2],
    /// Whether partial windows at the end make an output (ONNX `ceil_mode`).
    pub ceil_mode: bool,
}

/// ONNX Attention (opset 23), as onnx-ir coalesces a scaled dot-product pattern into it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionSpec {
    /// Heads of Q for 3-D inputs `[B, S, H·D]` (`None` for 4-D `[B, H, S, D]`).
    pub q_heads: Option<usize>,
    /// Heads of K and V for 3-D inputs.
    pub kv_heads: Option<usize>,
    /// The factor on `Q·Kᵀ`; `None` means `1 / sqrt(head_dim)`.
    pub scale: Option<f64>,
    /// Whether a causal (upper-triangular) mask applies.
    pub causal: bool,
}

/// One operation of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Output = input (Identity, Dropout in inference).
    Identity,
    /// An element-wise function.
    Unary(Unary),
    /// A broadcast element-wise function of two inputs (float, or integers on the host).
    Binary(Binary),
    /// `x ^ p` for an exponent fixed in the graph.
    PowScalar(f64),
    /// Softmax (or log-softmax with `log`) along `axis`.
    Softmax {
        /// The axis.
        axis: usize,
        /// Log-softmax.
        log: bool,
    },
    /// 2-D convolution `[N, C, H, W]` with weight `[O, C/groups, kh, kw]` and optional bias.
    Conv2d {
        /// Kernel, stride, padding, dilation (`ceil_mode` unused).
        window: Window,
        /// Channel groups.
        groups: usize,
    },
    /// 2-D max-pool.
    MaxPool2d(Window),
    /// 2-D average pool.
    AvgPool2d {
        /// The window.
        window: Window,
        /// Whether padded zeros count in each mean.
        count_include_pad: bool,
    },
    /// Mean over all spatial axes, kept as size 1.
    GlobalAvgPool,
    /// Batch normalisation with running statistics: inputs x, scale, bias, mean, var.
    BatchNorm {
        /// Added to the variance.
        eps: f64,
    },
    /// Layer normalisation over the axes from `axis` on: inputs x, scale, optional bias.
    LayerNorm {
        /// The first normalised axis (negative counts from the end).
        axis: i64,
        /// Added to the variance.
        eps: f64,
    },
    /// `x · W (+ b)`, `W` stored `[out, in]` when `transpose`.
    Linear {
        /// Whether the weight is `[out, in]`.
        transpose: bool,
    },
    /// `alpha · A' · B' + beta · C`.
    Gemm {
        /// Factor on the product.
        alpha: f32,
        /// Factor on C.
        beta: f32,
        /// Transpose A.
        trans_a: bool,
        /// Transpose B.
        trans_b: bool,
    },
    /// numpy matmul with broadcast batch axes.
    MatMul,
    /// A reduction (`None` axes: all, or from input 1 at run time when it is present).
    Reduce {
        /// Which reduction.
        kind: Reduce,
        /// The axes.
        axes: Option<Ints>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// `[d0, …]` to `[prod(d[..axis]), prod(d[axis..])]`.
    Flatten {
        /// The split axis.
        axis: usize,
    },
    /// Reshape with ONNX's 0 (copy) and -1 (infer).
    Reshape(Ints),
    /// Permute axes.
    Transpose(Vec<usize>),
    /// Concatenate along an axis.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Take entries along `axis` at host indices (input 1).
    Gather {
        /// The axis.
        axis: usize,
    },
    /// ONNX GatherND with `batch_dims = 0`: index tuples (input 1, host) into the leading axes.
    GatherNd,
    /// Split along `axis` into `outputs` parts: of the given sizes, of `chunk` each (the
    /// last one smaller), or as evenly as ONNX's `num_outputs` rule makes them.
    Split {
        /// The axis.
        axis: usize,
        /// Explicit part sizes.
        sizes: Option<Ints>,
        /// A uniform part size.
        chunk: Option<usize>,
        /// Number of parts.
        outputs: usize,
    },
    /// ONNX Slice.
    Slice {
        /// Start per sliced axis.
        starts: Ints,
        /// End per sliced axis.
        ends: Ints,
        /// The sliced axes (`None`: the first ones).
        axes: Option<Ints>,
        /// Steps (`None`: 1).
        steps: Option<Ints>,
    },
    /// Remove axes of size 1 (`None`: all of them).
    Squeeze(Option<Ints>),
    /// Insert axes of size 1 at output positions.
    Unsqueeze(Ints),
    /// Broadcast to a shape.
    Expand(Ints),
    /// The input's dimensions `start..end`, as host integers.
    Shape {
        /// First axis.
        start: usize,
        /// End axis (exclusive).
        end: usize,
    },
    /// Element type conversion: to float (`true`) or to integers.
    Cast {
        /// Target is a float type.
        to_float: bool,
    },
    /// `cond ? x : y` with a host condition.
    Where,
    /// Element-wise equality of host integers (1 / 0).
    Equal,
    /// Scaled dot-product attention.
    Attention(AttentionSpec),
}

/// One step: an operation, the onnx-ir node it came from, its input and output slots, and
/// the slots whose last reader it is (freed after it runs).
#[derive(Debug, Clone)]
pub struct Step {
    /// What to compute.
    pub op: Op,
    /// The node's name in onnx-ir's graph and its op type, for error messages.
    pub node: String,
    /// Input slots (`None`: an omitted optional input).
    pub inputs: Vec<Option<usize>>,
    /// Output slots (outputs nobody reads are still written).
    pub outputs: Vec<usize>,
    /// Slots to drop after this step.
    pub free: Vec<usize>,
}

/// Where a float constant's values live in the graph module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The module's flat constant of this index.
    Constant(usize),
    /// The weight of the module's layer of this index.
    LayerWeight(usize),
    /// The bias of the module's layer of this index.
    LayerBias(usize),
}

/// A float constant of the graph: the slot it fills, its logical shape and where its values
/// are in the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightSlot {
    /// The slot.
    pub slot: usize,
    /// Its logical shape.
    pub dims: Vec<usize>,
    /// The module parameter holding it.
    pub source: Source,
}

/// A whole graph's plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of value slots.
    pub slots: usize,
    /// The slot of the graph's float input.
    pub input: usize,
    /// The slot of the logits.
    pub output: usize,
    /// Float constants and where the module holds them.
    pub weights: Vec<WeightSlot>,
    /// Integer constants and their slots.
    pub ints: Vec<(usize, IntValue)>,
    /// The steps, in execution order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Fills in each step's `free` list: a slot is dropped after the last step that reads it,
    /// except the output.
    pub fn compute_frees(&mut self) {
        let mut last = vec![None; self.slots];
        for (i, step) in self.steps.iter().enumerate() {
            for s in step.inputs.iter().flatten() {
                last[*s] = Some(i);
            }
        }
        for step in &mut self.steps {
            step.free.clear();
        }
        for (slot, at) in last.into_iter().enumerate() {
            if let Some(i) = at
                && slot != self.output
            {
                self.steps[i].free.push(slot);
            }
        }
    }
}
