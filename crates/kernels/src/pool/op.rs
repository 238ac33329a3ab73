//! [`max_pool2d`]: a Burn `MaxPool2d` layer's forward on flex through this module's kernel.

use std::sync::Arc;

use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{Tensor, activation};
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;

use super::backward::{MaxPool2x2, PoolState};
use super::max_pool_2x2::forward;
use crate::route::{
    Operand, StrategyFn, Tracked, autodiff_node, contiguous, flex, needs_autodiff, plain, record,
    values,
};

/// `pool.forward(x)`: a 2×2 / stride-2 / unpadded / floor max-pool of an `f32` tensor on flex
/// runs here (with its own autodiff node), identical bit for bit to Burn's in values and
/// gradients; any other pool, device or dtype runs Burn's `MaxPool2d::forward`.
/// `x`: `[n, c, h, w]`; returns `[n, c, h/2, w/2]`.
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    pool_op(pool, x, false)
}

/// `pool.forward(relu(x))` in one pass where [`max_pool2d`] runs its kernel (identical bit
/// for bit, values and gradients, to Burn's ReLU followed by Burn's pool), skipping the ReLU
/// over the full-size input and its backward; elsewhere exactly Burn's ReLU then pool.
pub fn relu_max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    pool_op(pool, x, true)
}

fn pool_op(pool: &MaxPool2d, x: Tensor<4>, relu: bool) -> Tensor<4> {
    let burn = |x: Tensor<4>| pool.forward(if relu { activation::relu(x) } else { x });
    let [n, c, h, w] = x.dims();
    let plain_2x2 = pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && !pool.ceil_mode
        && matches!(
            pool.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
    if !crate::enabled() || !plain_2x2 || n * c == 0 || h < 2 || w < 2 {
        return burn(x);
    }
    let Some((operand, context)) = Operand::of(&x) else {
        return burn(x);
    };
    let op = PoolOp {
        x: operand,
        shape: [n, c, h, w],
        relu,
    };
    if !needs_autodiff(&[&op.x], context) {
        let (out, _) = op.forward_values();
        return plain(out);
    }
    autodiff_node(context, op)
}

/// One pooling's operand on flex.
struct PoolOp {
    x: Operand,
    shape: [usize; 4],
    relu: bool,
}

impl PoolOp {
    fn forward_values(&self) -> (burn_flex::FlexTensor, Vec<u8>) {
        let [n, c, h, w] = self.shape;
        let x = contiguous(self.x.primitive());
        let (out, idx) = forward(values(&x), n * c, h, w, self.relu);
        (flex(out, &[n, c, h / 2, w / 2]), idx)
    }
}

impl StrategyFn for PoolOp {
    fn call<C: CheckpointStrategy>(self) -> Tracked {
        let (out, indices) = self.forward_values();
        let x = self.x.lifted();
        let state = PoolState {
            indices: Arc::new(indices),
            shape: self.shape,
        };
        record::<C, _, 1>(MaxPool2x2, [x.node()], state, out)
    }
}
