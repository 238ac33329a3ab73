//! Element-wise operations: activations and unary math on float tensors, broadcast binary
//! arithmetic (on the device for floats, on the host for integer shape arithmetic), softmax,
//! casts, `Equal` and `Where`.

use burn::tensor::{Bool, Device, Tensor, TensorData, activation};

use super::super::plan::{Binary, Unary};
use super::super::value::{FloatValue, IntValue, Value, broadcast_dims, host_len, numel, strides};

/// `f(x)` element by element.
pub fn unary(x: FloatValue, f: Unary) -> FloatValue {
    let FloatValue { t, rank } = x;
    let t = match f {
        Unary::Relu => activation::relu(t),
        Unary::LeakyRelu(a) => activation::leaky_relu(t, a),
        Unary::Sigmoid => activation::sigmoid(t),
        Unary::Tanh => t.tanh(),
        Unary::Erf => t.erf(),
        Unary::Gelu => activation::gelu(t),
        Unary::GeluTanh => gelu_tanh(t),
        Unary::Sqrt => t.sqrt(),
        Unary::Neg => t.neg(),
        Unary::Exp => t.exp(),
        Unary::Log => t.log(),
        Unary::Reciprocal => t.recip(),
        Unary::Abs => t.abs(),
    };
    FloatValue { t, rank }
}

/// GELU's tanh approximation: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu_tanh(x: Tensor<6>) -> Tensor<6> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let inner = (x.clone() + x.clone().powi_scalar(3).mul_scalar(0.044715)).mul_scalar(c);
    x.clone().mul_scalar(0.5) * (inner.tanh() + 1.0)
}

/// `x ^ p` for a constant exponent.
pub fn pow_scalar(x: FloatValue, p: f64) -> FloatValue {
    let t = if p == 2.0 {
        x.t.clone() * x.t
    } else if p == 0.5 {
        x.t.sqrt()
    } else {
        x.t.powf_scalar(p)
    };
    FloatValue { t, rank: x.rank }
}

/// `a ∘ b` with numpy broadcasting: on the host when both are integers, otherwise on the
/// device (an integer operand becomes a float tensor first).
pub fn binary(a: Value, b: Value, op: Binary, device: &Device) -> Result<Value, String> {
    if let (Value::Int(a), Value::Int(b)) = (&a, &b) {
        return host_binary(a, b, op).map(Value::Int);
    }
    let a = to_float(a, device)?;
    let b = to_float(b, device)?;
    let dims = broadcast_dims(&a.dims(), &b.dims())?;
    let rank = dims.len();
    let t = match op {
        Binary::Add => a.t + b.t,
        Binary::Sub => a.t - b.t,
        Binary::Mul => a.t * b.t,
        Binary::Div => a.t / b.t,
        Binary::Pow => a.t.powf(b.t),
    };
    Ok(Value::Float(FloatValue { t, rank }))
}

/// An integer value as a float tensor (a float value passes through).
pub fn to_float(v: Value, device: &Device) -> Result<FloatValue, String> {
    match v {
        Value::Float(f) => Ok(f),
        Value::Int(i) => {
            FloatValue::from_host(i.data.iter().map(|&x| x as f32).collect(), &i.shape, device)
        }
    }
}

/// The flat index into `dims` of the output position `at` (row-major index over `out`),
/// for an operand broadcast from `dims` to `out`.
fn source_index(at: usize, out: &[usize], dims: &[usize]) -> usize {
    let out_strides = strides(out);
    let in_strides = strides(dims);
    let offset = out.len() - dims.len();
    let mut idx = 0;
    for (axis, (&o, &s)) in out.iter().zip(&out_strides).enumerate() {
        let coord = (at / s) % o.max(1);
        if axis >= offset && dims[axis - offset] != 1 {
            idx += coord * in_strides[axis - offset];
        }
    }
    idx
}

/// `f` over two broadcast host integer values.
fn host_map(a: &IntValue, b: &IntValue, f: impl Fn(i64, i64) -> i64) -> Result<IntValue, String> {
    let shape = broadcast_dims(&a.shape, &b.shape)?;
    let n = host_len(&shape)?;
    let data = (0..n)
        .map(|i| {
            f(
                a.data[source_index(i, &shape, &a.shape)],
                b.data[source_index(i, &shape, &b.shape)],
            )
        })
        .collect();
    Ok(IntValue { data, shape })
}

/// Integer arithmetic on the host (shape computations); division truncates as in C.
fn host_binary(a: &IntValue, b: &IntValue, op: Binary) -> Result<IntValue, String> {
    if op == Binary::Div && b.data.contains(&0) {
        return Err("integer division by zero".into());
    }
    host_map(a, b, |x, y| match op {
        Binary::Add => x.wrapping_add(y),
        Binary::Sub => x.wrapping_sub(y),
        Binary::Mul => x.wrapping_mul(y),
        Binary::Div => x / y,
        Binary::Pow => x.wrapping_pow(y.clamp(0, 63) as u32),
    })
}

/// Element-wise equality of host integers, as 1 / 0.
pub fn equal(a: Value, b: Value) -> Result<Value, String> {
    let a = a.int("Equal")?;
    let b = b.int("Equal")?;
    host_map(&a, &b, |x, y| i64::from(x == y)).map(Value::Int)
}

/// `cond ? x : y`: on the host for integer branches, on the device (with the host condition
/// as a mask) otherwise.
pub fn where_op(cond: Value, x: Value, y: Value, device: &Device) -> Result<Value, String> {
    let cond = cond.int("Where's condition")?;
    if let (Value::Int(x), Value::Int(y)) = (&x, &y) {
        let picked = host_map(&cond, x, |c, v| if c != 0 { v } else { 0 })?;
        let other = host_map(&cond, y, |c, v| if c != 0 { 0 } else { v })?;
        return host_map(&picked, &other, |a, b| a + b).map(Value::Int);
    }
    let x = to_float(x, device)?;
    let y = to_float(y, device)?;
    let dims = broadcast_dims(&broadcast_dims(&x.dims(), &y.dims())?, &cond.shape)?;
    let rank = dims.len();
    let shape6 = super::super::value::padded(&dims)?;
    let bools: Vec<bool> = (0..numel(&dims)?)
        .map(|i| cond.data[source_index(i, &dims, &cond.shape)] != 0)
        .collect();
    let mask = Tensor::<6, Bool>::from_data(TensorData::new(bools, shape6), device);
    let y = y.t.expand(shape6);
    let x = x.t.expand(shape6);
    Ok(Value::Float(FloatValue {
        t: y.mask_where(mask, x),
        rank,
    }))
}

/// Cast: float to float and integer to integer keep the value; integer to float moves the
/// host values to the device; float to integer is refused (it would need the device's values
/// on the host, which Aegis does not do inside a forward pass).
pub fn cast(v: Value, to_float: bool, device: &Device) -> Result<Value, String> {
    match (v, to_float) {
        (Value::Float(f), true) => Ok(Value::Float(f)),
        (Value::Int(i), false) => Ok(Value::Int(i)),
        (Value::Int(i), true) => self::to_float(Value::Int(i), device).map(Value::Float),
        (Value::Float(f), false) => Err(format!(
            "a cast of a computed float tensor {:?} to integers is not supported",
            f.dims()
        )),
    }
}

/// Softmax (or log-softmax) along logical `axis`.
pub fn softmax(x: FloatValue, axis: usize, log: bool) -> Result<FloatValue, String> {
    if axis >= x.rank {
        return Err(format!("softmax axis {axis} on shape {:?}", x.dims()));
    }
    let dim = x.axis(axis);
    let t = if log {
        activation::log_softmax(x.t, dim)
    } else {
        activation::softmax(x.t, dim)
    };
    Ok(FloatValue { t, rank: x.rank })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_arithmetic_broadcasts() {
        let a = IntValue {
            data: vec![1, 2, 3, 4, 5, 6],
            shape: vec![2, 3],
        };
        let b = IntValue::vector(vec![10, 20, 30]);
        let s = host_binary(&a, &b, Binary::Mul).unwrap();
        assert_eq!(s.data, [10, 40, 90, 40, 100, 180]);
        assert_eq!(s.shape, [2, 3]);
        let c = IntValue::scalar(2);
        assert_eq!(
            host_binary(&a, &c, Binary::Div).unwrap().data,
            [0, 1, 1, 2, 2, 3]
        );
        assert!(host_binary(&a, &IntValue::scalar(0), Binary::Div).is_err());
    }

    #[test]
    fn where_picks_by_a_host_condition() {
        let d = Device::flex();
        let x = FloatValue::from_host(vec![1.0, 2.0, 3.0], &[3], &d).unwrap();
        let y = FloatValue::from_host(vec![-1.0], &[1], &d).unwrap();
        let c = IntValue::vector(vec![1, 0, 1]);
        let r = where_op(Value::Int(c), Value::Float(x), Value::Float(y), &d).unwrap();
        let r = r.float("r").unwrap();
        assert_eq!(r.dims(), [3]);
        assert_eq!(
            r.t.into_data().try_to_vec::<f32>().unwrap(),
            [1.0, -1.0, 3.0]
        );
    }
}
