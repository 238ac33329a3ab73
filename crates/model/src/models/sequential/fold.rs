//! A convolution followed by batch norm in inference, run as one convolution with the batch
//! norm folded into its weights: `y = γ·(W∗x + b − μ)/√(σ² + ε) + β = (s·W)∗x + (s·(b − μ) + β)`
//! with `s = γ/√(σ² + ε)` per output channel (Ioffe & Szegedy 2015; as PyTorch's
//! `torch.nn.utils.fusion.fuse_conv_bn_eval`). The same function of `x` to float rounding, with
//! one pass over the activation instead of two, forward and backward: attacks and evaluation
//! run models in inference mode. Gradients flow to `W`, `b`, `γ` and `β` through the fold.
//!
//! Folding costs a pass over the weights on every forward, so it runs only where that is
//! smaller than the batch norm's pass over the activation: `n·H_out·W_out > C_in·k_h·k_w`
//! (ResNet-18's first stage at any batch, its 512-channel stage from batch 289). Off with the
//! kernels (`AEGIS_KERNELS=burn`), which keeps the layer-by-layer reference path.

use burn::module::{Param, ParamId};
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// Whether `bn` runs in inference mode on `x` (its running statistics: no autodiff device, or
/// its training flag off, as burn's `BatchNorm::forward` decides) and folding into `conv` costs
/// less than the batch norm's pass over the activation `conv` makes of `x` (`[n, c_in, h, w]`).
pub fn folds(conv: &Conv2d, bn: &BatchNorm, x: &Tensor<4>) -> bool {
    let inference = !(x.device().is_autodiff() && bn.training.is_enabled());
    if !inference || !aegis_kernels::enabled() {
        return false;
    }
    let [n, c_in, h, w] = x.dims();
    let [kh, kw] = conv.kernel_size;
    // About the output size (exact for "same" padding; the rule needs no more).
    let positions = h.div_ceil(conv.stride[0].max(1)) * w.div_ceil(conv.stride[1].max(1));
    n * positions > c_in * kh * kw
}

/// `bn(conv(x))` with `bn` in inference mode, as one convolution (see the module docs).
pub fn conv_bn(conv: &Conv2d, bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let mean = bn.running_mean.value().to_device(&device);
    let var = bn.running_var.value().to_device(&device);
    let scale = bn.gamma.val() / (var + bn.epsilon).sqrt();
    let [c_out, ..] = conv.weight.dims();
    let weight = conv.weight.val() * scale.clone().reshape([c_out, 1, 1, 1]);
    let bias = match &conv.bias {
        Some(b) => b.val() - mean,
        None => mean.neg(),
    };
    let bias = bias * scale + bn.beta.val();
    let folded = Conv2d {
        weight: Param::initialized(ParamId::new(), weight),
        bias: Some(Param::initialized(ParamId::new(), bias)),
        ..conv.clone()
    };
    aegis_kernels::conv2d(&folded, x)
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, RunningState};
    use burn::tensor::{Device, Distribution, Tensor};

    use super::super::layer::{Activation, Block, Leaf};
    use crate::classifier::Classifier;
    use crate::models::{Architecture, Model, ModelConfig};

    /// A conv–BN stem and a residual block with a conv–BN body and a 1×1 conv–BN projection,
    /// every batch norm with random running statistics.
    fn model(device: &Device) -> Model {
        let spec = serde_json::from_str(
            r#"{"input_shape": [3, 8, 8], "layers": [
                {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
                 "padding": 1},
                {"type": "batchnorm2d", "num_features": 8},
                {"type": "relu"},
                {"type": "residual", "layers": [
                    {"type": "conv2d", "in_channels": 8, "out_channels": 16, "kernel_size": 3,
                     "stride": 2, "padding": 1, "bias": false},
                    {"type": "batchnorm2d", "num_features": 16},
                    {"type": "relu"},
                    {"type": "conv2d", "in_channels": 16, "out_channels": 16, "kernel_size": 3,
                     "padding": 1, "bias": false},
                    {"type": "batchnorm2d", "num_features": 16}],
                 "projection": [
                    {"type": "conv2d", "in_channels": 8, "out_channels": 16, "kernel_size": 1,
                     "stride": 2, "bias": false},
                    {"type": "batchnorm2d", "num_features": 16}]},
                {"type": "adaptiveavgpool2d", "output_size": 1},
                {"type": "flatten"},
                {"type": "linear", "in_features": 16, "out_features": 4}]}"#,
        )
        .unwrap();
        let mut model = ModelConfig::new(Architecture::Sequential, vec![3, 8, 8], 4)
            .with_spec(Some(spec))
            .init(device, 1)
            .unwrap();
        let Model::Sequential(s) = &mut model else {
            unreachable!("a spec builds a sequential model")
        };
        for block in s.blocks_mut() {
            for leaf in block.leaves_mut() {
                if let Leaf::BatchNorm(bn) = leaf {
                    let [c] = bn.gamma.dims();
                    let uniform =
                        |lo, hi| Tensor::<1>::random([c], Distribution::Uniform(lo, hi), device);
                    bn.running_mean = RunningState::new(uniform(-0.5, 0.5));
                    bn.running_var = RunningState::new(uniform(0.3, 2.0));
                    bn.gamma = bn.gamma.clone().map(|_| uniform(0.5, 1.5));
                    bn.beta = bn.beta.clone().map(|_| uniform(-0.3, 0.3));
                }
            }
        }
        model.valid()
    }

    /// The network layer by layer: no folding anywhere.
    fn layer_by_layer(model: &Model, x: Tensor<2>) -> Tensor<2> {
        let Model::Sequential(s) = model else {
            unreachable!()
        };
        let [n, _] = x.dims();
        let [c, h, w] = s.image.expect("an image model");
        let mut a = Activation::Image(s.norm.forward(x).reshape([n, c, h, w]));
        let run = |leaves: &[Leaf], a: Activation| leaves.iter().fold(a, |a, l| l.forward(a));
        for block in s.blocks() {
            a = match block {
                Block::Leaf(l) => l.forward(a),
                Block::Residual(r) => run(&r.body, a.clone()).add(run(&r.projection, a)),
            };
        }
        match a {
            Activation::Flat(t) => t,
            Activation::Image(t) => t.flatten(1, 3),
        }
    }

    fn relative(a: Tensor<2>, b: Tensor<2>) -> f32 {
        let diff: f32 = (a.clone() - b).powf_scalar(2.0).sum().sqrt().into_scalar();
        let norm: f32 = a.powf_scalar(2.0).sum().sqrt().into_scalar();
        diff / norm
    }

    #[test]
    fn folded_batch_norm_gives_the_layers_values_and_input_gradients() {
        let device = Device::flex();
        let model = model(&device);
        let x = Tensor::<2>::random([32, 3 * 8 * 8], Distribution::Uniform(0.0, 1.0), &device);
        let folded = model.logits(x.clone());
        let reference = layer_by_layer(&model, x.clone());
        assert!(relative(reference, folded) < 1e-5);

        let grad = |f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
            let xa = x.clone().autodiff().require_grad();
            let grads = (f(xa.clone()) * f(xa.clone())).sum().backward();
            xa.grad(&grads).unwrap()
        };
        let g_folded = grad(&|x| model.logits(x));
        let g_reference = grad(&|x| layer_by_layer(&model, x));
        assert!(relative(g_reference, g_folded) < 1e-5);
    }

    #[test]
    fn folding_applies_in_inference_where_it_is_cheaper() {
        let device = Device::flex();
        let Model::Sequential(s) = model(&device) else {
            unreachable!()
        };
        let Block::Leaf(Leaf::Conv2d(conv)) = &s.blocks()[0] else {
            panic!("the stem is a convolution")
        };
        let Block::Leaf(Leaf::BatchNorm(bn)) = &s.blocks()[1] else {
            panic!("then batch norm")
        };
        let image = |n| Tensor::<4>::zeros([n, 3, 8, 8], &device);
        // 3·3·3 = 27 weights per output against 64 positions per image: folds from batch 1.
        assert!(super::folds(conv, bn, &image(1)));
        // Training mode on an autodiff device: batch statistics, never folded.
        let training = bn.clone().train();
        assert!(!super::folds(conv, &training, &image(4).autodiff()));
        // A 1×1 feature map under a 3×3 kernel: folding costs more than the pass it saves.
        assert!(!super::folds(
            conv,
            bn,
            &Tensor::<4>::zeros([2, 3, 1, 1], &device)
        ));
    }
}
