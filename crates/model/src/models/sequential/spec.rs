//! The architecture-as-data format: a JSON description of a feed-forward network, layer by
//! layer, in PyTorch's vocabulary (`torch.nn` names, arguments and defaults), and its shape
//! check.
//!
//! ```json
//! { "input_shape": [3, 16, 16],
//!   "layers": [
//!     {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
//!     {"type": "batchnorm2d", "num_features": 8},
//!     {"type": "relu"},
//!     {"type": "residual", "layers": [ ... ], "projection": [ ... ]},
//!     {"type": "adaptiveavgpool2d", "output_size": 1},
//!     {"type": "flatten"},
//!     {"type": "linear", "in_features": 8, "out_features": 10, "name": "fc"} ] }
//! ```
//! Pairs (`kernel_size`, `stride`, `padding`, `dilation`, `output_size`) are a number or a
//! `[h, w]` list. Every layer may carry `"name"`: its prefix in a PyTorch `state_dict`
//! (default: its index, and `<index>.body.<j>` / `<index>.projection.<j>` inside a residual
//! block, which is what an `nn.Sequential` of the same layers is named).

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use super::kind::{LAYER_TYPES, LayerKind, LayerSpec, Pair};
use super::shape::{Shape, check_layers};
use crate::error::{ModelError, Result};

/// A whole network: the shape of one input and its layers. Saved in `config.json` under
/// `model.spec`; read from a user's file by [`SequentialSpec::from_file`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialSpec {
    /// One sample: `[C, H, W]` for images, `[F]` for flat inputs.
    pub input_shape: Vec<usize>,
    /// The layers, applied in order.
    pub layers: Vec<LayerSpec>,
}

impl SequentialSpec {
    /// Reads a spec from a JSON file: either the spec itself or a run's `config.json` (its
    /// `model.spec`). Errors name the file and the layer at fault.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let bad = |fault: String| ModelError::Config {
            path: path.to_path_buf(),
            fault,
        };
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if let Some(spec) = value.pointer("/model/spec") {
            value = spec.clone();
        }
        let spec = Self::from_value(value).map_err(bad)?;
        spec.output_classes().map_err(bad)?;
        Ok(spec)
    }

    /// Parses a JSON value layer by layer, so an error says which layer is wrong.
    fn from_value(value: serde_json::Value) -> std::result::Result<Self, String> {
        let serde_json::Value::Object(mut obj) = value else {
            return Err("a spec is an object with `input_shape` and `layers`".into());
        };
        let input_shape = obj
            .remove("input_shape")
            .ok_or("missing `input_shape`")
            .and_then(|v| serde_json::from_value(v).map_err(|_| "bad `input_shape`"))?;
        let Some(serde_json::Value::Array(raw)) = obj.remove("layers") else {
            return Err("missing `layers` (a list)".into());
        };
        if let Some(k) = obj.keys().next() {
            return Err(format!(
                "unknown field `{k}` (expected `input_shape`, `layers`)"
            ));
        }
        let layers = raw
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value::<LayerSpec>(v).map_err(|e| format!("layer {i}: {e}"))
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok(Self {
            input_shape,
            layers,
        })
    }

    /// The number of classes: the width of the last layer's flat output. Checks every layer
    /// on the way (see [`check_layers`]).
    pub fn output_classes(&self) -> std::result::Result<usize, String> {
        let input = Shape::from_dims(&self.input_shape)
            .filter(|s| s.numel() > 0)
            .ok_or_else(|| {
                format!(
                    "input_shape {:?} must be [F], [H, W] or [C, H, W] with no zero",
                    self.input_shape
                )
            })?;
        if self.layers.is_empty() {
            return Err("the spec has no layers".into());
        }
        match check_layers(&self.layers, input, "", false)? {
            Shape::Flat(c) if c >= 2 => Ok(c),
            other => Err(format!(
                "the last layer must output flat logits [classes ≥ 2], it outputs {other}"
            )),
        }
    }
}
