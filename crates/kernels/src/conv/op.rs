//! [`conv2d`]: a Burn `Conv2d` layer's forward on flex through this module's kernels.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_flex::FlexTensor;

use super::backward::{ConvNoBias, ConvState, ConvWithBias};
use super::{Geometry, forward};
use crate::route::{
    Operand, StrategyFn, Tracked, autodiff_node, contiguous, flex, merged, needs_autodiff, plain,
    record, values,
};

/// `conv.forward(x)`: on flex in `f32` with `groups = 1`, through im2col + gemm here
/// (forward, and under autodiff the input, weight and bias gradients); anything else through
/// Burn's own `Conv2d::forward`. `x`: `[n, c_in, h, w]`; returns `[n, c_out, oh, ow]`, with
/// Burn's padding (`Valid`, `Same`, `Explicit`), stride and dilation.
///
/// Values agree with Burn's convolution to float rounding (the products are summed in
/// another order); `crate::enabled` turns the kernels off for a side-by-side check.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match ConvOp::new(conv, &x) {
        Some(op) => op.run(),
        None => conv.forward(x),
    }
}

/// `((top, bottom), (left, right))` as burn-nn 0.22.1's `PaddingConfig2d` computes them
/// (`calculate_padding_2d_pairs`, crate-private there): `Same` pads to `ceil(size / stride)`
/// outputs from the kernel size (not its dilated span), the odd unit at the end.
fn padding_pairs(
    padding: &PaddingConfig2d,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> ((usize, usize), (usize, usize)) {
    let same = |k: usize, s: usize, size: usize| {
        let out = size.div_ceil(s.max(1));
        let total = if out > 0 {
            ((out - 1) * s + k).saturating_sub(size)
        } else {
            0
        };
        (total / 2, total - total / 2)
    };
    match *padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Same => (
            same(kernel[0], stride[0], size[0]),
            same(kernel[1], stride[1], size[1]),
        ),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
    }
}

/// One convolution's operands on flex.
struct ConvOp {
    x: Operand,
    weight: Operand,
    bias: Option<Operand>,
    geometry: Geometry,
    context: burn_dispatch::DispatchAutodiffContext,
}

impl ConvOp {
    /// `None` when the kernels are off or do not apply (another device or dtype, groups,
    /// an empty dimension).
    fn new(conv: &Conv2d, x: &Tensor<4>) -> Option<Self> {
        if !crate::enabled() || conv.groups != 1 {
            return None;
        }
        let [_, _, h, w] = x.dims();
        let (rows, cols) = padding_pairs(&conv.padding, [h, w], conv.kernel_size, conv.stride);
        let weight = conv.weight.val();
        let geometry = Geometry::new(
            x.dims(),
            weight.dims(),
            conv.stride,
            [rows, cols],
            conv.dilation,
        )?;
        let g = &geometry;
        if [g.n, g.c_in, g.c_out, g.oh, g.ow].contains(&0) {
            return None;
        }
        let (x, cx) = Operand::of(x)?;
        let (weight, cw) = Operand::of(&weight)?;
        let (bias, cb) = match &conv.bias {
            Some(b) => {
                let (b, cb) = Operand::of(&b.val())?;
                (Some(b), cb)
            }
            None => (None, Default::default()),
        };
        Some(Self {
            x,
            weight,
            bias,
            geometry,
            context: merged(&[cx, cw, cb]),
        })
    }

    fn run(self) -> Tensor<4> {
        let mut operands = vec![&self.x, &self.weight];
        operands.extend(self.bias.as_ref());
        if !needs_autodiff(&operands, self.context) {
            return plain(self.forward_values().0);
        }
        autodiff_node(self.context, self)
    }

    /// The forward pass on the operands' values: the output, and the input and weight as the
    /// pass read them (contiguous), for the backward.
    fn forward_values(&self) -> (FlexTensor, FlexTensor, FlexTensor) {
        let x = contiguous(self.x.primitive());
        let w = contiguous(self.weight.primitive());
        let b = self.bias.as_ref().map(|b| contiguous(b.primitive()));
        let g = &self.geometry;
        let y = forward(values(&x), values(&w), b.as_ref().map(values), g);
        (flex(y, &g.out_shape()), x, w)
    }
}

impl StrategyFn for ConvOp {
    /// The forward pass recorded as one autodiff node.
    fn call<C: CheckpointStrategy>(self) -> Tracked {
        let (out, x_values, w_values) = self.forward_values();
        let x = self.x.lifted();
        let weight = self.weight.lifted();
        let bias = self.bias.map(Operand::lifted);
        let state = ConvState {
            x: (weight.is_tracked() || bias.as_ref().is_some_and(|b| b.is_tracked()))
                .then_some(x_values),
            weight: x.is_tracked().then_some(w_values),
            geometry: self.geometry,
        };
        match bias {
            Some(bias) => record::<C, _, 3>(
                ConvWithBias,
                [x.node(), weight.node(), bias.node()],
                state,
                out,
            ),
            None => record::<C, _, 2>(ConvNoBias, [x.node(), weight.node()], state, out),
        }
    }
}
