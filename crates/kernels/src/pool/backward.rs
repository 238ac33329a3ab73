//! The autodiff node of [`crate::max_pool2d`].

use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::Flex;

use super::max_pool_2x2::backward;
use crate::route::{contiguous, flex, values};

/// The window indices of the forward pass and the input shape `[n, c, h, w]`.
#[derive(Clone, Debug)]
pub(crate) struct PoolState {
    pub indices: std::sync::Arc<Vec<u8>>,
    pub shape: [usize; 4],
}

/// 2×2 max-pool: one parent, the input.
#[derive(Debug)]
pub(crate) struct MaxPool2x2;

impl Backward<Flex, 1> for MaxPool2x2 {
    type State = PoolState;

    fn backward(self, ops: Ops<PoolState, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = contiguous(&grads.consume::<Flex>(&ops.node));
        let [parent] = ops.parents;
        if let Some(node) = parent {
            let [n, c, h, w] = ops.state.shape;
            let dx = backward(values(&dy), &ops.state.indices, n * c, h, w);
            grads.register::<Flex>(node.id, flex(dx, &ops.state.shape));
        }
    }
}
