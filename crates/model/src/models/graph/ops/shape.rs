//! Shape operations: Flatten, Reshape, Transpose, Concat, Gather, Slice, Squeeze,
//! Unsqueeze, Expand and Shape, on float tensors (device) and on integer values (host, for
//! the shape arithmetic exporters emit).

use burn::tensor::{Device, Tensor};

use super::super::value::{
    FloatValue, IntValue, MAX_RANK, Value, broadcast_dims, host_len, numel, padded, strides,
};
use super::elementwise::to_float;

/// A value with new logical dimensions (same element count).
fn with_dims(v: Value, dims: &[usize]) -> Result<Value, String> {
    match v {
        Value::Float(f) => f.reshape(dims).map(Value::Float),
        Value::Int(i) => {
            if numel(dims)? != i.data.len() {
                return Err(format!("cannot reshape {:?} to {dims:?}", i.shape));
            }
            Ok(Value::Int(IntValue {
                data: i.data,
                shape: dims.to_vec(),
            }))
        }
    }
}

/// `axis` (negative counts from the end) as an index below `rank`.
pub fn norm_axis(axis: i64, rank: usize, what: &str) -> Result<usize, String> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("{what}: axis {axis} out of range for rank {rank}"))
    }
}

/// Flatten to `[prod(d[..axis]), prod(d[axis..])]`.
pub fn flatten(v: Value, axis: usize) -> Result<Value, String> {
    let d = v.dims();
    if axis > d.len() {
        return Err(format!("Flatten axis {axis} on shape {d:?}"));
    }
    let outer = d[..axis].iter().product();
    let inner = d[axis..].iter().product();
    with_dims(v, &[outer, inner])
}

/// Reshape with ONNX's conventions: 0 copies the input's dimension, -1 is inferred.
pub fn reshape(v: Value, spec: &[i64]) -> Result<Value, String> {
    let d = v.dims();
    let total: usize = d.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            0 => out.push(
                *d.get(i)
                    .ok_or_else(|| format!("Reshape {spec:?}: 0 at {i} beyond {d:?}"))?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            s if s > 0 => out.push(s as usize),
            _ => return Err(format!("Reshape to {spec:?}")),
        }
    }
    if let Some(i) = infer {
        let known = numel(&out)?;
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("Reshape of {d:?} to {spec:?}"));
        }
        out[i] = total / known;
    }
    with_dims(v, &out)
}

/// Permute float axes.
pub fn transpose(v: Value, perm: &[usize]) -> Result<Value, String> {
    let f = v.float("Transpose")?;
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..f.rank).collect::<Vec<_>>() {
        return Err(format!("Transpose {perm:?} of shape {:?}", f.dims()));
    }
    let pad = MAX_RANK - f.rank;
    let mut axes = [0usize; MAX_RANK];
    for (i, a) in axes.iter_mut().enumerate() {
        *a = if i < pad { i } else { pad + perm[i - pad] };
    }
    Ok(Value::Float(FloatValue {
        t: f.t.permute(axes),
        rank: f.rank,
    }))
}

/// Concatenate along `axis`: on the host when every part is integer, else on the device.
pub fn concat(parts: Vec<Value>, axis: usize, device: &Device) -> Result<Value, String> {
    // onnx-ir drops `Reshape(s, [-1])` of a scalar as a no-op (its Concat counts a scalar as one
    // element), so a shape built as `Concat(Reshape(Squeeze(Shape(x)), [-1]), …)` (PyTorch's
    // exporter without its optimizer) arrives with a scalar part: the one-element vector it was.
    let vectors = parts.iter().any(|p| p.dims().len() == 1);
    let parts = parts
        .into_iter()
        .map(|p| match p.dims().is_empty() && vectors {
            true => with_dims(p, &[1]),
            false => Ok(p),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rank = parts.first().map(|p| p.dims().len()).unwrap_or(0);
    if parts.is_empty() || axis >= rank || parts.iter().any(|p| p.dims().len() != rank) {
        return Err(format!(
            "Concat along {axis} of shapes {:?}",
            parts.iter().map(Value::dims).collect::<Vec<_>>()
        ));
    }
    if parts.iter().all(|p| matches!(p, Value::Int(_))) {
        let ints: Vec<IntValue> = parts
            .into_iter()
            .map(|p| p.int("Concat"))
            .collect::<Result<_, _>>()?;
        return host_concat(&ints, axis).map(Value::Int);
    }
    let floats: Vec<FloatValue> = parts
        .into_iter()
        .map(|p| to_float(p, device))
        .collect::<Result<_, _>>()?;
    let p = MAX_RANK - rank + axis;
    Ok(Value::Float(FloatValue {
        t: Tensor::cat(floats.into_iter().map(|f| f.t).collect(), p),
        rank,
    }))
}

/// Host concatenation of integer values of equal rank.
fn host_concat(parts: &[IntValue], axis: usize) -> Result<IntValue, String> {
    let base = &parts[0].shape;
    for p in parts {
        let same = p
            .shape
            .iter()
            .zip(base)
            .enumerate()
            .all(|(i, (a, b))| i == axis || a == b);
        if !same {
            return Err(format!("Concat of shapes {:?} and {base:?}", p.shape));
        }
    }
    let outer: usize = base[..axis].iter().product();
    let mut shape = base.clone();
    shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
    let mut data = Vec::new();
    for o in 0..outer {
        for p in parts {
            let block: usize = p.shape[axis..].iter().product();
            data.extend_from_slice(&p.data[o * block..(o + 1) * block]);
        }
    }
    Ok(IntValue { data, shape })
}

/// Entries of `v` along `axis` at `indices` (negative counts from the end); the output's
/// shape is `d[..axis] ++ indices.shape ++ d[axis+1..]`.
pub fn gather(v: Value, indices: IntValue, axis: usize, device: &Device) -> Result<Value, String> {
    let d = v.dims();
    if axis >= d.len() {
        return Err(format!("Gather axis {axis} on shape {d:?}"));
    }
    let n = d[axis] as i64;
    let idx: Vec<i64> = indices
        .data
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + n } else { i };
            if (0..n).contains(&j) {
                Ok(j)
            } else {
                Err(format!("Gather index {i} out of range for {n}"))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut out_dims = d[..axis].to_vec();
    out_dims.extend(&indices.shape);
    out_dims.extend(&d[axis + 1..]);
    let taken = take(v, axis, &idx, device)?;
    with_dims(taken, &out_dims)
}

/// ONNX GatherND (`batch_dims = 0`): `indices` `[…, k]` holds tuples into the first `k` axes
/// of `data`; the output is `indices.shape[..-1] ++ data.shape[k..]`. Runs as one `select`
/// over the first `k` axes flattened, so its gradient is Burn's scatter-add.
pub fn gather_nd(
    data: FloatValue,
    indices: &IntValue,
    device: &Device,
) -> Result<FloatValue, String> {
    let d = data.dims();
    let (&k, lead) = indices
        .shape
        .split_last()
        .ok_or("GatherND with scalar indices")?;
    if k == 0 || k > d.len() {
        return Err(format!("GatherND tuples of {k} into shape {d:?}"));
    }
    let tuple_strides = strides(&d[..k]);
    let flat: Vec<i64> = indices
        .data
        .chunks(k)
        .map(|t| {
            t.iter()
                .zip(&d[..k])
                .zip(&tuple_strides)
                .try_fold(0i64, |acc, ((&i, &n), &s)| {
                    let j = if i < 0 { i + n as i64 } else { i };
                    if (0..n as i64).contains(&j) {
                        Ok(acc + j * s as i64)
                    } else {
                        Err(format!("GatherND index {i} out of range for {n}"))
                    }
                })
        })
        .collect::<Result<_, _>>()?;
    let mut merged = vec![d[..k].iter().product()];
    merged.extend(&d[k..]);
    let data = data.reshape(&merged)?;
    let taken = take(Value::Float(data), 0, &flat, device)?;
    let mut out = lead.to_vec();
    out.extend(&d[k..]);
    with_dims(taken, &out)?.float("GatherND")
}

/// `v` restricted to positions `idx` along `axis` (the axis keeps its place, of length
/// `idx.len()`).
fn take(v: Value, axis: usize, idx: &[i64], device: &Device) -> Result<Value, String> {
    match v {
        Value::Float(f) => {
            let p = f.axis(axis);
            let contiguous = idx.windows(2).all(|w| w[1] == w[0] + 1);
            let t = if contiguous && !idx.is_empty() {
                f.t.narrow(p, idx[0] as usize, idx.len())
            } else {
                f.t.select(p, IntValue::vector(idx.to_vec()).index_tensor(device))
            };
            Ok(Value::Float(FloatValue { t, rank: f.rank }))
        }
        Value::Int(i) => {
            let d = &i.shape;
            let outer: usize = d[..axis].iter().product();
            let inner: usize = d[axis + 1..].iter().product();
            let mut data = Vec::with_capacity(outer * idx.len() * inner);
            for o in 0..outer {
                for &j in idx {
                    let start = (o * d[axis] + j as usize) * inner;
                    data.extend_from_slice(&i.data[start..start + inner]);
                }
            }
            let mut shape = d.clone();
            shape[axis] = idx.len();
            Ok(Value::Int(IntValue { data, shape }))
        }
    }
}

/// The positions ONNX Slice takes from an axis of length `dim`.
fn slice_positions(start: i64, end: i64, step: i64, dim: usize) -> Result<Vec<i64>, String> {
    if step == 0 {
        return Err("Slice step 0".into());
    }
    let d = dim as i128;
    let norm = |x: i64| {
        let x = x as i128;
        if x < 0 { x + d } else { x }
    };
    let (s, e) = if step > 0 {
        (norm(start).clamp(0, d), norm(end).clamp(0, d))
    } else {
        (norm(start).clamp(0, d - 1), norm(end).clamp(-1, d - 1))
    };
    let mut out = Vec::new();
    let mut i = s;
    while (step > 0 && i < e) || (step < 0 && i > e) {
        out.push(i as i64);
        i += step as i128;
    }
    Ok(out)
}

/// ONNX Slice: for each of `axes` (default the first `starts.len()`), positions
/// `start..end` by `step` (default 1), with negative values counting from the end.
pub fn slice(
    v: Value,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
    device: &Device,
) -> Result<Value, String> {
    let rank = v.dims().len();
    let default_axes: Vec<i64> = (0..starts.len() as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    if ends.len() != starts.len()
        || axes.len() != starts.len()
        || steps.is_some_and(|s| s.len() != starts.len())
    {
        return Err(format!(
            "Slice with starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?}"
        ));
    }
    let mut v = v;
    for (k, &a) in axes.iter().enumerate() {
        let axis = norm_axis(a, rank, "Slice")?;
        let step = steps.map_or(1, |s| s[k]);
        let dim = v.dims()[axis];
        let idx = slice_positions(starts[k], ends[k], step, dim)?;
        if idx.len() == dim && step > 0 {
            continue;
        }
        if idx.is_empty() {
            return Err(format!("Slice leaves axis {axis} of {dim} empty"));
        }
        v = take(v, axis, &idx, device)?;
    }
    Ok(v)
}

/// ONNX Split of `v` along `axis` into `parts` values: sizes from `sizes`, else `chunk`
/// each (the last smaller), else `ceil(dim / parts)` each (the last smaller).
pub fn split(
    v: Value,
    axis: usize,
    sizes: Option<&[i64]>,
    chunk: Option<usize>,
    parts: usize,
    device: &Device,
) -> Result<Vec<Value>, String> {
    let d = v.dims();
    let dim = *d
        .get(axis)
        .ok_or_else(|| format!("Split axis {axis} on {d:?}"))?;
    let sizes: Vec<usize> = match (sizes, chunk) {
        (Some(s), _) => IntValue::vector(s.to_vec()).sizes("Split's sizes")?,
        (None, Some(c)) if c > 0 => (0..dim).step_by(c).map(|s| c.min(dim - s)).collect(),
        _ if parts > 0 => {
            let c = dim.div_ceil(parts).max(1);
            (0..dim).step_by(c).map(|s| c.min(dim - s)).collect()
        }
        _ => return Err("Split into no parts".into()),
    };
    if sizes.iter().sum::<usize>() != dim || sizes.len() != parts {
        return Err(format!(
            "Split of axis {axis} ({dim}) into {sizes:?} for {parts} outputs"
        ));
    }
    let mut start = 0i64;
    sizes
        .iter()
        .map(|&n| {
            let idx: Vec<i64> = (start..start + n as i64).collect();
            start += n as i64;
            take(v.clone(), axis, &idx, device)
        })
        .collect()
}

/// Remove the axes in `axes` (all of size 1), or every axis of size 1 when `None`.
pub fn squeeze(v: Value, axes: Option<&[i64]>) -> Result<Value, String> {
    let d = v.dims();
    let drop: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&x| norm_axis(x, d.len(), "Squeeze"))
            .collect::<Result<_, _>>()?,
        None => (0..d.len()).filter(|&i| d[i] == 1).collect(),
    };
    if let Some(&a) = drop.iter().find(|&&a| d[a] != 1) {
        return Err(format!("Squeeze of axis {a} of shape {d:?}"));
    }
    let out: Vec<usize> = (0..d.len())
        .filter(|i| !drop.contains(i))
        .map(|i| d[i])
        .collect();
    with_dims(v, &out)
}

/// Insert axes of size 1 at the output positions `axes`.
pub fn unsqueeze(v: Value, axes: &[i64]) -> Result<Value, String> {
    let d = v.dims();
    let r = d.len() + axes.len();
    let mut at: Vec<usize> = axes
        .iter()
        .map(|&a| norm_axis(a, r, "Unsqueeze"))
        .collect::<Result<_, _>>()?;
    at.sort_unstable();
    at.dedup();
    if at.len() != axes.len() {
        return Err(format!("Unsqueeze axes {axes:?} repeat"));
    }
    let mut src = d.iter();
    let out: Vec<usize> = (0..r)
        .map(|i| {
            if at.contains(&i) {
                1
            } else {
                *src.next().unwrap_or(&1)
            }
        })
        .collect();
    with_dims(v, &out)
}

/// Broadcast `v` to the numpy broadcast of its shape and `shape`.
pub fn expand(v: Value, shape: &[i64]) -> Result<Value, String> {
    let target: Vec<usize> = shape
        .iter()
        .map(|&s| usize::try_from(s).map_err(|_| format!("Expand to {shape:?}")))
        .collect::<Result<_, _>>()?;
    let out = broadcast_dims(&v.dims(), &target)?;
    match v {
        Value::Float(f) => Ok(Value::Float(FloatValue {
            t: f.t.expand(padded(&out)?),
            rank: out.len(),
        })),
        Value::Int(i) => {
            let n = host_len(&out)?;
            let in_strides = strides(&i.shape);
            let out_strides = strides(&out);
            let off = out.len() - i.shape.len();
            let data = (0..n)
                .map(|k| {
                    let mut src = 0;
                    for (a, (&o, &s)) in out.iter().zip(&out_strides).enumerate() {
                        if a >= off && i.shape[a - off] != 1 {
                            src += (k / s) % o * in_strides[a - off];
                        }
                    }
                    i.data[src]
                })
                .collect();
            Ok(Value::Int(IntValue { data, shape: out }))
        }
    }
}

/// The dimensions `start..end` of `v`'s shape, as a 1-D integer value.
pub fn shape_of(v: &Value, start: usize, end: usize) -> Result<Value, String> {
    let d = v.dims();
    let end = end.min(d.len());
    let start = start.min(end);
    Ok(Value::Int(IntValue::vector(
        d[start..end].iter().map(|&x| x as i64).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(data: &[i64], shape: &[usize]) -> Value {
        Value::Int(IntValue {
            data: data.to_vec(),
            shape: shape.to_vec(),
        })
    }

    fn ints(v: Value) -> IntValue {
        v.int("test").unwrap()
    }

    #[test]
    fn slice_follows_onnx_clamping_and_negative_steps() {
        assert_eq!(slice_positions(1, i64::MAX, 1, 4).unwrap(), [1, 2, 3]);
        assert_eq!(slice_positions(-1, i64::MIN, -1, 4).unwrap(), [3, 2, 1, 0]);
        assert_eq!(slice_positions(0, 4, 2, 5).unwrap(), [0, 2]);
        assert!(slice_positions(0, 1, 0, 3).is_err());
    }

    #[test]
    fn host_gather_concat_and_expand() {
        let d = Device::flex();
        let g = gather(
            iv(&[1, 2, 3, 4, 5, 6], &[2, 3]),
            IntValue::scalar(-1),
            1,
            &d,
        )
        .unwrap();
        assert_eq!(ints(g), IntValue::vector(vec![3, 6]));
        let c = concat(vec![iv(&[1], &[1]), iv(&[-1, 4], &[2])], 0, &d).unwrap();
        assert_eq!(ints(c).data, [1, -1, 4]);
        let e = expand(iv(&[1, 2], &[2, 1]), &[2, 3]).unwrap();
        assert_eq!(ints(e).data, [1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn float_gather_slice_and_transpose_match_numpy() {
        let d = Device::flex();
        let x = FloatValue::from_host((0..24).map(|v| v as f32).collect(), &[2, 3, 4], &d)
            .map(Value::Float)
            .unwrap();
        let g = gather(x.clone(), IntValue::vector(vec![2, 0]), 1, &d).unwrap();
        assert_eq!(g.dims(), [2, 2, 4]);
        let s = slice(x.clone(), &[-1], &[i64::MIN], Some(&[2]), Some(&[-2]), &d).unwrap();
        let s = s.float("s").unwrap();
        assert_eq!(s.dims(), [2, 3, 2]);
        assert_eq!(
            s.t.into_data().try_to_vec::<f32>().unwrap()[..4],
            [3.0, 1.0, 7.0, 5.0]
        );
        let t = transpose(x, &[2, 0, 1]).unwrap().float("t").unwrap();
        assert_eq!(t.dims(), [4, 2, 3]);
        assert_eq!(
            t.t.into_data().try_to_vec::<f32>().unwrap()[..3],
            [0.0, 4.0, 8.0]
        );
    }

    #[test]
    fn gather_nd_takes_index_tuples() {
        let d = Device::flex();
        let x = FloatValue::from_host((0..12).map(|v| v as f32).collect(), &[2, 3, 2], &d).unwrap();
        let idx = IntValue {
            data: vec![1, 2, 0, -1],
            shape: vec![2, 2],
        };
        let g = gather_nd(x, &idx, &d).unwrap();
        assert_eq!(g.dims(), [2, 2]);
        assert_eq!(
            g.t.into_data().try_to_vec::<f32>().unwrap(),
            [10.0, 11.0, 4.0, 5.0]
        );
    }

    #[test]
    fn reshape_squeeze_unsqueeze() {
        let x = iv(&[0; 6], &[2, 3]);
        assert_eq!(reshape(x.clone(), &[0, -1, 1]).unwrap().dims(), [2, 3, 1]);
        assert_eq!(unsqueeze(x.clone(), &[0, -1]).unwrap().dims(), [1, 2, 3, 1]);
        let y = unsqueeze(x, &[1]).unwrap();
        assert_eq!(squeeze(y.clone(), None).unwrap().dims(), [2, 3]);
        assert!(squeeze(y, Some(&[0])).is_err());
    }
}
