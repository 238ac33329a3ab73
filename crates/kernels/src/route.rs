//! From Burn's run-time `Dispatch` tensors to flex's own tensors and back.
//!
//! A float tensor on flex is either plain (`DispatchTensorKind::Flex(Float)`) or tracked by
//! autodiff (`DispatchTensorKind::Autodiff(Flex(Autodiff))`). An operation whose operands are
//! all on flex in `f32` runs here; anything else (another device, another dtype) is left to
//! Burn. Plain operands of an operation that has a tracked one are lifted as constants, and
//! the autodiff contexts merge, as Burn's own dispatch does (`burn-backend-extension`'s
//! routing: "a disabled context is treated as a constant for that operation").

use burn::tensor::{DispatchTensor, Tensor};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn_autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn_backend::tensor::FloatTensor;
use burn_backend::{AutodiffBackend, DType};
use burn_dispatch::{
    BackendTensor, DispatchAutodiffContext, DispatchTensorKind, GradientCheckpointingStrategy,
};
use burn_flex::{Flex, FlexTensor};

/// A flex tensor tracked by autodiff.
pub(crate) type Tracked = FloatTensor<Autodiff<Flex>>;

/// One operand of a flex operation.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// No autodiff.
    Plain(FlexTensor),
    /// An autodiff tensor (tracked or not).
    Tracked(Tracked),
}

impl Operand {
    /// The flex tensor of `t` with its autodiff context, or `None` when `t` is not an `f32`
    /// tensor on flex.
    pub fn of<const D: usize>(t: &Tensor<D>) -> Option<(Self, DispatchAutodiffContext)> {
        let DispatchTensor { kind, autodiff } = t.clone().into_dispatch();
        let operand = match kind {
            DispatchTensorKind::Flex(BackendTensor::Float(t)) => Operand::Plain(t),
            DispatchTensorKind::Autodiff(inner) => match *inner {
                DispatchTensorKind::Flex(BackendTensor::Autodiff(t)) => Operand::Tracked(t),
                _ => return None,
            },
            _ => return None,
        };
        (operand.primitive().dtype() == DType::F32).then_some((operand, autodiff))
    }

    /// The flex tensor itself.
    pub fn primitive(&self) -> &FlexTensor {
        match self {
            Operand::Plain(t) => t,
            Operand::Tracked(t) => t.primitive(),
        }
    }

    /// As an autodiff tensor: a plain operand becomes an untracked constant.
    pub fn lifted(self) -> Tracked {
        match self {
            Operand::Plain(t) => Autodiff::<Flex>::from_inner(t),
            Operand::Tracked(t) => t,
        }
    }
}

/// The merged autodiff context of an operation's operands (panics, as Burn does, when two
/// operands carry different checkpointing strategies).
pub(crate) fn merged(contexts: &[DispatchAutodiffContext]) -> DispatchAutodiffContext {
    contexts
        .iter()
        .fold(DispatchAutodiffContext::Disabled, |a, &b| a.merge(b))
}

/// Whether the operation must go through autodiff: some operand is tracked, or the merged
/// context asks for it.
pub(crate) fn needs_autodiff(operands: &[&Operand], context: DispatchAutodiffContext) -> bool {
    matches!(context, DispatchAutodiffContext::Enabled(_))
        || operands.iter().any(|o| matches!(o, Operand::Tracked(_)))
}

/// The autodiff node that `body` records, as a Burn tensor, run with the checkpointing
/// strategy type of `context` (Burn's `Dispatch` keeps it as a run-time value).
pub(crate) fn autodiff_node<const D: usize>(
    context: DispatchAutodiffContext,
    body: impl StrategyFn,
) -> Tensor<D> {
    let strategy = match context {
        DispatchAutodiffContext::Enabled(s) => s,
        DispatchAutodiffContext::Disabled => GradientCheckpointingStrategy::Disabled,
    };
    let out = match strategy {
        GradientCheckpointingStrategy::Balanced => body.call::<BalancedCheckpointing>(),
        GradientCheckpointingStrategy::Disabled => body.call::<NoCheckpointing>(),
    };
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Flex(
            BackendTensor::Autodiff(out),
        ))),
        autodiff: DispatchAutodiffContext::Enabled(strategy),
    })
}

/// An operation's forward pass recorded as an autodiff node, generic over the checkpointing
/// strategy (closures cannot be generic).
pub(crate) trait StrategyFn {
    /// Runs with strategy `C`.
    fn call<C: CheckpointStrategy>(self) -> Tracked;
}

/// `out` recorded as the output of one autodiff node `op` with parents `nodes` (guards taken
/// before the operands were consumed) and backward state `state`; the state is dropped when
/// no parent is tracked.
pub(crate) fn record<C, O, const N: usize>(
    op: O,
    nodes: [NodeGuard; N],
    state: O::State,
    out: FlexTensor,
) -> Tracked
where
    C: CheckpointStrategy,
    O: Backward<Flex, N>,
{
    match op.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// A plain flex result as a Burn tensor.
pub(crate) fn plain<const D: usize>(t: FlexTensor) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Flex(BackendTensor::Float(t)),
        autodiff: DispatchAutodiffContext::Disabled,
    })
}

/// The contiguous `f32` values of a flex tensor (a copy only when it is a strided view).
pub(crate) fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// `contiguous(t)`'s values.
pub(crate) fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 flex tensor")
}

/// A flex tensor of `shape` holding `data`.
pub(crate) fn flex(data: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(burn::tensor::TensorData::new(data, shape.to_vec()))
}
