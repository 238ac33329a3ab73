//! SmallCnn: the reference MNIST network of the Aegis issues and the PyTorch baselines.

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor, activation};

use super::dropout::Dropout;
use super::init::SeededInit;
use super::normalize::Normalize;
use crate::classifier::Classifier;
use aegis_kernels::{conv2d, relu_max_pool2d};

/// `conv(1→16, 3×3) relu maxpool2, conv(16→32, 3×3) relu maxpool2, linear(800→128) relu
/// dropout(p), linear(128→classes)` on `[N, 1, 28, 28]` images given flat as `[N, 784]`.
///
/// Spatial sizes: 28 → 26 → 13 → 11 → 5, so the flattened width is 32·5·5 = 800.
/// Default dropout p = 0.5 (as in the PyTorch reference).
#[derive(Module, Debug)]
pub struct SmallCnn {
    pub(crate) norm: Normalize,
    pub(crate) conv1: Conv2d,
    pub(crate) conv2: Conv2d,
    pool: MaxPool2d,
    pub(crate) fc1: Linear,
    dropout: Dropout,
    pub(crate) fc2: Linear,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    classes: usize,
}

impl SmallCnn {
    /// Builds a SmallCnn for `[1, 28, 28]` inputs, drawing weights from `init`.
    pub fn new(
        dropout: f64,
        classes: usize,
        norm: Normalize,
        init: &mut SeededInit,
        device: &Device,
    ) -> Self {
        Self {
            norm,
            conv1: init.conv2d(Conv2dConfig::new([1, 16], [3, 3]), device),
            conv2: init.conv2d(Conv2dConfig::new([16, 32], [3, 3]), device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: init.linear(800, 128, device),
            fc2: init.linear(128, classes, device),
            dropout: Dropout::new(dropout, init.fork_seed()),
            input_shape: vec![1, 28, 28],
            classes,
        }
    }
}

impl SmallCnn {
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

impl Classifier for SmallCnn {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, _] = x.dims();
        let x = self.norm.forward(x).reshape([n, 1, 28, 28]);
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv1, x));
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv2, x));
        let x = x.reshape([n, 800]);
        let x = self.dropout.forward(activation::relu(self.fc1.forward(x)));
        self.fc2.forward(x)
    }
    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
}
