//! Deterministic parameter ids in saved weights.
//!
//! Burn gives every parameter a random [`ParamId`] when a model is built, and burnpack stores
//! it beside the tensor, so two trainings with the same seed would write `model.bpk` files
//! whose bytes (and SHA-256, which audits and review logs record) differ. [`renumbered`]
//! gives a copy of the model the ids 0, 1, 2, … in Burn's traversal order, the order the
//! tensors are saved in; [`crate::RunDir::save_weights`] saves that copy. Training keeps the
//! ids the model was built with (the optimiser's state, and `train --resume`'s checkpoints in
//! `RUN/resume/`, are keyed by them); a run loaded from `model.bpk` carries the new ones.

use burn::module::{Module, ModuleMapper, Param, ParamId, ParameterValue};
use burn::tensor::{Bool, Int, Tensor};

/// `model` with its parameters numbered 0, 1, 2, … in traversal order (values unchanged).
pub fn renumbered<M: Module>(model: M) -> M {
    model.map(&mut Renumber { next: 0 })
}

/// The mapper behind [`renumbered`]: each parameter gets the next id.
struct Renumber {
    next: u64,
}

impl Renumber {
    fn next_id(&mut self) -> ParamId {
        let id = ParamId::from(self.next);
        self.next += 1;
        id
    }

    fn renumber<T: ParameterValue>(&mut self, param: Param<T>) -> Param<T> {
        let (_, value, mapper) = param.consume();
        Param::from_mapped_value(self.next_id(), value, mapper)
    }
}

impl ModuleMapper for Renumber {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.renumber(param)
    }

    fn map_int<const D: usize>(&mut self, param: Param<Tensor<D, Int>>) -> Param<Tensor<D, Int>> {
        self.renumber(param)
    }

    fn map_bool<const D: usize>(
        &mut self,
        param: Param<Tensor<D, Bool>>,
    ) -> Param<Tensor<D, Bool>> {
        self.renumber(param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classifier;
    use crate::models::{Architecture, Model, ModelConfig};

    fn ids(model: &Model) -> Vec<u64> {
        struct Ids(Vec<u64>);
        impl burn::module::ModuleVisitor for Ids {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.push(param.id.val());
            }
        }
        let mut v = Ids(Vec::new());
        model.visit(&mut v);
        v.0
    }

    #[test]
    fn renumbering_gives_sequential_ids_and_keeps_values() {
        let device = burn::tensor::Device::flex();
        let config = ModelConfig::new(Architecture::Mlp, vec![4], 2);
        let model = config.init(&device, 7).unwrap();
        let fresh = ids(&model);
        let again = renumbered(model.clone());
        assert_eq!(ids(&again), (0..fresh.len() as u64).collect::<Vec<_>>());
        assert_eq!(ids(&model), fresh, "the original keeps its ids");
        let x = Tensor::<2>::ones([1, 4], &device);
        assert_eq!(
            model.logits(x.clone()).into_data(),
            again.logits(x).into_data()
        );
    }
}
