//! The autodiff node of [`crate::conv2d`]: gradients for whichever of input, weight and bias
//! are tracked.

use burn_autodiff::NodeId;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::{Flex, FlexTensor};

use super::{Geometry, input_grad, weight_grad};
use crate::route::{contiguous, flex, values};

/// What the backward pass needs: the forward's input (for the weight gradient) and weight
/// (for the input gradient), contiguous.
#[derive(Clone, Debug)]
pub(crate) struct ConvState {
    pub x: Option<FlexTensor>,
    pub weight: Option<FlexTensor>,
    pub geometry: Geometry,
}

/// Convolution with a bias: parents `[x, weight, bias]`.
#[derive(Debug)]
pub(crate) struct ConvWithBias;
/// Convolution without a bias: parents `[x, weight]`.
#[derive(Debug)]
pub(crate) struct ConvNoBias;

/// Registers the gradient of each tracked parent (`None`: not tracked).
fn register(
    state: ConvState,
    dy: FlexTensor,
    [x_node, w_node, b_node]: [Option<NodeId>; 3],
    grads: &mut Gradients,
) {
    let g = state.geometry;
    let dy = contiguous(&dy);
    if let (Some(node), Some(weight)) = (x_node, &state.weight) {
        let dx = input_grad(values(weight), values(&dy), &g);
        grads.register::<Flex>(node, flex(dx, &g.x_shape()));
    }
    if w_node.is_some() || b_node.is_some() {
        let x = state
            .x
            .as_ref()
            .expect("the input is kept when a weight is tracked");
        let (dw, db) = weight_grad(values(x), values(&dy), &g);
        if let Some(node) = w_node {
            grads.register::<Flex>(node, flex(dw, &g.weight_shape()));
        }
        if let Some(node) = b_node {
            grads.register::<Flex>(node, flex(db, &[g.c_out]));
        }
    }
}

impl Backward<Flex, 3> for ConvWithBias {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let ids = ops.parents.map(|p| p.map(|node| node.id));
        register(ops.state, dy, ids, grads);
    }
}

impl Backward<Flex, 2> for ConvNoBias {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let [x, w] = ops.parents.map(|p| p.map(|node| node.id));
        register(ops.state, dy, [x, w, None], grads);
    }
}
