//! Layer operations: convolution (through `aegis_kernels::conv2d`, so flex runs Aegis's
//! kernels), pooling, batch and layer normalisation (inference semantics), Linear, Gemm,
//! MatMul and reductions.

use burn::module::{Param, ParamId};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;
use burn::tensor::module::avg_pool2d as burn_avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;

use super::super::plan::{Reduce, Window};
use super::super::value::{FloatValue, MAX_RANK, broadcast_dims};

/// Checks that `b` (a bias, scale or Gemm's C) broadcasts to `y`'s shape, so that Burn's
/// binary op on the two cannot panic; the error names `what`.
fn fits(y: &FloatValue, b: &FloatValue, what: &str) -> Result<(), String> {
    let (yd, bd) = (y.dims(), b.dims());
    if bd.len() <= yd.len() && broadcast_dims(&yd, &bd).is_ok_and(|d| d == yd) {
        Ok(())
    } else {
        Err(format!(
            "{what} of shape {bd:?} does not broadcast to {yd:?}"
        ))
    }
}

/// Burn's padding setting for `(begin, end)` pairs per axis.
fn padding_config(w: &Window) -> PaddingConfig2d {
    let [(top, bottom), (left, right)] = w.padding;
    PaddingConfig2d::Explicit(top, left, bottom, right)
}

/// 2-D convolution of `x` `[N, C, H, W]` with `weight` `[O, C/groups, kh, kw]`.
pub fn conv2d(
    x: FloatValue,
    weight: FloatValue,
    bias: Option<FloatValue>,
    window: &Window,
    groups: usize,
) -> Result<FloatValue, String> {
    let x = x.tensor::<4>("Conv")?;
    let weight = weight.tensor::<4>("Conv's weight")?;
    let [_, c, _, _] = x.dims();
    let [_, cw, kh, kw] = weight.dims();
    if groups == 0 || cw * groups != c || [kh, kw] != window.kernel {
        return Err(format!(
            "Conv: input with {c} channels, weight {:?}, {groups} groups, kernel {:?}",
            weight.dims(),
            window.kernel
        ));
    }
    let bias = bias
        .map(|b| b.tensor::<1>("Conv's bias"))
        .transpose()?
        .map(|b| Param::initialized(ParamId::new(), b));
    let conv = Conv2d {
        weight: Param::initialized(ParamId::new(), weight),
        bias,
        stride: window.stride,
        kernel_size: window.kernel,
        dilation: window.dilation,
        groups,
        padding: padding_config(window),
    };
    Ok(FloatValue::from_tensor(aegis_kernels::conv2d(&conv, x)))
}

/// 2-D max-pool (through `aegis_kernels::max_pool2d`: its own kernel for 2×2 / stride 2).
pub fn max_pool2d(x: FloatValue, window: &Window) -> Result<FloatValue, String> {
    let x = x.tensor::<4>("MaxPool")?;
    let pool = MaxPool2d {
        stride: window.stride,
        kernel_size: window.kernel,
        padding: padding_config(window),
        dilation: window.dilation,
        ceil_mode: window.ceil_mode,
    };
    Ok(FloatValue::from_tensor(aegis_kernels::max_pool2d(&pool, x)))
}

/// 2-D average pool.
pub fn avg_pool2d(
    x: FloatValue,
    window: &Window,
    count_include_pad: bool,
) -> Result<FloatValue, String> {
    if window.dilation != [1, 1] {
        return Err("AveragePool with dilation is not supported".into());
    }
    let x = x.tensor::<4>("AveragePool")?;
    let options = AvgPoolOptions {
        kernel_size: window.kernel,
        stride: window.stride,
        padding: window.padding,
        count_include_pad,
        ceil_mode: window.ceil_mode,
    };
    Ok(FloatValue::from_tensor(burn_avg_pool2d(x, options)))
}

/// Mean over every axis after the first two (kept as size 1).
pub fn global_avg_pool(x: FloatValue) -> Result<FloatValue, String> {
    if x.rank < 3 {
        return Err(format!(
            "GlobalAveragePool needs [N, C, …], got {:?}",
            x.dims()
        ));
    }
    let first = x.axis(2);
    let t = (first..MAX_RANK).fold(x.t, |t, a| t.mean_dim(a));
    Ok(FloatValue { t, rank: x.rank })
}

/// A per-channel parameter `[C]` shaped to broadcast against `[N, C, …]` of rank `rank`.
fn per_channel(p: FloatValue, rank: usize, what: &str) -> Result<Tensor<6>, String> {
    let c = p.dims().iter().product::<usize>();
    let mut dims = vec![1; rank - 1];
    dims[0] = c;
    Ok(p.reshape(&dims).map_err(|e| format!("{what}: {e}"))?.t)
}

/// Batch normalisation with running statistics: `(x - mean) / sqrt(var + eps) · scale + bias`.
pub fn batch_norm(
    x: FloatValue,
    [scale, bias, mean, var]: [FloatValue; 4],
    eps: f64,
) -> Result<FloatValue, String> {
    if x.rank < 2 {
        return Err(format!(
            "BatchNormalization needs [N, C, …], got {:?}",
            x.dims()
        ));
    }
    let r = x.rank;
    let scale = per_channel(scale, r, "BatchNormalization's scale")?;
    let bias = per_channel(bias, r, "BatchNormalization's bias")?;
    let mean = per_channel(mean, r, "BatchNormalization's mean")?;
    let var = per_channel(var, r, "BatchNormalization's variance")?;
    let factor = scale / (var + eps).sqrt();
    Ok(FloatValue {
        t: (x.t - mean) * factor + bias,
        rank: r,
    })
}

/// Layer normalisation over the axes from `axis` on (biased variance, as ONNX and PyTorch).
pub fn layer_norm(
    x: FloatValue,
    scale: FloatValue,
    bias: Option<FloatValue>,
    axis: i64,
    eps: f64,
) -> Result<FloatValue, String> {
    let r = x.rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(format!(
            "LayerNormalization axis {axis} on shape {:?}",
            x.dims()
        ));
    }
    fits(&x, &scale, "LayerNormalization's scale")?;
    if let Some(b) = &bias {
        fits(&x, b, "LayerNormalization's bias")?;
    }
    let first = x.axis(a as usize);
    let mean = (first..MAX_RANK).fold(x.t.clone(), |t, d| t.mean_dim(d));
    let centred = x.t - mean;
    let var = (first..MAX_RANK).fold(centred.clone() * centred.clone(), |t, d| t.mean_dim(d));
    let mut y = centred / (var + eps).sqrt() * scale.t;
    if let Some(b) = bias {
        y = y + b.t;
    }
    Ok(FloatValue { t: y, rank: x.rank })
}

/// numpy matmul: 1-D operands get a unit axis added (and removed from the result), batch
/// axes broadcast.
pub fn matmul(a: FloatValue, b: FloatValue) -> Result<FloatValue, String> {
    let (ad, bd) = (a.dims(), b.dims());
    if ad.is_empty() || bd.is_empty() {
        return Err("MatMul on a scalar".into());
    }
    let a_vec = ad.len() == 1;
    let b_vec = bd.len() == 1;
    let a = if a_vec { a.reshape(&[1, ad[0]])? } else { a };
    let b = if b_vec { b.reshape(&[bd[0], 1])? } else { b };
    let (ad, bd) = (a.dims(), b.dims());
    let k = ad[ad.len() - 1];
    if bd[bd.len() - 2] != k {
        return Err(format!("MatMul of {ad:?} and {bd:?}"));
    }
    let batch = super::super::value::broadcast_dims(&ad[..ad.len() - 2], &bd[..bd.len() - 2])?;
    let rank = batch.len() + 2;
    let out = FloatValue {
        t: a.t.matmul(b.t),
        rank,
    };
    let mut dims = out.dims();
    if b_vec {
        dims.pop();
    }
    if a_vec {
        dims.remove(dims.len() - if b_vec { 1 } else { 2 });
    }
    out.reshape(&dims)
}

/// `x · W + b` with `W` `[in, out]` (or `[out, in]` when `transpose`).
pub fn linear(
    x: FloatValue,
    w: FloatValue,
    b: Option<FloatValue>,
    transpose: bool,
) -> Result<FloatValue, String> {
    let w = w.tensor::<2>("Linear's weight")?;
    let w = if transpose { w.transpose() } else { w };
    let y = matmul(x, FloatValue::from_tensor(w))?;
    if let Some(b) = &b {
        fits(&y, b, "Linear's bias")?;
    }
    Ok(match b {
        Some(b) => FloatValue {
            t: y.t + b.t,
            rank: y.rank,
        },
        None => y,
    })
}

/// Gemm: `alpha · A' · B' + beta · C` on 2-D operands.
pub fn gemm(
    a: FloatValue,
    b: FloatValue,
    c: Option<FloatValue>,
    [alpha, beta]: [f32; 2],
    [trans_a, trans_b]: [bool; 2],
) -> Result<FloatValue, String> {
    let a = a.tensor::<2>("Gemm's A")?;
    let b = b.tensor::<2>("Gemm's B")?;
    let a = if trans_a { a.transpose() } else { a };
    let b = if trans_b { b.transpose() } else { b };
    if a.dims()[1] != b.dims()[0] {
        return Err(format!("Gemm of {:?} and {:?}", a.dims(), b.dims()));
    }
    let mut y = a.matmul(b);
    if alpha != 1.0 {
        y = y.mul_scalar(alpha);
    }
    let y = FloatValue::from_tensor(y);
    if let Some(c) = &c {
        fits(&y, c, "Gemm's C")?;
    }
    Ok(match c {
        Some(c) if beta != 0.0 => FloatValue {
            t: y.t + c.t.mul_scalar(beta),
            rank: 2,
        },
        _ => y,
    })
}

/// Mean or sum over logical `axes` (every axis when empty).
pub fn reduce(
    x: FloatValue,
    kind: Reduce,
    axes: &[usize],
    keepdims: bool,
) -> Result<FloatValue, String> {
    let dims = x.dims();
    if let Some(a) = axes.iter().find(|&&a| a >= x.rank) {
        return Err(format!("reduction axis {a} on shape {dims:?}"));
    }
    let all: Vec<usize> = (0..x.rank).collect();
    let axes = if axes.is_empty() { &all[..] } else { axes };
    let rank = x.rank;
    let mut t = x.t;
    for &a in axes {
        let p = MAX_RANK - rank + a;
        t = match kind {
            Reduce::Mean => t.mean_dim(p),
            Reduce::Sum => t.sum_dim(p),
        };
    }
    let kept = FloatValue { t, rank };
    if keepdims {
        return Ok(kept);
    }
    let out: Vec<usize> = dims
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    kept.reshape(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn v(data: &[f32], dims: &[usize]) -> FloatValue {
        FloatValue::from_host(data.to_vec(), dims, &Device::flex()).unwrap()
    }

    fn host(x: FloatValue) -> Vec<f32> {
        x.t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn matmul_handles_vectors_and_broadcast_batches() {
        let a = v(&[1.0, 2.0], &[2]);
        let m = v(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let r = matmul(a, m.clone()).unwrap();
        assert_eq!(r.dims(), [2]);
        assert_eq!(host(r), [7.0, 10.0]);
        let batch = v(&[1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 2.0], &[2, 2, 2]);
        let r = matmul(batch, m).unwrap();
        assert_eq!(r.dims(), [2, 2, 2]);
        assert_eq!(host(r), [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0]);
    }

    /// Found by `cargo xtask fuzz onnx`: a mutated MLP whose Linear bias had 32 values for 3
    /// outputs reached Burn's add, which panics on shapes that do not broadcast.
    #[test]
    fn biases_that_do_not_broadcast_are_errors() {
        let x = v(&[1.0, 2.0], &[1, 2]);
        let w = v(&[1.0; 6], &[2, 3]);
        let e = linear(x.clone(), w.clone(), Some(v(&[0.0; 4], &[4])), false).unwrap_err();
        assert!(e.contains("Linear's bias of shape [4]"), "{e}");
        let y = linear(x.clone(), w.clone(), Some(v(&[1.0; 3], &[3])), false).unwrap();
        assert_eq!(host(y), [4.0, 4.0, 4.0]);
        assert!(gemm(x.clone(), w, Some(v(&[0.0; 2], &[2])), [1.0; 2], [false; 2]).is_err());
        assert!(layer_norm(x, v(&[1.0; 3], &[3]), None, -1, 1e-5).is_err());
    }

    #[test]
    fn reductions_drop_or_keep_axes() {
        let x = v(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let m = reduce(x.clone(), Reduce::Mean, &[1], false).unwrap();
        assert_eq!(m.dims(), [2]);
        assert_eq!(host(m), [2.0, 5.0]);
        let s = reduce(x, Reduce::Sum, &[], true).unwrap();
        assert_eq!(s.dims(), [1, 1]);
        assert_eq!(host(s), [21.0]);
    }

    #[test]
    fn layer_norm_normalises_the_last_axis() {
        let x = v(&[1.0, 3.0, 2.0, 6.0], &[2, 2]);
        let y = layer_norm(x, v(&[1.0, 1.0], &[2]), None, -1, 0.0).unwrap();
        assert_eq!(host(y), [-1.0, 1.0, -1.0, 1.0]);
    }
}
