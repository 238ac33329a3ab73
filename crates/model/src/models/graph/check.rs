//! Checks on the ONNX file itself, before onnx-ir builds its graph: the opset, operators
//! Aegis can never run (named with the node and the opset), values read before they are
//! computed (a cycle) or never defined (a missing initializer), the graph's inputs and
//! outputs, and external-data paths that would leave the model's folder.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use onnx_ir::{GraphProto, Message, ModelProto, NodeProto};

/// ONNX operator types (default domain) that Aegis runs or that onnx-ir rewrites into ones
/// it runs (`Conv` → `Conv2d`, `Gemm` → `Linear`, a scaled dot-product pattern →
/// `Attention`), plus those onnx-ir folds away when their inputs are constant.
const RUNNABLE: &[&str] = &[
    "Abs",
    "Add",
    "Attention",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "Div",
    "Dropout",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Gather",
    "GatherND",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "Identity",
    "LayerNormalization",
    "LeakyRelu",
    "Log",
    "LogSoftmax",
    "MatMul",
    "MaxPool",
    "Mul",
    "Neg",
    "Pow",
    "Range",
    "Reciprocal",
    "ReduceMean",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Where",
];

/// Operators whose `kernel_shape` must be 2-D for Aegis.
const WINDOWED: &[&str] = &["Conv", "MaxPool", "AveragePool"];

/// ONNX element types Aegis takes as the graph's input (FLOAT, FLOAT16, DOUBLE, BFLOAT16).
const FLOAT_TYPES: &[i32] = &[1, 10, 11, 16];

/// What the checks learned about a valid file.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The default-domain opset.
    pub opset: i64,
    /// External-data files, relative to the model's folder.
    pub external: Vec<PathBuf>,
    /// `(op type, node name)` of every node, in file order.
    pub nodes: Vec<(String, String)>,
}

/// A node's name for messages: its own, else its first output's.
fn node_label(node: &NodeProto, index: usize) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else if let Some(o) = node.output.first().filter(|o| !o.is_empty()) {
        format!("producing {o}")
    } else {
        format!("#{index}")
    }
}

/// Reads and checks `bytes`, the contents of an ONNX file. Errors are one line, without the
/// file name.
pub fn check(bytes: &[u8]) -> Result<FileInfo, String> {
    let model = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| format!("not an ONNX model (truncated or another format): {e}"))?;
    let graph = model
        .graph
        .as_ref()
        .filter(|g| !g.node.is_empty())
        .ok_or("not an ONNX model: it has no graph nodes")?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or("the model imports no default-domain opset")?;
    check_operators(graph, opset)?;
    check_order(graph)?;
    check_io(graph)?;
    let external = external_files(graph)?;
    let nodes = graph
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| (n.op_type.clone(), node_label(n, i)))
        .collect();
    Ok(FileInfo {
        opset,
        external,
        nodes,
    })
}

/// The operator message of the issue: names the op, the node and the opset.
pub fn unsupported(node: &str, op: &str, opset: i64, detail: &str) -> String {
    format!("node \"{node}\" uses {op}{detail} (opset {opset}), which Aegis does not implement")
}

/// Every node's operator is one Aegis can run, with 2-D windows.
fn check_operators(graph: &GraphProto, opset: i64) -> Result<(), String> {
    for (i, node) in graph.node.iter().enumerate() {
        let label = node_label(node, i);
        let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
        if !default_domain {
            let op = format!("{}::{}", node.domain, node.op_type);
            return Err(unsupported(&label, &op, opset, ""));
        }
        if !RUNNABLE.contains(&node.op_type.as_str()) {
            return Err(unsupported(&label, &node.op_type, opset, ""));
        }
        if WINDOWED.contains(&node.op_type.as_str())
            && let Some(k) = node.attribute.iter().find(|a| a.name == "kernel_shape")
            && k.ints.len() != 2
        {
            let detail = format!(" with a {}-D kernel", k.ints.len());
            return Err(unsupported(&label, &node.op_type, opset, &detail));
        }
    }
    Ok(())
}

/// Every value a node reads is a graph input, an initializer or an earlier node's output.
fn check_order(graph: &GraphProto) -> Result<(), String> {
    let mut defined: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for o in &node.output {
            producer.entry(o.as_str()).or_insert(i);
        }
    }
    for (i, node) in graph.node.iter().enumerate() {
        for input in node.input.iter().filter(|s| !s.is_empty()) {
            if defined.contains(input.as_str()) {
                continue;
            }
            let label = node_label(node, i);
            return Err(match producer.get(input.as_str()) {
                Some(&j) => format!(
                    "node \"{label}\" reads \"{input}\" before node \"{}\" computes it: \
                     the graph has a cycle or is not in topological order",
                    node_label(&graph.node[j], j)
                ),
                None => format!(
                    "node \"{label}\" reads \"{input}\", which no initializer, graph input or \
                     node defines (a missing initializer?)"
                ),
            });
        }
        defined.extend(node.output.iter().map(String::as_str));
    }
    for out in &graph.output {
        if !defined.contains(out.name.as_str()) {
            return Err(format!("graph output \"{}\" is never computed", out.name));
        }
    }
    Ok(())
}

/// Exactly one float graph input (initializers listed as inputs do not count) and one output.
fn check_io(graph: &GraphProto) -> Result<(), String> {
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .collect();
    let float: Vec<&str> = inputs
        .iter()
        .filter(|i| FLOAT_TYPES.contains(&i.type_.tensor_type().elem_type))
        .map(|i| i.name.as_str())
        .collect();
    if float.len() != 1 || inputs.len() != 1 {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(format!(
            "Aegis feeds a model one float input; this graph has {} input(s) {names:?}, \
             {} of them float",
            inputs.len(),
            float.len()
        ));
    }
    if graph.output.len() != 1 {
        return Err(format!(
            "Aegis reads one output (the logits); this graph has {}",
            graph.output.len()
        ));
    }
    Ok(())
}

/// The external-data files the initializers name, each refused when it is absolute or
/// leaves the model's folder.
fn external_files(graph: &GraphProto) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::new();
    for t in &graph.initializer {
        if t.data_location.value() != 1 {
            continue;
        }
        let location = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map(|e| e.value.as_str())
            .ok_or_else(|| {
                format!(
                    "initializer \"{}\" has external data without a location",
                    t.name
                )
            })?;
        let path = Path::new(location);
        let inside = !location.is_empty()
            && !location.contains('\0')
            && !path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(format!(
                "initializer \"{}\" stores its data at \"{location}\", outside the model's folder; \
                 Aegis reads external data only from files beside the model",
                t.name
            ));
        }
        if !out.iter().any(|p| p == path) {
            out.push(path.to_path_buf());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_an_onnx_model() {
        let e = check(b"PK\x03\x04 definitely not protobuf").unwrap_err();
        assert!(e.contains("not an ONNX model"), "{e}");
        let e = check(b"").unwrap_err();
        assert!(e.contains("not an ONNX model"), "{e}");
    }
}
