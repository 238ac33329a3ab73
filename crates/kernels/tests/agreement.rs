//! The kernels against Burn's own layers on the same tensors: convolution values and
//! gradients to float rounding (the products are summed in another order), max-pool values
//! and gradients bit for bit, and the fallbacks.

use aegis_kernels::{conv2d, max_pool2d, relu_max_pool2d};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 values")
}

fn bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
    values(t).into_iter().map(f32::to_bits).collect()
}

/// Largest |a - b| relative to the largest |b| (at least 1).
fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths");
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// A convolution setting: `[n, c_in, h, w]`, `c_out`, kernel, stride, padding, dilation, bias.
struct Case {
    x: [usize; 4],
    c_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PaddingConfig2d,
    dilation: [usize; 2],
    bias: bool,
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use PaddingConfig2d::{Explicit, Same, Valid};
    let case = |x, c_out, kernel, stride, padding, dilation, bias| Case {
        x, c_out, kernel, stride, padding, dilation, bias,
    };
    vec![
        // SmallCnn's two layers.
        case([5, 1, 28, 28], 16, [3, 3], [1, 1], Valid, [1, 1], true),
        case([5, 16, 13, 13], 32, [3, 3], [1, 1], Valid, [1, 1], true),
        // Madry's: 5×5, padding 2.
        case([3, 1, 28, 28], 8, [5, 5], [1, 1], Explicit(2, 2, 2, 2), [1, 1], true),
        // Stride, asymmetric padding, dilation, no bias, 1×1, Same, non-square.
        case([2, 3, 11, 9], 4, [3, 2], [2, 3], Explicit(1, 0, 2, 3), [1, 1], false),
        case([2, 2, 12, 10], 5, [3, 3], [1, 1], Explicit(2, 2, 2, 2), [2, 2], true),
        case([3, 6, 7, 5], 4, [1, 1], [1, 1], Valid, [1, 1], true),
        case([2, 3, 9, 8], 4, [3, 3], [2, 2], Same, [1, 1], true),
        // Padding wider than the image reaches.
        case([1, 2, 3, 3], 3, [3, 3], [1, 1], Explicit(4, 4, 4, 4), [1, 1], true),
    ]
}

fn layer(case: &Case, seed: u64, device: &Device) -> Conv2d {
    device.seed(seed);
    Conv2dConfig::new([case.x[1], case.c_out], case.kernel)
        .with_stride(case.stride)
        .with_padding(case.padding.clone())
        .with_dilation(case.dilation)
        .with_bias(case.bias)
        .init(device)
}

#[test]
fn convolution_forward_agrees_with_burn() {
    let device = Device::flex();
    for (i, case) in cases().iter().enumerate() {
        let conv = layer(case, i as u64, &device);
        let x = Tensor::<4>::random(case.x, Distribution::Normal(0.0, 1.0), &device);
        let ours = conv2d(&conv, x.clone());
        let burn = conv.forward(x);
        assert_eq!(ours.dims(), burn.dims(), "case {i}: shape");
        let d = rel_diff(&values(ours), &values(burn));
        assert!(d < 1e-5, "case {i}: relative difference {d}");
    }
}

/// Input, weight and bias gradients of `sum(conv(x) · r)` through `forward`.
fn gradients(
    conv: &Conv2d,
    x: Tensor<4>,
    r: Tensor<4>,
    forward: impl Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
) -> (Vec<f32>, Option<Vec<f32>>, Option<Vec<f32>>) {
    let x = x.require_grad();
    let grads = (forward(conv, x.clone()) * r).sum().backward();
    let dx = values(x.grad(&grads).expect("input gradient"));
    let dw = conv.weight.val().grad(&grads).map(values);
    let db = conv
        .bias
        .as_ref()
        .and_then(|b| b.val().grad(&grads))
        .map(values);
    (dx, dw, db)
}

#[test]
fn convolution_gradients_agree_with_burn_when_training() {
    let device = Device::flex().autodiff();
    for (i, case) in cases().iter().enumerate() {
        let conv = layer(case, 100 + i as u64, &device);
        let x = Tensor::<4>::random(case.x, Distribution::Normal(0.0, 1.0), &device);
        let r = Tensor::<4>::random(
            conv.forward(x.clone()).dims(),
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let ours = gradients(&conv, x.clone(), r.clone(), conv2d);
        let burn = gradients(&conv, x, r, |c, x| c.forward(x));
        assert!(
            rel_diff(&ours.0, &burn.0) < 1e-5,
            "case {i}: input gradient"
        );
        let (w, bw) = (
            ours.1.expect("weight gradient"),
            burn.1.expect("Burn's weight gradient"),
        );
        assert!(
            rel_diff(&w, &bw) < 1e-5,
            "case {i}: weight gradient {}",
            rel_diff(&w, &bw)
        );
        assert_eq!(
            ours.2.is_some(),
            case.bias,
            "case {i}: bias gradient present"
        );
        if let (Some(b), Some(bb)) = (ours.2, burn.2) {
            assert!(rel_diff(&b, &bb) < 1e-5, "case {i}: bias gradient");
        }
    }
}

#[test]
fn attacks_get_the_input_gradient_through_a_frozen_layer() {
    // Attacks keep the model on the plain device and track only the input.
    let device = Device::flex();
    for (i, case) in cases().iter().enumerate() {
        let conv = layer(case, 200 + i as u64, &device);
        let x = Tensor::<4>::random(case.x, Distribution::Normal(0.0, 1.0), &device).autodiff();
        let r = Tensor::<4>::random(
            conv.forward(x.clone()).dims(),
            Distribution::Default,
            &device,
        )
        .autodiff();
        let ours = gradients(&conv, x.clone(), r.clone(), conv2d);
        let burn = gradients(&conv, x, r, |c, x| c.forward(x));
        assert!(
            rel_diff(&ours.0, &burn.0) < 1e-5,
            "case {i}: input gradient"
        );
        assert!(
            ours.1.is_none() && ours.2.is_none(),
            "case {i}: frozen weights get no gradient"
        );
    }
}

#[test]
fn sums_do_not_depend_on_the_thread_count() {
    let device = Device::flex().autodiff();
    let case = &cases()[1];
    let conv = layer(case, 7, &device);
    let x = Tensor::<4>::random([37, 16, 13, 13], Distribution::Normal(0.0, 1.0), &device);
    let r = Tensor::<4>::random([37, 32, 11, 11], Distribution::Normal(0.0, 1.0), &device);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let (dx, dw, db) = gradients(&conv, x.clone(), r.clone(), conv2d);
            let y = bits(conv2d(&conv, x.clone()));
            (y, dx, dw, db)
        })
    };
    let one = run(1);
    for threads in [2, 3, 8] {
        assert!(run(threads) == one, "{threads} threads differ from one");
    }
}

#[test]
fn other_devices_and_dtypes_run_burns_layer() {
    #[allow(deprecated)]
    let nd = Device::ndarray();
    let case = &cases()[1];
    let conv = layer(case, 3, &nd);
    let x = Tensor::<4>::random(case.x, Distribution::Default, &nd);
    assert_eq!(bits(conv2d(&conv, x.clone())), bits(conv.forward(x)));
    // Grouped convolutions are Burn's.
    let device = Device::flex();
    let grouped = Conv2dConfig::new([4, 6], [3, 3])
        .with_groups(2)
        .init(&device);
    let x = Tensor::<4>::random([2, 4, 6, 6], Distribution::Default, &device);
    assert_eq!(bits(conv2d(&grouped, x.clone())), bits(grouped.forward(x)));
}

fn pool_inputs(device: &Device) -> Vec<Tensor<4>> {
    let mut out = Vec::new();
    for [n, c, h, w] in [
        [3, 4, 26, 26],
        [2, 5, 11, 11],
        [1, 2, 7, 4],
        [2, 1, 2, 3],
        [40, 3, 6, 6],
    ] {
        let x = Tensor::<4>::random([n, c, h, w], Distribution::Default, device);
        // Ties and signed zeros: quantised values, some of them -0.0.
        let x = (x * 4.0 - 2.0).round() * 0.5;
        out.push(x.clone().mask_fill(x.lower_elem(-0.6), -0.0));
    }
    let nan = f32::NAN;
    let v = vec![
        1.0, nan, 0.5, 2.0, 0.0, 3.0, 1.0, nan, nan, 1.0, 1.0, nan, 1.0, 1.0, nan, 1.0,
    ];
    out.push(Tensor::<4>::from_data(
        TensorData::new(v, [1, 1, 4, 4]),
        device,
    ));
    // Windows of negatives, zeros of both signs and a NaN among negatives (the ReLU cases).
    let v = vec![
        -1.0, -2.0, -0.0, 0.0, -3.0, -0.5, 0.0, -0.0, -1.0, nan, 2.0, -0.0, -4.0, -1.0, 0.0, 2.0,
    ];
    out.push(Tensor::<4>::from_data(
        TensorData::new(v, [1, 1, 4, 4]),
        device,
    ));
    out
}

#[test]
fn max_pool_is_burns_bit_for_bit_in_values_and_gradients() {
    let device = Device::flex();
    let pool = MaxPool2dConfig::new([2, 2]).init();
    // Ours against Burn's: the pool alone, and the ReLU fused into it.
    type Pair<'a> = (
        &'a str,
        Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>,
        Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>,
    );
    let pairs: Vec<Pair> = vec![
        (
            "max_pool2d",
            Box::new(|x| max_pool2d(&pool, x)),
            Box::new(|x| pool.forward(x)),
        ),
        (
            "relu_max_pool2d",
            Box::new(|x| relu_max_pool2d(&pool, x)),
            Box::new(|x| pool.forward(relu(x))),
        ),
    ];
    for (name, ours, burn) in &pairs {
        for (i, x) in pool_inputs(&device).into_iter().enumerate() {
            assert_eq!(
                bits(ours(x.clone())),
                bits(burn(x.clone())),
                "{name}, input {i}"
            );
            // Gradients, with -0.0 and repeated values in the upstream gradient.
            let dims = burn(x.clone()).dims();
            let r = (Tensor::<4>::random(dims, Distribution::Default, &device) * 3.0).round() - 1.0;
            let r = r.clone().mask_fill(r.equal_elem(0.0), -0.0).autodiff();
            let grad = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
                let xa = x.clone().autodiff().require_grad();
                let g = (f(xa.clone()) * r.clone()).sum().backward();
                bits(xa.grad(&g).expect("pool gradient"))
            };
            assert_eq!(
                grad(ours.as_ref()),
                grad(burn.as_ref()),
                "{name}, gradient {i}"
            );
        }
    }
}

#[test]
fn other_pools_run_burns_layer() {
    let device = Device::flex();
    let x = Tensor::<4>::random([2, 3, 9, 9], Distribution::Default, &device);
    for pool in [
        MaxPool2dConfig::new([3, 3]).init(),
        MaxPool2dConfig::new([2, 2]).with_strides([1, 1]).init(),
        MaxPool2dConfig::new([2, 2]).with_ceil_mode(true).init(),
    ] {
        assert_eq!(
            bits(max_pool2d(&pool, x.clone())),
            bits(pool.forward(x.clone()))
        );
        assert_eq!(
            bits(relu_max_pool2d(&pool, x.clone() - 0.5)),
            bits(pool.forward(relu(x.clone() - 0.5)))
        );
    }
}
