//! 2×2 max-pooling (stride 2, no padding, floor) at inference without Burn's index-keeping
//! kernel, with results identical to it.
//!
//! Burn 0.22.1's flex runs every max-pool through `max_pool2d_with_indices` and discards the
//! indices at inference; that kernel recomputes each window's valid range with integer
//! divisions per output, which made SmallCnn's first pool (`[64, 16, 26, 26]`) cost 3.4 ms on
//! one thread, more than its convolution (`cargo xtask bench-ops`). At inference on flex (no
//! autodiff) the same values come from two `max_dim` reductions over a `[N, C, H/2, 2, W/2, 2]`
//! view, 1.3–1.8× faster; other devices keep their own pool. A maximum is exact, and NaN
//! propagates as in the kernel (tests below), so outputs are bit for bit those of
//! `MaxPool2d::forward`. Where gradients may flow (an autodiff device) `MaxPool2d::forward`
//! runs unchanged: its backward needs the indices.

use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{Device, Tensor};

/// `pool.forward(x)`, through the reshape formulation when `pool` is a 2×2 / stride-2 /
/// unpadded / floor max-pool and `x` is on flex without autodiff (on ndarray the reshape is
/// 13× slower than its own pool, and a GPU has its own kernels).
pub fn max_pool_2x2(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let plain = pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && !pool.ceil_mode
        && matches!(
            pool.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
    let device = x.device();
    if !plain || h < 2 || w < 2 || device.is_autodiff() || device != Device::flex() {
        return pool.forward(x);
    }
    let (ph, pw) = (h / 2, w / 2);
    // Floor mode drops an odd last row / column, as the kernel does.
    let x = if h % 2 == 1 || w % 2 == 1 {
        x.slice([0..n, 0..c, 0..2 * ph, 0..2 * pw])
    } else {
        x
    };
    x.reshape([n, c, ph, 2, pw, 2])
        .max_dim(5)
        .max_dim(3)
        .reshape([n, c, ph, pw])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, Distribution, TensorData};

    fn bits(t: Tensor<4>) -> Vec<u32> {
        let v: Vec<f32> = t.into_data().try_to_vec().expect("f32");
        v.into_iter().map(f32::to_bits).collect()
    }

    #[test]
    fn identical_to_max_pool2d_bit_for_bit() {
        let device = Device::flex();
        let pool = MaxPool2dConfig::new([2, 2]).init();
        for [n, c, h, w] in [[3, 4, 26, 26], [2, 5, 11, 11], [1, 2, 7, 4], [2, 1, 2, 3]] {
            let x = Tensor::<4>::random([n, c, h, w], Distribution::Default, &device);
            // Ties and signed zeros: quantised values, half of them negative or zero.
            let x = (x * 4.0 - 2.0).round() * 0.5;
            let x = x.clone().mask_fill(x.clone().lower_elem(-0.6), -0.0);
            assert_eq!(
                bits(max_pool_2x2(&pool, x.clone())),
                bits(pool.forward(x)),
                "[{n}, {c}, {h}, {w}]"
            );
        }
    }

    #[test]
    fn nan_propagates_as_in_the_kernel() {
        let device = Device::flex();
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let nan = f32::NAN;
        let v = vec![
            1.0, nan, 0.5, 2.0, 0.0, 3.0, 1.0, nan, nan, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        ];
        let x = Tensor::<4>::from_data(TensorData::new(v, [1, 1, 4, 4]), &device);
        assert_eq!(bits(max_pool_2x2(&pool, x.clone())), bits(pool.forward(x)));
    }

    #[test]
    #[allow(deprecated)]
    fn autodiff_other_pools_and_other_devices_use_max_pool2d() {
        let nd = Device::ndarray();
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &nd);
        assert_eq!(bits(max_pool_2x2(&pool, x.clone())), bits(pool.forward(x)));
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 3, 9, 9], Distribution::Default, &device);
        let three = MaxPool2dConfig::new([3, 3]).init();
        assert_eq!(
            bits(max_pool_2x2(&three, x.clone())),
            bits(three.forward(x.clone()))
        );
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let xa = x.clone().autodiff().require_grad();
        let y = max_pool_2x2(&pool, xa.clone());
        let grads = y.sum().backward();
        assert!(
            xa.grad(&grads).is_some(),
            "gradients flow through the autodiff path"
        );
    }
}
