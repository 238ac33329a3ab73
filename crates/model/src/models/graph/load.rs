//! From onnx-ir's graph to a [`Plan`]: every value gets a slot, float constants become the
//! module's parameters, integer constants stay on the host, and each node becomes one step
//! whose operation Aegis implements (or the load fails, naming the node, op and opset).

use std::collections::HashMap;

use onnx_ir::{ArgType, Argument, DType, Node, OnnxGraph, TensorData, ValueSource};

use super::check::{FileInfo, unsupported};
use super::convert::convert;
use super::layers::LayerData;
use super::plan::{Op, Plan, Source, Step, WeightSlot};
use super::value::{IntValue, MAX_RANK};

/// A plan with its parameters' values and the graph input's declared shape.
#[derive(Debug)]
pub struct Built {
    /// The plan.
    pub plan: Plan,
    /// Values of the flat float constants ([`Source::Constant`]).
    pub constants: Vec<Vec<f32>>,
    /// The layers ([`Source::LayerWeight`], [`Source::LayerBias`]).
    pub layers: Vec<LayerData>,
    /// The graph input's shape as declared (`None`: a dynamic dimension).
    pub input_dims: Vec<Option<usize>>,
}

/// Slot bookkeeping while the plan is built.
#[derive(Default)]
struct Slots {
    by_name: HashMap<String, usize>,
    by_data: HashMap<usize, usize>,
    count: usize,
    weights: Vec<WeightSlot>,
    values: Vec<Vec<f32>>,
    layers: Vec<LayerData>,
    ints: Vec<(usize, IntValue)>,
}

/// A float constant argument's shape and values, when the argument is one.
fn float_constant(arg: Option<&Argument>) -> Option<(Vec<usize>, Vec<f32>)> {
    let data = arg?.value()?;
    if !data.dtype().is_float() {
        return None;
    }
    Some((
        data.shape().as_slice().to_vec(),
        data.iter::<f32>().collect(),
    ))
}

/// `[r, c]` row-major values as `[c, r]`.
fn transposed(v: &[f32], r: usize, c: usize) -> Vec<f32> {
    (0..c)
        .flat_map(|j| (0..r).map(move |i| v[i * c + j]))
        .collect()
}

/// A dense weight `[a, b]` as `[in, out]`: transposed when the op reads it `[out, in]`.
fn dense(dims: &[usize], w: Vec<f32>, transpose: bool) -> (Vec<usize>, Vec<f32>) {
    if transpose {
        (vec![dims[1], dims[0]], transposed(&w, dims[0], dims[1]))
    } else {
        (dims.to_vec(), w)
    }
}

impl Slots {
    fn fresh(&mut self) -> usize {
        self.count += 1;
        self.count - 1
    }

    /// A slot holding `data`: a parameter when it is float, a host value otherwise.
    fn constant(&mut self, data: &TensorData, what: &str) -> Result<usize, String> {
        let dims = data.shape().as_slice().to_vec();
        if dims.len() > MAX_RANK {
            return Err(format!("{what}: a constant of rank {}", dims.len()));
        }
        let slot = self.fresh();
        let dtype = data.dtype();
        if dtype.is_float() {
            let source = Source::Constant(self.values.len());
            self.weights.push(WeightSlot { slot, dims, source });
            self.values.push(data.iter::<f32>().collect());
        } else if dtype.is_int() || dtype.is_uint() || dtype.is_bool() {
            let values = data.iter::<i64>().collect();
            self.ints.push((
                slot,
                IntValue {
                    data: values,
                    shape: dims,
                },
            ));
        } else {
            return Err(format!("{what}: a constant of type {dtype:?}"));
        }
        Ok(slot)
    }

    /// The slot an argument reads: a constant's (made once per constant) or a computed value's.
    fn input(&mut self, arg: &Argument, node: &str) -> Result<Option<usize>, String> {
        if arg.is_optional() {
            return Ok(None);
        }
        let key = match arg.value_source {
            ValueSource::Static(id) => Some(id),
            _ => None,
        };
        if let Some(&s) = key.and_then(|k| self.by_data.get(&k)) {
            return Ok(Some(s));
        }
        if let Some(&s) = self.by_name.get(&arg.name).filter(|_| !arg.name.is_empty()) {
            return Ok(Some(s));
        }
        if let Some(data) = arg.value() {
            let slot = self.constant(&data, &format!("node \"{node}\""))?;
            match key {
                Some(k) => self.by_data.insert(k, slot),
                None => self.by_name.insert(arg.name.clone(), slot),
            };
            return Ok(Some(slot));
        }
        Err(format!(
            "node \"{node}\" reads \"{}\", which no earlier node computes",
            arg.name
        ))
    }
}

impl Slots {
    /// For a Conv, Linear, Gemm or MatMul node whose weight (and bias) are constants: a layer
    /// of the module, with a dense weight stored `[in, out]` and `op` changed to read it so;
    /// the node's input slots. `None` when the node is not such a layer.
    fn layer(
        &mut self,
        node: &Node,
        op: &mut Op,
        name: &str,
    ) -> Result<Option<Vec<Option<usize>>>, String> {
        let inputs = node.inputs();
        let Some((wdims, w)) = float_constant(inputs.get(1)) else {
            return Ok(None);
        };
        let bias_arg = inputs.get(2).filter(|a| !a.is_optional());
        let bias = match bias_arg {
            None => None,
            Some(a) => match float_constant(Some(a)) {
                Some((d, b)) if d.len() == 1 => Some(b),
                _ => return Ok(None),
            },
        };
        let (dims, weight, new_op) = match (&*op, wdims.len()) {
            (Op::Conv2d { .. }, 4) => (wdims, w, None),
            (Op::Linear { transpose }, 2) => {
                let (d, w) = dense(&wdims, w, *transpose);
                (d, w, Some(Op::Linear { transpose: false }))
            }
            (
                Op::Gemm {
                    alpha,
                    beta,
                    trans_a: false,
                    trans_b,
                },
                2,
            ) if *alpha == 1.0 && (bias.is_none() || *beta == 1.0) => {
                let (d, w) = dense(&wdims, w, *trans_b);
                (d, w, Some(Op::Linear { transpose: false }))
            }
            (Op::MatMul, 2) if bias_arg.is_none() => (wdims, w, None),
            _ => return Ok(None),
        };
        if let Some(new) = new_op {
            *op = new;
        }
        let index = self.layers.len();
        let has_bias = bias.is_some();
        self.layers.push(LayerData {
            dims: dims.clone(),
            weight,
            bias,
        });
        let mut slots = vec![self.input(&inputs[0], name)?];
        let w_slot = self.fresh();
        self.weights.push(WeightSlot {
            slot: w_slot,
            dims,
            source: Source::LayerWeight(index),
        });
        slots.push(Some(w_slot));
        if has_bias {
            let b_slot = self.fresh();
            let n = self.layers[index].bias.as_ref().map_or(0, Vec::len);
            self.weights.push(WeightSlot {
                slot: b_slot,
                dims: vec![n],
                source: Source::LayerBias(index),
            });
            slots.push(Some(b_slot));
        }
        Ok(Some(slots))
    }
}

/// The rank an argument is declared with, when it is known and too high for Aegis.
fn check_rank(arg: &Argument, node: &str) -> Result<(), String> {
    if let ArgType::Tensor(t) = &arg.ty
        && t.rank > MAX_RANK
    {
        return Err(format!(
            "node \"{node}\" computes \"{}\" of rank {} (Aegis handles up to {MAX_RANK})",
            arg.name, t.rank
        ));
    }
    Ok(())
}

/// The name the file gives the node onnx-ir calls `node` (onnx-ir renames nodes): the
/// first file node of the same op type, else onnx-ir's name.
fn file_name(info: &FileInfo, op: &str, fallback: &str) -> String {
    info.nodes
        .iter()
        .find(|(t, _)| t == op)
        .map_or_else(|| fallback.to_string(), |(_, n)| n.clone())
}

/// Builds the plan of `graph`; `info` is what the file check found.
pub fn build(graph: &OnnxGraph, info: &FileInfo) -> Result<Built, String> {
    let input = graph
        .inputs
        .iter()
        .find(|a| matches!(&a.ty, ArgType::Tensor(t) if t.dtype.is_float()))
        .ok_or("the graph has no float input")?;
    let ArgType::Tensor(input_ty) = &input.ty else {
        unreachable!("matched a tensor above")
    };
    if input_ty.dtype != DType::F32 {
        return Err(format!(
            "the input \"{}\" is {:?}; Aegis feeds float32",
            input.name, input_ty.dtype
        ));
    }
    let input_dims = input_ty
        .static_shape
        .clone()
        .unwrap_or_else(|| vec![None; input_ty.rank]);
    let mut slots = Slots::default();
    let input_slot = slots.fresh();
    slots.by_name.insert(input.name.clone(), input_slot);
    let mut steps = Vec::new();
    for node in &graph.nodes {
        let name = node.name().to_string();
        if let Node::Constant(c) = node {
            let data = c
                .outputs
                .first()
                .and_then(Argument::value)
                .or_else(|| c.inputs.first().and_then(Argument::value))
                .ok_or_else(|| format!("constant \"{name}\" has no value"))?;
            let slot = slots.constant(&data, &format!("constant \"{name}\""))?;
            for o in &c.outputs {
                slots.by_name.insert(o.name.clone(), slot);
            }
            continue;
        }
        let mut op = convert(node).map_err(|detail| {
            let op = node.node_type().to_string();
            match detail {
                None => unsupported(&file_name(info, &op, &name), &op, info.opset, ""),
                Some(d) => format!("node \"{name}\" ({op}): {d}"),
            }
        })?;
        let inputs = match slots.layer(node, &mut op, &name)? {
            Some(inputs) => inputs,
            None => node
                .inputs()
                .iter()
                .map(|a| slots.input(a, &name))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let mut outputs = Vec::new();
        for o in node.outputs() {
            check_rank(o, &name)?;
            let s = slots.fresh();
            slots.by_name.insert(o.name.clone(), s);
            outputs.push(s);
        }
        steps.push(Step {
            op,
            node: format!("{name} ({})", node.node_type()),
            inputs,
            outputs,
            free: Vec::new(),
        });
    }
    let out = graph.outputs.first().ok_or("the graph has no output")?;
    let output = *slots
        .by_name
        .get(&out.name)
        .ok_or_else(|| format!("the output \"{}\" is never computed", out.name))?;
    let mut plan = Plan {
        slots: slots.count,
        input: input_slot,
        output,
        weights: slots.weights,
        ints: slots.ints,
        steps,
    };
    plan.compute_frees();
    Ok(Built {
        plan,
        constants: slots.values,
        layers: slots.layers,
        input_dims,
    })
}
