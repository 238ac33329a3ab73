//! MadryCnn: the MNIST network of Madry et al. 2018 ("Towards Deep Learning Models Resistant
//! to Adversarial Attacks", MNIST challenge model).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor, activation};

use super::init::SeededInit;
use super::normalize::Normalize;
use crate::classifier::Classifier;
use aegis_kernels::{conv2d, relu_max_pool2d};

/// `conv(1→32, 5×5, pad 2) relu maxpool2, conv(32→64, 5×5, pad 2) relu maxpool2,
/// linear(3136→1024) relu, linear(1024→classes)` on `[N, 1, 28, 28]` given flat as `[N, 784]`.
///
/// Spatial sizes: 28 → 28 → 14 → 14 → 7, so the flattened width is 64·7·7 = 3136.
#[derive(Module, Debug)]
pub struct MadryCnn {
    pub(crate) norm: Normalize,
    pub(crate) conv1: Conv2d,
    pub(crate) conv2: Conv2d,
    pool: MaxPool2d,
    pub(crate) fc1: Linear,
    pub(crate) fc2: Linear,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    classes: usize,
}

impl MadryCnn {
    /// Builds a MadryCnn for `[1, 28, 28]` inputs, drawing weights from `init`.
    pub fn new(classes: usize, norm: Normalize, init: &mut SeededInit, device: &Device) -> Self {
        let pad = PaddingConfig2d::Explicit(2, 2, 2, 2);
        Self {
            norm,
            conv1: init.conv2d(
                Conv2dConfig::new([1, 32], [5, 5]).with_padding(pad.clone()),
                device,
            ),
            conv2: init.conv2d(
                Conv2dConfig::new([32, 64], [5, 5]).with_padding(pad),
                device,
            ),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: init.linear(3136, 1024, device),
            fc2: init.linear(1024, classes, device),
            input_shape: vec![1, 28, 28],
            classes,
        }
    }
}

impl Classifier for MadryCnn {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, _] = x.dims();
        let x = self.norm.forward(x).reshape([n, 1, 28, 28]);
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv1, x));
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv2, x));
        let x = x.reshape([n, 3136]);
        let x = activation::relu(self.fc1.forward(x));
        self.fc2.forward(x)
    }
    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
}
