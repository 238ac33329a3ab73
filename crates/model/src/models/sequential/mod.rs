//! Architectures as data: a [`SequentialSpec`] (JSON, PyTorch's layer vocabulary) built into
//! a [`Sequential`] network that implements [`Classifier`] like the built-in models, trains
//! with the same seeded initialisation, and maps its parameters to and from PyTorch
//! `state_dict` names ([`torch`]) for import and export.
//!
//! - [`kind`]: the layers; [`spec`]: the whole format; [`shape`]: its shape check (errors
//!   name the layer and the shapes).
//! - [`layer`]: the Burn modules the layers become and their forward pass.
//! - [`torch`]: `state_dict` names and layouts of every parameter.
//! - [`builtin`]: the built-in architectures written as specs.
//! - [`budget`]: the memory a spec needs, refused before allocation when over the budget.

pub mod budget;
pub mod builtin;
mod fold;
pub mod kind;
pub mod layer;
pub mod shape;
pub mod spec;
pub mod torch;

#[cfg(test)]
mod tests;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

pub use self::kind::{LayerKind, LayerSpec, Pair};
use self::layer::{Activation, Block};
pub use self::shape::Shape;
pub use self::spec::SequentialSpec;
use super::dropout::Dropout;
use super::init::SeededInit;
use super::normalize::Normalize;
use crate::classifier::Classifier;

/// A feed-forward network built from a [`SequentialSpec`]: flat raw inputs `[N, F]` →
/// the run's input normalisation → reshape to the spec's `input_shape` → the layers →
/// logits `[N, C]`.
#[derive(Module, Debug)]
pub struct Sequential {
    norm: Normalize,
    blocks: Vec<Block>,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    image: Option<[usize; 3]>,
    #[module(skip)]
    classes: usize,
}

impl Sequential {
    /// Builds the network of `spec` (which must pass [`SequentialSpec::output_classes`]):
    /// weights drawn in layer order from `init` (PyTorch's default rule, as the built-in
    /// models), then one mask seed per dropout layer, in order.
    pub fn new(
        spec: &SequentialSpec,
        classes: usize,
        norm: Normalize,
        init: &mut SeededInit,
        device: &Device,
    ) -> Self {
        let mut blocks: Vec<Block> = spec
            .layers
            .iter()
            .map(|l| Block::build(&l.kind, init, device))
            .collect();
        for leaf in blocks.iter_mut().flat_map(Block::leaves_mut) {
            leaf.seed_dropout(init);
        }
        let image = match Shape::from_dims(&spec.input_shape) {
            Some(Shape::Image(c, h, w)) => Some([c, h, w]),
            _ => None,
        };
        Self {
            norm,
            blocks,
            input_shape: spec.input_shape.clone(),
            image,
            classes,
        }
    }

    /// The input normalisation applied to the flat raw input `[N, F]` before the first layer.
    pub fn norm(&self) -> &Normalize {
        &self.norm
    }

    /// The top-level layers.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The top-level layers, mutable (for loading imported weights).
    pub fn blocks_mut(&mut self) -> &mut [Block] {
        &mut self.blocks
    }

    /// Monte-Carlo dropout: keeps every dropout layer active in inference when `on`, the
    /// `k`-th one's mask stream re-seeded by `seed + k`.
    pub(crate) fn with_mc_dropout(mut self, on: bool, seed: u64) -> Self {
        let mut k = 0u64;
        for leaf in self.blocks.iter_mut().flat_map(Block::leaves_mut) {
            if let Some(d) = leaf.as_dropout_mut() {
                *d = d.clone().with_always_on(on);
                d.reseed(seed.wrapping_add(k));
                k += 1;
            }
        }
        self
    }

    /// The dropout layers, in network order.
    pub(crate) fn dropouts(&self) -> Vec<&Dropout> {
        self.blocks
            .iter()
            .flat_map(Block::leaves)
            .filter_map(|l| match l {
                layer::Leaf::Dropout(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// The largest dropout probability of the network (0 without dropout layers).
    pub(crate) fn dropout_prob(&self) -> f64 {
        self.blocks
            .iter()
            .flat_map(Block::leaves)
            .filter_map(|l| match l {
                layer::Leaf::Dropout(d) => Some(d.prob),
                _ => None,
            })
            .fold(0.0, f64::max)
    }
}

impl Classifier for Sequential {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, _] = x.dims();
        let x = self.norm.forward(x);
        let mut a = match self.image {
            Some([c, h, w]) => Activation::Image(x.reshape([n, c, h, w])),
            None => Activation::Flat(x),
        };
        let mut blocks = self.blocks.iter().peekable();
        while let Some(block) = blocks.next() {
            a = match (block, blocks.peek()) {
                (Block::Leaf(leaf), Some(Block::Leaf(next))) => {
                    let (y, consumed) = layer::forward_pair(leaf, Some(next), a);
                    if consumed {
                        blocks.next();
                    }
                    y
                }
                (block, _) => block.forward(a),
            };
        }
        match a {
            Activation::Flat(x) => x,
            Activation::Image(x) => x.flatten(1, 3),
        }
    }
    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
}
