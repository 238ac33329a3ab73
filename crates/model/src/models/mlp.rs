//! Multi-layer perceptron: `Linear → ReLU → Dropout` per hidden width, then a linear head.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation};

use super::normalize::Normalize;
use crate::classifier::Classifier;

/// A fully connected classifier on flat inputs `[N, F]`.
///
/// Layers: for each hidden width `h`: `Linear(prev → h)`, ReLU, Dropout(p); then
/// `Linear(last → classes)`. Weights use burn's default Kaiming-uniform initialisation, the
/// same rule as PyTorch's `nn.Linear`.
#[derive(Module, Debug)]
pub struct Mlp {
    norm: Normalize,
    hidden: Vec<Linear>,
    dropout: Dropout,
    head: Linear,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    classes: usize,
}

impl Mlp {
    /// Builds an MLP for samples of `input_shape`, with the given hidden widths, dropout
    /// probability and normaliser.
    pub fn new(
        input_shape: &[usize],
        widths: &[usize],
        dropout: f64,
        classes: usize,
        norm: Normalize,
        device: &Device,
    ) -> Self {
        let mut prev: usize = input_shape.iter().product();
        let mut hidden = Vec::with_capacity(widths.len());
        for &w in widths {
            hidden.push(LinearConfig::new(prev, w).init(device));
            prev = w;
        }
        Self {
            norm,
            hidden,
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(prev, classes).init(device),
            input_shape: input_shape.to_vec(),
            classes,
        }
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
