//! Models imported from ONNX files and run by interpretation: [`load_onnx`] parses a file
//! with onnx-ir, checks it and builds a [`Graph`], a Burn module whose parameters are the
//! graph's float constants and whose forward pass walks the graph node by node.
//!
//! Layers: `check` (the file itself: operators, order, inputs, external-data paths),
//! `convert` (onnx-ir node → [`plan::Op`]), `load` (the plan: value slots and steps),
//! `value` (ranked values on fixed-rank Burn tensors), `ops/` (one function per operation).
//! Semantics are inference ones: BatchNormalization uses its running statistics, Dropout is
//! the identity.

mod check;
mod convert;
pub mod layers;
mod load;
pub mod ops;
pub mod plan;
pub mod value;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::OnnxGraphBuilder;

use self::layers::{LayerParams, constant_value};
use self::plan::Plan;
use self::value::{FloatValue, Value, padded};
use crate::classifier::Classifier;
use crate::error::{ModelError, Result};

/// A classifier computed by an ONNX graph.
///
/// Its input is the graph's one float input, `[B, …]`; [`Classifier::input_shape`] is that
/// shape without the batch axis. Its output is the graph's one output, which must be logits
/// `[B, C]`. When the file fixes the batch size `B` (PyTorch's exporter does unless told
/// otherwise), [`Classifier::logits`] runs the rows in chunks of `B`, padding the last with
/// zero rows and dropping their outputs; a dynamic batch axis runs all rows at once.
#[derive(Module, Debug)]
pub struct Graph {
    /// Each Conv / Linear / Gemm / MatMul node's constant weight and bias, in graph order.
    layers: Vec<LayerParams>,
    /// The other float constants (initializers and constants), flattened; shapes in the plan.
    constants: Vec<Param<Tensor<1>>>,
    #[module(skip)]
    plan: Arc<Plan>,
    #[module(skip)]
    input_shape: Vec<usize>,
    #[module(skip)]
    batch: Option<usize>,
    #[module(skip)]
    classes: usize,
}

/// The external-data files an ONNX file's initializers name (relative to its folder), after
/// the same checks as [`load_onnx`]'s on the file itself.
pub fn external_data_files(path: &Path) -> Result<Vec<PathBuf>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let info = check::check(&bytes).map_err(|e| ModelError::format(path, e))?;
    Ok(info.external)
}

/// Reads the ONNX file at `path` (and the external-data files beside it) into a [`Graph`] on
/// `device`.
///
/// Refused, with [`ModelError::Format`] naming the file, in one line: a file that is not
/// ONNX or is truncated; an operator Aegis does not implement (the message names the op,
/// the node and the opset); a cycle or a value no initializer, input or node defines; more
/// than one input or one output, or a non-float input; a dynamic input axis other than the
/// batch; external data outside the model's folder; an output that is not `[B, C]` logits.
/// A trial forward pass on zeros runs before the graph is returned.
pub fn load_onnx(path: &Path, device: &Device) -> Result<Graph> {
    let bad = |fault: String| ModelError::format(path, fault);
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let info = check::check(&bytes).map_err(bad)?;
    drop(bytes);
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        OnnxGraphBuilder::new().parse_file(path)
    }));
    let graph = match parsed {
        Ok(Ok(g)) => g,
        Ok(Err(e)) => return Err(bad(format!("onnx-ir: {}", first_line(&e.to_string())))),
        Err(p) => {
            let msg = crate::device::panic_message(&p);
            return Err(bad(format!("onnx-ir: {}", first_line(&msg))));
        }
    };
    let built = load::build(&graph, &info).map_err(bad)?;
    drop(graph);
    let (batch, input_shape) = split_batch(&built.input_dims).map_err(bad)?;
    let constants = built
        .constants
        .into_iter()
        .map(|w| {
            let n = w.len();
            Param::from_data(TensorData::new(w, [n]), device)
        })
        .collect();
    let layers = built
        .layers
        .into_iter()
        .map(|l| LayerParams::new(l, device))
        .collect();
    let mut graph = Graph {
        layers,
        constants,
        plan: Arc::new(built.plan),
        input_shape,
        batch,
        classes: 0,
    };
    graph.classes = graph.trial(device).map_err(bad)?;
    Ok(graph)
}

/// The first line of a message.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The fixed batch size (if any) and the static sample shape of a declared input shape.
fn split_batch(dims: &[Option<usize>]) -> std::result::Result<(Option<usize>, Vec<usize>), String> {
    let Some((batch, rest)) = dims.split_first() else {
        return Err("the input is a scalar; Aegis needs a batch axis".into());
    };
    let sample = rest
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.filter(|&d| d > 0).ok_or_else(|| {
                format!(
                    "input axis {} is dynamic; Aegis needs a fixed sample shape (export with \
                     a fixed size)",
                    i + 1
                )
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if sample.iter().product::<usize>() == 0 || sample.is_empty() {
        return Err(format!("input sample shape {sample:?} is empty"));
    }
    Ok((batch.filter(|&b| b > 0), sample))
}

impl Graph {
    /// The batch size the file fixes (`None`: dynamic).
    pub fn fixed_batch(&self) -> Option<usize> {
        self.batch
    }

    /// Number of float constant tensors of the graph (layer weights and biases included).
    pub fn num_constants(&self) -> usize {
        self.plan.weights.len()
    }

    /// Number of steps (nodes run) in a forward pass.
    pub fn num_steps(&self) -> usize {
        self.plan.steps.len()
    }

    /// A forward pass on zeros that checks the output is `[B, C]` logits; returns `C`.
    fn trial(&self, device: &Device) -> std::result::Result<usize, String> {
        let b = self.batch.unwrap_or(2);
        let x = Tensor::<2>::zeros([b, self.input_dim()], device);
        let y = self.run(x)?;
        let dims = y.dims();
        if y.rank != 2 || dims[0] != b || dims[1] < 2 {
            return Err(format!(
                "the output has shape {dims:?} for a batch of {b}; Aegis needs logits [{b}, C] \
                 with at least 2 classes"
            ));
        }
        Ok(dims[1])
    }

    /// The graph on `x` `[n, F]` (`n` the fixed batch size when there is one).
    fn run(&self, x: Tensor<2>) -> std::result::Result<FloatValue, String> {
        let device = x.device();
        let [n, _] = x.dims();
        let mut dims = vec![n];
        dims.extend(&self.input_shape);
        let plan = &self.plan;
        let mut env: Vec<Option<Value>> = vec![None; plan.slots];
        env[plan.input] = Some(Value::Float(FloatValue {
            t: x.reshape(padded(&dims)?),
            rank: dims.len(),
        }));
        for w in &plan.weights {
            let v = constant_value(w.source, &w.dims, &self.layers, &self.constants)?;
            env[w.slot] = Some(Value::Float(v));
        }
        for (slot, v) in &plan.ints {
            env[*slot] = Some(Value::Int(v.clone()));
        }
        for step in &plan.steps {
            let inputs = step
                .inputs
                .iter()
                .map(|s| s.and_then(|s| env[s].clone()))
                .collect();
            let outs = ops::run(&step.op, inputs, &device)
                .map_err(|e| format!("node \"{}\": {e}", step.node))?;
            for (slot, v) in step.outputs.iter().zip(outs) {
                env[*slot] = Some(v);
            }
            for s in &step.free {
                env[*s] = None;
            }
        }
        env[plan.output]
            .take()
            .ok_or("the output was not computed")?
            .float("the output")
    }

    /// Logits for rows the graph takes in one call.
    fn run_rows(&self, x: Tensor<2>) -> Tensor<2> {
        match self.run(x).and_then(|y| y.tensor::<2>("the output")) {
            Ok(y) => y,
            // The trial pass at load ran the same plan on the same sample shape.
            Err(e) => panic!("ONNX graph failed after its load-time check passed: {e}"),
        }
    }
}

impl Classifier for Graph {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, f] = x.dims();
        let device = x.device();
        if n == 0 {
            return Tensor::zeros([0, self.classes], &device);
        }
        let Some(b) = self.batch else {
            return self.run_rows(x);
        };
        let mut outs = Vec::with_capacity(n.div_ceil(b));
        for start in (0..n).step_by(b) {
            let rows = b.min(n - start);
            let mut chunk = x.clone().narrow(0, start, rows);
            if rows < b {
                let pad = Tensor::<2>::zeros([b - rows, f], &device);
                chunk = Tensor::cat(vec![chunk, pad], 0);
            }
            let y = self.run_rows(chunk);
            outs.push(if rows < b { y.narrow(0, 0, rows) } else { y });
        }
        if outs.len() == 1 {
            outs.pop().expect("one chunk")
        } else {
            Tensor::cat(outs, 0)
        }
    }

    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    fn num_classes(&self) -> usize {
        self.classes
    }
}
