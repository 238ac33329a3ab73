//! Multi-layer perceptron: `Linear → ReLU → Dropout` per hidden width, then a linear head.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, activation};

use super::dropout::Dropout;
use super::init::SeededInit;
use super::normalize::Normalize;
use crate::classifier::Classifier;

/// A fully connected classifier on flat inputs `[N, F]`.
///
/// Layers: for each hidden width `h`: `Linear(prev → h)`, ReLU, Dropout(p); then
/// `Linear(last → classes)`. Weights are drawn by [`SeededInit`] (PyTorch's `nn.Linear` rule).
#[derive(Module, Debug)]
pub struct Mlp {
    pub(crate) norm: Normalize,
    pub(crate) hidden: Vec<Linear>,
    dropout: Dropout,
    pub(crate) head: Linear,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    classes: usize,
}

impl Mlp {
    /// Builds an MLP for samples of `input_shape`, with the given hidden widths, dropout
    /// probability and normaliser, drawing weights from `init`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input_shape: &[usize],
        widths: &[usize],
        dropout: f64,
        classes: usize,
        norm: Normalize,
        init: &mut SeededInit,
        device: &Device,
    ) -> Self {
        let mut prev: usize = input_shape.iter().product();
        let mut hidden = Vec::with_capacity(widths.len());
        for &w in widths {
            hidden.push(init.linear(prev, w, device));
            prev = w;
        }
        Self {
            norm,
            hidden,
            head: init.linear(prev, classes, device),
            dropout: Dropout::new(dropout, init.fork_seed()),
            input_shape: input_shape.to_vec(),
            classes,
        }
    }
}

impl Mlp {
    /// Monte-Carlo dropout: keeps the dropout layer active in inference when `on`, with its
    /// mask stream re-seeded by `seed`.
    pub(crate) fn with_mc_dropout(mut self, on: bool, seed: u64) -> Self {
        self.dropout = self.dropout.with_always_on(on);
        self.dropout.reseed(seed);
        self
    }

    /// The dropout layers, in order.
    pub(crate) fn dropouts(&self) -> Vec<&Dropout> {
        vec![&self.dropout]
    }

    /// The dropout probability.
    pub(crate) fn dropout_prob(&self) -> f64 {
        self.dropout.prob
    }
}

impl Classifier for Mlp {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = self.norm.forward(x);
        for layer in &self.hidden {
            x = self.dropout.forward(activation::relu(layer.forward(x)));
        }
        self.head.forward(x)
    }
    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
}
