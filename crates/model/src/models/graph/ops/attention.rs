//! ONNX Attention (opset 23), the node onnx-ir coalesces a decomposed scaled dot-product
//! attention into: `softmax(Q·Kᵀ·scale + mask)·V` over heads, for 4-D `[B, H, S, D]` or
//! 3-D `[B, S, H·D]` inputs, with grouped K/V heads repeated to Q's.

use burn::tensor::{Device, Tensor, TensorData, activation};

use super::super::plan::AttentionSpec;
use super::super::value::{FloatValue, Value};
use super::elementwise::to_float;

/// `[B, S, H·D]` to `[B, H, S, D]`.
fn split_heads(x: FloatValue, heads: Option<usize>, what: &str) -> Result<Tensor<4>, String> {
    if x.rank == 4 {
        return x.tensor::<4>(what);
    }
    let x = x.tensor::<3>(what)?;
    let [b, s, hd] = x.dims();
    let h = heads.ok_or_else(|| format!("Attention: 3-D {what} without a head count"))?;
    if h == 0 || !hd.is_multiple_of(h) {
        return Err(format!("Attention: {what} width {hd} with {h} heads"));
    }
    Ok(x.reshape([b, s, h, hd / h]).swap_dims(1, 2))
}

/// K or V with `kv` heads repeated to `q` heads (grouped-query attention).
fn repeat_heads(x: Tensor<4>, q: usize) -> Result<Tensor<4>, String> {
    let [b, kv, s, d] = x.dims();
    if kv == q {
        return Ok(x);
    }
    if kv == 0 || !q.is_multiple_of(kv) {
        return Err(format!("Attention: {q} query heads and {kv} key heads"));
    }
    Ok(x.reshape([b, kv, 1, s, d])
        .expand([b, kv, q / kv, s, d])
        .reshape([b, q, s, d]))
}

/// The attention output; `mask` (input 3) is added to the scores when it is a float tensor,
/// or keeps the scores where it is non-zero when it is a host boolean.
pub fn attention(
    q: FloatValue,
    k: FloatValue,
    v: FloatValue,
    mask: Option<Value>,
    spec: &AttentionSpec,
    device: &Device,
) -> Result<FloatValue, String> {
    let three_d = q.rank == 3;
    let q = split_heads(q, spec.q_heads, "Q")?;
    let k = split_heads(k, spec.kv_heads, "K")?;
    let v = split_heads(v, spec.kv_heads, "V")?;
    let [b, h, sq, d] = q.dims();
    let k = repeat_heads(k, h)?;
    let v = repeat_heads(v, h)?;
    let sk = k.dims()[2];
    if k.dims()[3] != d || v.dims()[2] != sk {
        return Err(format!(
            "Attention of Q {:?}, K {:?}, V {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        ));
    }
    let scale = spec.scale.unwrap_or(1.0 / (d as f64).sqrt());
    let mut scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
    let neg = f32::NEG_INFINITY;
    if let Some(m) = mask {
        let m = match m {
            Value::Int(i) => {
                let add: Vec<f32> = i
                    .data
                    .iter()
                    .map(|&x| if x != 0 { 0.0 } else { neg })
                    .collect();
                FloatValue::from_host(add, &i.shape, device)?
            }
            f => to_float(f, device)?,
        };
        scores = scores + m.with_rank(4).tensor::<4>("Attention's mask")?;
    }
    if spec.causal {
        let bias: Vec<f32> = (0..sq * sk)
            .map(|i| if i % sk > i / sk { neg } else { 0.0 })
            .collect();
        let bias = Tensor::<2>::from_data(TensorData::new(bias, [sq, sk]), device);
        scores = scores + bias.reshape([1, 1, sq, sk]);
    }
    let out = activation::softmax(scores, 3).matmul(v);
    let dv = out.dims()[3];
    if three_d {
        Ok(FloatValue::from_tensor(out.swap_dims(1, 2).reshape([
            b,
            sq,
            h * dv,
        ])))
    } else {
        Ok(FloatValue::from_tensor(out))
    }
}
