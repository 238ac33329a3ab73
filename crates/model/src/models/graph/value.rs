//! The values a graph computes with: float tensors of any rank up to [`MAX_RANK`] held as a
//! Burn `Tensor<6>` padded with leading 1s, and integer values (shapes, indices) on the host.
//!
//! Burn's tensors have a rank fixed at compile time while an ONNX value's rank is data. A
//! float value of logical rank `r` is stored as `[1, …, 1, d0, …, d(r-1)]` with 6 axes, so
//! ONNX's (numpy's) right-aligned broadcasting is Burn's same-rank broadcasting, and logical
//! axis `a` is physical axis `6 - r + a`.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The highest logical rank a float value may have.
pub const MAX_RANK: usize = 6;

/// A float tensor of logical rank `rank` (0 to [`MAX_RANK`]).
#[derive(Debug, Clone)]
pub struct FloatValue {
    /// The tensor, padded on the left with axes of size 1 to rank 6.
    pub t: Tensor<6>,
    /// The logical rank.
    pub rank: usize,
}

/// An integer value on the host (a shape, gather indices, a constant), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntValue {
    /// The values, row-major.
    pub data: Vec<i64>,
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
}

/// A value of the graph.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Value {
    /// A float tensor on the device.
    Float(FloatValue),
    /// Integers on the host.
    Int(IntValue),
}

/// The element count of a value of shape `dims`, or an error when it overflows `usize`
/// (dimensions read from a file's integers can be anything).
pub fn numel(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("a value of shape {dims:?} has more elements than fit in memory"))
}

/// The most values an integer value on the host may hold: they are shapes and indices, so
/// 2^20 (8 MiB) is far above what an exporter emits and keeps a file's integers from
/// sizing a huge host buffer.
pub const MAX_HOST_INTS: usize = 1 << 20;

/// The element count of a host integer value of shape `dims`, at most [`MAX_HOST_INTS`].
pub fn host_len(dims: &[usize]) -> Result<usize, String> {
    let n = numel(dims)?;
    if n > MAX_HOST_INTS {
        return Err(format!(
            "an integer value of shape {dims:?} ({n} values; at most {MAX_HOST_INTS} on the host)"
        ));
    }
    Ok(n)
}

/// The physical 6-axis shape of logical `dims`.
pub fn padded(dims: &[usize]) -> Result<[usize; 6], String> {
    if dims.len() > MAX_RANK {
        return Err(format!(
            "a value of rank {} (at most {MAX_RANK} supported)",
            dims.len()
        ));
    }
    let mut out = [1usize; 6];
    out[MAX_RANK - dims.len()..].copy_from_slice(dims);
    Ok(out)
}

impl FloatValue {
    /// Wraps a rank-`D` tensor.
    pub fn from_tensor<const D: usize>(t: Tensor<D>) -> Self {
        let dims = t.dims();
        let shape = padded(&dims).expect("D <= 6 at every call site");
        Self {
            t: t.reshape(shape),
            rank: D,
        }
    }

    /// The logical shape.
    pub fn dims(&self) -> Vec<usize> {
        self.t.dims()[MAX_RANK - self.rank..].to_vec()
    }

    /// The physical axis of logical axis `axis`.
    pub fn axis(&self, axis: usize) -> usize {
        MAX_RANK - self.rank + axis
    }

    /// The same values in logical shape `dims` (same element count).
    pub fn reshape(self, dims: &[usize]) -> Result<Self, String> {
        let n = numel(dims)?;
        let have: usize = self.dims().iter().product();
        if n != have {
            return Err(format!(
                "cannot reshape {:?} ({have} values) to {dims:?} ({n} values)",
                self.dims()
            ));
        }
        Ok(Self {
            t: self.t.reshape(padded(dims)?),
            rank: dims.len(),
        })
    }

    /// The value as a rank-`D` tensor; `D` must equal the logical rank.
    pub fn tensor<const D: usize>(self, what: &str) -> Result<Tensor<D>, String> {
        if self.rank != D {
            return Err(format!(
                "{what} needs a rank-{D} input, got shape {:?}",
                self.dims()
            ));
        }
        let dims = self.dims();
        let mut shape = [0usize; D];
        shape.copy_from_slice(&dims);
        Ok(self.t.reshape(shape))
    }

    /// The same tensor seen with logical rank `rank >= self.rank` (leading 1s added).
    pub fn with_rank(self, rank: usize) -> Self {
        Self {
            t: self.t,
            rank: rank.max(self.rank),
        }
    }

    /// A float value holding `data` (converted to `f32`) with logical shape `dims`.
    pub fn from_host(values: Vec<f32>, dims: &[usize], device: &Device) -> Result<Self, String> {
        let n = numel(dims)?;
        if n != values.len() {
            return Err(format!("{} values for shape {dims:?}", values.len()));
        }
        let t = Tensor::<1>::from_data(TensorData::new(values, [n]), device);
        Ok(Self {
            t: t.reshape(padded(dims)?),
            rank: dims.len(),
        })
    }
}

impl IntValue {
    /// A 1-D integer value.
    pub fn vector(data: Vec<i64>) -> Self {
        let n = data.len();
        Self {
            data,
            shape: vec![n],
        }
    }

    /// A scalar integer value.
    pub fn scalar(v: i64) -> Self {
        Self {
            data: vec![v],
            shape: Vec::new(),
        }
    }

    /// The values as non-negative sizes, naming `what` on a negative one.
    pub fn sizes(&self, what: &str) -> Result<Vec<usize>, String> {
        self.data
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| format!("{what}: negative value {v}")))
            .collect()
    }

    /// The values as a 1-D `Int` tensor on `device` (indices for `select`).
    pub fn index_tensor(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), [self.data.len()]),
            device,
        )
    }
}

impl Value {
    /// The float tensor, or an error naming `what` when the value is an integer one.
    pub fn float(self, what: &str) -> Result<FloatValue, String> {
        match self {
            Self::Float(f) => Ok(f),
            Self::Int(i) => Err(format!(
                "{what} needs a float tensor, got integers of shape {:?}",
                i.shape
            )),
        }
    }

    /// The integers, or an error naming `what` when the value is a float tensor on the device.
    pub fn int(self, what: &str) -> Result<IntValue, String> {
        match self {
            Self::Int(i) => Ok(i),
            Self::Float(f) => Err(format!(
                "{what} needs integers known on the host, got a float tensor of shape {:?}",
                f.dims()
            )),
        }
    }

    /// The logical shape.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Self::Float(f) => f.dims(),
            Self::Int(i) => i.shape.clone(),
        }
    }
}

/// The numpy broadcast of two shapes (right-aligned; a 1 stretches).
pub fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        };
    }
    Ok(out)
}

/// Row-major strides of `dims`.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_is_right_aligned() {
        assert_eq!(broadcast_dims(&[2, 1, 4], &[3, 1]).unwrap(), [2, 3, 4]);
        assert_eq!(broadcast_dims(&[], &[5]).unwrap(), [5]);
        assert!(broadcast_dims(&[2, 3], &[4]).is_err());
    }

    #[test]
    fn padded_values_keep_their_logical_shape() {
        let d = Device::flex();
        let v = FloatValue::from_host((0..6).map(|x| x as f32).collect(), &[2, 3], &d).unwrap();
        assert_eq!(v.t.dims(), [1, 1, 1, 1, 2, 3]);
        assert_eq!(v.dims(), [2, 3]);
        assert_eq!(v.axis(1), 5);
        let r = v.reshape(&[3, 1, 2]).unwrap();
        assert_eq!(r.dims(), [3, 1, 2]);
        assert!(r.clone().reshape(&[4]).is_err());
        assert_eq!(r.tensor::<3>("t").unwrap().dims(), [3, 1, 2]);
        assert_eq!(strides(&[2, 3, 4]), [12, 4, 1]);
    }

    /// Found by `cargo xtask fuzz onnx-cnn`: a Reshape to dimensions read from a mutated
    /// file overflowed the element count (a panic in debug builds).
    #[test]
    fn shapes_whose_size_overflows_are_errors() {
        let d = Device::flex();
        let v = FloatValue::from_host(vec![1.0; 4], &[2, 2], &d).unwrap();
        let huge = [usize::MAX / 2, 4, 1];
        assert!(numel(&huge).unwrap_err().contains("more elements"));
        assert!(v.reshape(&huge).is_err());
        assert!(FloatValue::from_host(vec![1.0; 3], &[2, 2], &d).is_err());
        assert!(host_len(&[MAX_HOST_INTS, 2]).is_err());
        assert_eq!(host_len(&[3, 4]).unwrap(), 12);
    }

    /// The two Burn behaviours the interpreter leans on, checked on flex: same-rank binary
    /// ops broadcast axes of size 1, and a 6-axis matmul multiplies the last two axes.
    #[test]
    fn burn_broadcasts_padded_tensors_on_flex() {
        let d = Device::flex();
        let a = FloatValue::from_host(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &d).unwrap();
        let b = FloatValue::from_host(vec![10.0, 20.0, 30.0], &[3], &d).unwrap();
        let s = (a.t.clone() + b.t).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(s, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        let m = FloatValue::from_host(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2], &d).unwrap();
        let p = a.t.matmul(m.t);
        assert_eq!(p.dims(), [1, 1, 1, 1, 2, 2]);
        assert_eq!(
            p.into_data().try_to_vec::<f32>().unwrap(),
            [4.0, 5.0, 10.0, 11.0]
        );
    }
}
