//! The memory a spec will need, bounded before anything is allocated.
//!
//! A spec is a user's file: one layer of `{"type": "linear", "in_features": 784,
//! "out_features": 2000000000}` asks for 6.3 TB of weights, which the allocator cannot give
//! and Rust answers with an abort. [`SequentialSpec::check_memory`] walks the layers (as the
//! shape check does) and refuses, with one line naming the layer, its size and the budget:
//!
//! 1. a layer whose parameters alone exceed the budget;
//! 2. a layer whose output at the batch size exceeds the budget;
//! 3. a network whose whole estimate exceeds it. For [`Phase::Train`]: every parameter four
//!    times (weights, gradients and Adam's two moments) plus every layer's output and its
//!    gradient at the batch size (autodiff keeps the outputs for the backward pass). For
//!    [`Phase::Inference`]: the parameters once plus the two largest consecutive outputs.
//!
//! Every size is `f32` (4 bytes) and is computed in `u128` with saturation, so no spec can
//! overflow the arithmetic. The estimate leaves out what Burn and the allocator add on top
//! (workspace of a convolution, the data set itself): it is a floor, which is what a refusal
//! needs. The budget is the machine's physical memory (`MemTotal` of `/proc/meminfo`; 8 GiB
//! where that cannot be read) unless `AEGIS_MEMORY_BUDGET` sets it (`512MiB`, `16GB`, `2G`,
//! or bytes).

use std::fmt;
use std::path::Path;

use super::kind::{LayerKind, LayerSpec};
use super::shape::{Shape, layer_name, output_shape};
use super::spec::SequentialSpec;
use super::torch::layer_params;
use crate::error::ModelError;

/// The environment variable that overrides the machine's memory as the budget.
pub const MEMORY_BUDGET_ENV: &str = "AEGIS_MEMORY_BUDGET";

/// The budget where the machine's memory cannot be read: 8 GiB.
pub const FALLBACK_BUDGET_BYTES: u64 = 8 << 30;

/// Bytes of one `f32`.
const F32: u128 = 4;

/// How many bytes a model may take, and where that number came from (for the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes.
    pub bytes: u64,
    /// Where the number came from.
    pub source: BudgetSource,
}

/// Where a [`MemoryBudget`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    /// `MemTotal` of `/proc/meminfo`.
    MachineMemory,
    /// [`FALLBACK_BUDGET_BYTES`]: the machine's memory could not be read.
    Fallback,
    /// [`MEMORY_BUDGET_ENV`].
    Environment,
    /// Set by the caller (a library user, the fuzz targets).
    Explicit,
}

impl MemoryBudget {
    /// A budget of `bytes`, set by the caller.
    pub fn bytes(bytes: u64) -> Self {
        Self {
            bytes,
            source: BudgetSource::Explicit,
        }
    }

    /// `AEGIS_MEMORY_BUDGET` when set, else the machine's memory. A value that does not
    /// parse is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(MEMORY_BUDGET_ENV) {
            Ok(text) => parse_bytes(&text)
                .map(|bytes| Self {
                    bytes,
                    source: BudgetSource::Environment,
                })
                .ok_or_else(|| {
                    format!(
                        "{MEMORY_BUDGET_ENV}={text:?} is not a size (e.g. 512MiB, 16GB, 2G or \
                         bytes, at least 1)"
                    )
                }),
            Err(_) => Ok(Self::machine()),
        }
    }

    /// The machine's physical memory, or [`FALLBACK_BUDGET_BYTES`].
    pub fn machine() -> Self {
        match machine_memory() {
            Some(bytes) => Self {
                bytes,
                source: BudgetSource::MachineMemory,
            },
            None => Self {
                bytes: FALLBACK_BUDGET_BYTES,
                source: BudgetSource::Fallback,
            },
        }
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.source {
            BudgetSource::MachineMemory => {
                format!("this machine's memory; set {MEMORY_BUDGET_ENV} to change it")
            }
            BudgetSource::Fallback => format!(
                "the machine's memory could not be read; set {MEMORY_BUDGET_ENV} to change it"
            ),
            BudgetSource::Environment => MEMORY_BUDGET_ENV.to_string(),
            BudgetSource::Explicit => "set by the caller".to_string(),
        };
        write!(f, "{} ({from})", human(u128::from(self.bytes)))
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024).filter(|b| *b > 0)
}

/// `123`, `512MiB`, `16GB`, `2G`, `1.5TiB` (case-insensitive; k/M/G/T with or without `B`
/// are powers of 1024, `kB`/`MB`/`GB`/`TB` powers of 1000). `None` for anything else or 0.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let bytes = (value * scale).floor();
    (bytes.is_finite() && bytes >= 1.0 && bytes <= u64::MAX as f64).then_some(bytes as u64)
}

/// `6.3 TB`-style sizes in binary units, for errors.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What the memory is for: training keeps more per parameter and per layer than inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Weights, gradients, Adam's two moments; every output and its gradient.
    Train,
    /// Weights; the largest input–output pair of one layer.
    Inference,
}

/// One layer's share of the estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerMemory {
    /// `"<name> (<type>)"`, as the shape check names layers.
    pub layer: String,
    /// Scalar parameters (buffers included: batch-norm statistics).
    pub parameters: u128,
    /// Values of one sample's output.
    pub output_values: u128,
    /// The output's shape, for messages.
    pub output_shape: Shape,
}

/// The memory estimate of a spec, layer by layer (residual blocks flattened in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Values of one input sample.
    pub input_values: u128,
    /// Every layer.
    pub layers: Vec<LayerMemory>,
}

impl MemoryEstimate {
    /// All scalar parameters.
    pub fn parameters(&self) -> u128 {
        self.layers
            .iter()
            .fold(0u128, |sum, l| sum.saturating_add(l.parameters))
    }

    /// Bytes the model needs in `phase` at `batch` rows (see the module docs).
    pub fn bytes(&self, phase: Phase, batch: usize) -> u128 {
        let batch = batch as u128;
        let values = |n: u128| n.saturating_mul(batch).saturating_mul(F32);
        match phase {
            Phase::Train => {
                let outputs = self
                    .layers
                    .iter()
                    .fold(values(self.input_values), |sum, l| {
                        sum.saturating_add(values(l.output_values).saturating_mul(2))
                    });
                self.parameters()
                    .saturating_mul(4 * F32)
                    .saturating_add(outputs)
            }
            Phase::Inference => {
                let mut previous = self.input_values;
                let mut pair = 0u128;
                for l in &self.layers {
                    pair = pair.max(previous.saturating_add(l.output_values));
                    previous = l.output_values;
                }
                self.parameters()
                    .saturating_mul(F32)
                    .saturating_add(values(pair))
            }
        }
    }
}

impl SequentialSpec {
    /// [`SequentialSpec::from_file`], then refuses a network that cannot fit the memory
    /// budget ([`MemoryBudget::from_env`]) in each `(phase, batch rows)` it will run: one line
    /// naming the file, the layer, its size and the budget, before anything is allocated.
    pub fn from_file_within_budget(
        path: &Path,
        uses: &[(Phase, usize)],
    ) -> crate::error::Result<Self> {
        let spec = Self::from_file(path)?;
        spec.check_uses(uses).map_err(|fault| ModelError::Config {
            path: path.to_path_buf(),
            fault,
        })?;
        Ok(spec)
    }

    /// [`SequentialSpec::check_memory`] against [`MemoryBudget::from_env`] for each
    /// `(phase, batch rows)`.
    pub fn check_uses(&self, uses: &[(Phase, usize)]) -> std::result::Result<(), String> {
        let budget = MemoryBudget::from_env()?;
        for &(phase, batch) in uses {
            self.check_memory(phase, batch, &budget)?;
        }
        Ok(())
    }

    /// The estimate of every layer's parameters and output size; `Err` when the shapes do
    /// not check (the message of [`SequentialSpec::output_classes`]).
    pub fn memory_estimate(&self) -> Result<MemoryEstimate, String> {
        self.output_classes()?;
        let input = Shape::from_dims(&self.input_shape).ok_or("bad input_shape")?;
        let mut layers = Vec::new();
        estimate_layers(&self.layers, input, "", &mut layers)?;
        Ok(MemoryEstimate {
            input_values: input.numel() as u128,
            layers,
        })
    }

    /// Refuses a spec that cannot fit `budget` in `phase` at `batch` rows, with one line
    /// naming the layer, its size and the budget (see the module docs for the three checks).
    pub fn check_memory(
        &self,
        phase: Phase,
        batch: usize,
        budget: &MemoryBudget,
    ) -> Result<MemoryEstimate, String> {
        let estimate = self.memory_estimate()?;
        let limit = u128::from(budget.bytes);
        let copies = match phase {
            Phase::Train => 4,
            Phase::Inference => 1,
        };
        for l in &estimate.layers {
            let weights = l.parameters.saturating_mul(F32);
            if weights > limit {
                return Err(format!(
                    "layer {}: {} parameters take {}, over the memory budget of {budget}",
                    l.layer,
                    l.parameters,
                    human(weights)
                ));
            }
            let output = l
                .output_values
                .saturating_mul(batch as u128)
                .saturating_mul(F32);
            if output > limit {
                return Err(format!(
                    "layer {}: its output {} at batch size {batch} takes {}, over the memory \
                     budget of {budget}",
                    l.layer,
                    l.output_shape,
                    human(output)
                ));
            }
        }
        let total = estimate.bytes(phase, batch);
        if total > limit {
            let largest = estimate
                .layers
                .iter()
                .max_by_key(|l| {
                    l.parameters
                        .saturating_mul(copies * F32)
                        .max(l.output_values.saturating_mul(batch as u128 * F32))
                })
                .map_or(String::new(), |l| {
                    format!(
                        "; the largest layer is {} ({} parameters, output {})",
                        l.layer, l.parameters, l.output_shape
                    )
                });
            let what = match phase {
                Phase::Train => "to train",
                Phase::Inference => "for inference",
            };
            return Err(format!(
                "the network needs at least {} {what} at batch size {batch} ({} parameters){largest}, \
                 over the memory budget of {budget}",
                human(total),
                estimate.parameters()
            ));
        }
        Ok(estimate)
    }
}

/// Appends the estimate of `layers` on an input of `shape` (a residual block's body, then
/// its projection, then the sum).
fn estimate_layers(
    layers: &[LayerSpec],
    mut shape: Shape,
    prefix: &str,
    out: &mut Vec<LayerMemory>,
) -> Result<Shape, String> {
    for (i, layer) in layers.iter().enumerate() {
        let name = layer_name(layer, prefix, i);
        let label = format!("{name} ({})", layer.kind.type_name());
        shape = match &layer.kind {
            LayerKind::Residual { layers, projection } => {
                let body = estimate_layers(layers, shape, &format!("{name}.body."), out)?;
                if let Some(p) = projection {
                    estimate_layers(p, shape, &format!("{name}.projection."), out)?;
                }
                body
            }
            kind => output_shape(kind, shape).map_err(|e| format!("layer {label}: {e}"))?,
        };
        out.push(LayerMemory {
            layer: label,
            parameters: parameters(&layer.kind),
            output_values: shape.numel() as u128,
            output_shape: shape,
        });
    }
    Ok(shape)
}

/// Scalar parameters and buffers of one layer: those of its PyTorch `state_dict`
/// ([`layer_params`]; a residual block's own: none, its layers count themselves).
fn parameters(kind: &LayerKind) -> u128 {
    layer_params(kind)
        .iter()
        .map(|(_, shape)| {
            shape
                .iter()
                .fold(1u128, |n, d| n.saturating_mul(*d as u128))
        })
        .fold(0u128, u128::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> SequentialSpec {
        serde_json::from_str(json).expect("valid spec")
    }

    #[test]
    fn an_absurd_linear_layer_is_refused_by_name() {
        let s = spec(
            r#"{"input_shape": [784], "layers": [
                {"type": "linear", "in_features": 784, "out_features": 2000000000}]}"#,
        );
        let err = s
            .check_memory(Phase::Train, 64, &MemoryBudget::bytes(1 << 30))
            .unwrap_err();
        assert!(
            err.starts_with("layer 0 (linear): 1570000000000 parameters"),
            "{err}"
        );
        assert!(err.contains("1.0 GiB (set by the caller)"), "{err}");
    }

    #[test]
    fn a_wide_activation_is_refused_at_the_batch_size() {
        let s = spec(
            r#"{"input_shape": [3, 32, 32], "layers": [
                {"type": "conv2d", "name": "stem", "in_channels": 3, "out_channels": 4096,
                 "kernel_size": 3, "padding": 1},
                {"type": "flatten"},
                {"type": "linear", "in_features": 4194304, "out_features": 2}]}"#,
        );
        // One sample's stem output is 4096·32·32·4 bytes = 16 MiB: fine alone, 1 GiB at 64.
        let budget = MemoryBudget::bytes(512 << 20);
        assert!(s.check_memory(Phase::Inference, 1, &budget).is_ok());
        let err = s.check_memory(Phase::Inference, 64, &budget).unwrap_err();
        assert!(
            err.starts_with("layer stem (conv2d): its output [4096, 32, 32] at batch size 64"),
            "{err}"
        );
    }

    #[test]
    fn the_whole_network_counts_gradients_and_moments_in_training() {
        // 100 linear layers of 1000×1000: 100.1 M parameters, 400 MB as weights alone and
        // 1.6 GB with gradients and Adam's moments.
        let layers: Vec<String> = (0..100)
            .map(|_| r#"{"type": "linear", "in_features": 1000, "out_features": 1000}"#.into())
            .chain([r#"{"type": "linear", "in_features": 1000, "out_features": 2}"#.into()])
            .collect();
        let s = spec(&format!(
            r#"{{"input_shape": [1000], "layers": [{}]}}"#,
            layers.join(",")
        ));
        let budget = MemoryBudget::bytes(1 << 30);
        assert!(s.check_memory(Phase::Inference, 64, &budget).is_ok());
        let err = s.check_memory(Phase::Train, 64, &budget).unwrap_err();
        assert!(
            err.starts_with("the network needs at least 1.5 GiB to train"),
            "{err}"
        );
    }

    #[test]
    fn residual_blocks_count_their_body_and_projection() {
        let s = spec(
            r#"{"input_shape": [2, 4, 4], "layers": [
                {"type": "residual",
                 "layers": [{"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 1}],
                 "projection": [{"type": "conv2d", "in_channels": 2, "out_channels": 3,
                                 "kernel_size": 1, "bias": false}]},
                {"type": "flatten"},
                {"type": "linear", "in_features": 48, "out_features": 2}]}"#,
        );
        let e = s.memory_estimate().expect("checks");
        assert_eq!(e.parameters(), (6 + 3) + 6 + (48 * 2 + 2));
        let names: Vec<&str> = e.layers.iter().map(|l| l.layer.as_str()).collect();
        assert_eq!(
            names,
            [
                "0.body.0 (conv2d)",
                "0.projection.0 (conv2d)",
                "0 (residual)",
                "1 (flatten)",
                "2 (linear)"
            ]
        );
    }

    #[test]
    fn zero_dilation_and_overflowing_shapes_are_shape_errors() {
        // Found by `cargo xtask fuzz spec`: dilation 0 passed the shape check and panicked
        // in Burn ("dilation must be non-zero").
        let s = spec(
            r#"{"input_shape": [1, 8, 8], "layers": [
                {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3,
                 "dilation": 0},
                {"type": "flatten"}, {"type": "linear", "in_features": 72, "out_features": 2}]}"#,
        );
        assert!(s.memory_estimate().unwrap_err().contains("dilation"));
        let s = spec(&format!(
            r#"{{"input_shape": [{m}, {m}, {m}], "layers": [{{"type": "flatten"}},
                {{"type": "linear", "in_features": 2, "out_features": 2}}]}}"#,
            m = usize::MAX
        ));
        assert!(s.memory_estimate().is_err());
    }

    #[test]
    fn sizes_parse_in_both_unit_systems() {
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("16GB"), Some(16_000_000_000));
        assert_eq!(parse_bytes(" 1.5 KiB "), Some(1536));
        for bad in ["", "0", "-1", "1e3", "12 parsecs", "99999999999TB", "nan"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }
}
