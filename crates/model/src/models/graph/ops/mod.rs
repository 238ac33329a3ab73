//! The forward pass of one plan step: [`run`] dispatches an [`Op`] to its function in
//! `elementwise`, `nn`, `shape` or `attention`, with the step's input values.

pub mod attention;
pub mod elementwise;
pub mod nn;
pub mod shape;

use burn::tensor::Device;

use super::plan::{Ints, Op};
use super::value::{FloatValue, Value};

/// A step's inputs, taken one by one.
struct Inputs(Vec<Option<Value>>);

impl Inputs {
    /// Input `i`, which must be present.
    fn take(&mut self, i: usize) -> Result<Value, String> {
        self.0
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| format!("input {i} is missing"))
    }

    /// Input `i` when given.
    fn opt(&mut self, i: usize) -> Option<Value> {
        self.0.get_mut(i).and_then(Option::take)
    }

    /// Float input `i`.
    fn float(&mut self, i: usize, what: &str) -> Result<FloatValue, String> {
        self.take(i)?.float(what)
    }

    /// Float input `i` when given.
    fn opt_float(&mut self, i: usize, what: &str) -> Result<Option<FloatValue>, String> {
        self.opt(i).map(|v| v.float(what)).transpose()
    }

    /// The integers of `ints`: fixed, or read from an input (left in place).
    fn ints(&self, ints: &Ints, what: &str) -> Result<Vec<i64>, String> {
        match ints {
            Ints::Static(v) => Ok(v.clone()),
            Ints::Input(i) => self
                .0
                .get(*i)
                .and_then(Option::as_ref)
                .ok_or_else(|| format!("{what}: input {i} is missing"))?
                .clone()
                .int(what)
                .map(|v| v.data),
        }
    }

    /// Like [`Inputs::ints`] for an optional list.
    fn opt_ints(&self, ints: Option<&Ints>, what: &str) -> Result<Option<Vec<i64>>, String> {
        ints.map(|i| self.ints(i, what)).transpose()
    }
}

/// Runs `op` on `inputs` (by input position; `None` for an omitted optional one) and
/// returns its outputs.
pub fn run(op: &Op, inputs: Vec<Option<Value>>, device: &Device) -> Result<Vec<Value>, String> {
    let mut x = Inputs(inputs);
    let one = |v: Value| Ok(vec![v]);
    let f = |v: FloatValue| Ok(vec![Value::Float(v)]);
    match op {
        Op::Identity => one(x.take(0)?),
        Op::Unary(u) => f(elementwise::unary(x.float(0, "activation")?, *u)),
        Op::Binary(b) => one(elementwise::binary(x.take(0)?, x.take(1)?, *b, device)?),
        Op::PowScalar(p) => f(elementwise::pow_scalar(x.float(0, "Pow")?, *p)),
        Op::Softmax { axis, log } => f(elementwise::softmax(x.float(0, "Softmax")?, *axis, *log)?),
        Op::Conv2d { window, groups } => {
            let input = x.float(0, "Conv")?;
            let w = x.float(1, "Conv's weight")?;
            let b = x.opt_float(2, "Conv's bias")?;
            f(nn::conv2d(input, w, b, window, *groups)?)
        }
        Op::MaxPool2d(w) => f(nn::max_pool2d(x.float(0, "MaxPool")?, w)?),
        Op::AvgPool2d {
            window,
            count_include_pad,
        } => f(nn::avg_pool2d(
            x.float(0, "AveragePool")?,
            window,
            *count_include_pad,
        )?),
        Op::GlobalAvgPool => f(nn::global_avg_pool(x.float(0, "GlobalAveragePool")?)?),
        Op::BatchNorm { eps } => {
            let input = x.float(0, "BatchNormalization")?;
            let p = [1, 2, 3, 4].map(|i| x.float(i, "BatchNormalization's statistics"));
            let [s, b, m, v] = p;
            f(nn::batch_norm(input, [s?, b?, m?, v?], *eps)?)
        }
        Op::LayerNorm { axis, eps } => {
            let input = x.float(0, "LayerNormalization")?;
            let scale = x.float(1, "LayerNormalization's scale")?;
            let bias = x.opt_float(2, "LayerNormalization's bias")?;
            f(nn::layer_norm(input, scale, bias, *axis, *eps)?)
        }
        Op::Linear { transpose } => {
            let input = x.float(0, "Linear")?;
            let w = x.float(1, "Linear's weight")?;
            let b = x.opt_float(2, "Linear's bias")?;
            f(nn::linear(input, w, b, *transpose)?)
        }
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => {
            let a = x.float(0, "Gemm")?;
            let b = x.float(1, "Gemm")?;
            let c = x.opt_float(2, "Gemm's C")?;
            f(nn::gemm(a, b, c, [*alpha, *beta], [*trans_a, *trans_b])?)
        }
        Op::MatMul => f(nn::matmul(x.float(0, "MatMul")?, x.float(1, "MatMul")?)?),
        Op::Reduce {
            kind,
            axes,
            keepdims,
        } => {
            let axes = x
                .opt_ints(axes.as_ref(), "reduction axes")?
                .unwrap_or_default();
            let input = x.float(0, "reduction")?;
            let axes = axes
                .iter()
                .map(|&a| shape::norm_axis(a, input.rank, "reduction"))
                .collect::<Result<Vec<_>, _>>()?;
            f(nn::reduce(input, *kind, &axes, *keepdims)?)
        }
        _ => run_shape(op, x, device),
    }
}

/// The shape, selection and attention operations of [`run`].
fn run_shape(op: &Op, mut x: Inputs, device: &Device) -> Result<Vec<Value>, String> {
    let one = |v: Value| Ok(vec![v]);
    match op {
        Op::Flatten { axis } => one(shape::flatten(x.take(0)?, *axis)?),
        Op::Reshape(spec) => {
            let spec = x.ints(spec, "Reshape's shape")?;
            one(shape::reshape(x.take(0)?, &spec)?)
        }
        Op::Transpose(perm) => one(shape::transpose(x.take(0)?, perm)?),
        Op::Concat { axis } => {
            let parts = (0..x.0.len())
                .map(|i| x.take(i))
                .collect::<Result<Vec<_>, _>>()?;
            one(shape::concat(parts, *axis, device)?)
        }
        Op::Gather { axis } => {
            let data = x.take(0)?;
            let idx = x.take(1)?.int("Gather's indices")?;
            one(shape::gather(data, idx, *axis, device)?)
        }
        Op::GatherNd => {
            let data = x.float(0, "GatherND")?;
            let idx = x.take(1)?.int("GatherND's indices")?;
            one(Value::Float(shape::gather_nd(data, &idx, device)?))
        }
        Op::Split {
            axis,
            sizes,
            chunk,
            outputs,
        } => {
            let sizes = x.opt_ints(sizes.as_ref(), "Split's sizes")?;
            shape::split(
                x.take(0)?,
                *axis,
                sizes.as_deref(),
                *chunk,
                *outputs,
                device,
            )
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => {
            let starts = x.ints(starts, "Slice's starts")?;
            let ends = x.ints(ends, "Slice's ends")?;
            let axes = x.opt_ints(axes.as_ref(), "Slice's axes")?;
            let steps = x.opt_ints(steps.as_ref(), "Slice's steps")?;
            let data = x.take(0)?;
            one(shape::slice(
                data,
                &starts,
                &ends,
                axes.as_deref(),
                steps.as_deref(),
                device,
            )?)
        }
        Op::Squeeze(axes) => {
            let axes = x.opt_ints(axes.as_ref(), "Squeeze's axes")?;
            one(shape::squeeze(x.take(0)?, axes.as_deref())?)
        }
        Op::Unsqueeze(axes) => {
            let axes = x.ints(axes, "Unsqueeze's axes")?;
            one(shape::unsqueeze(x.take(0)?, &axes)?)
        }
        Op::Expand(to) => {
            let to = x.ints(to, "Expand's shape")?;
            one(shape::expand(x.take(0)?, &to)?)
        }
        Op::Shape { start, end } => one(shape::shape_of(&x.take(0)?, *start, *end)?),
        Op::Cast { to_float } => one(elementwise::cast(x.take(0)?, *to_float, device)?),
        Op::Equal => one(elementwise::equal(x.take(0)?, x.take(1)?)?),
        Op::Where => one(elementwise::where_op(
            x.take(0)?,
            x.take(1)?,
            x.take(2)?,
            device,
        )?),
        Op::Attention(spec) => {
            let q = x.float(0, "Attention's Q")?;
            let k = x.float(1, "Attention's K")?;
            let v = x.float(2, "Attention's V")?;
            let mask = x.opt(3);
            let out = attention::attention(q, k, v, mask, spec, device)?;
            one(Value::Float(out))
        }
        other => Err(format!("{other:?} reached the shape dispatcher")),
    }
}
