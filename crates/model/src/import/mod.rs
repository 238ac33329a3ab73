//! Bring-your-own-model: PyTorch weights into a [`Sequential`] built from a spec, and back.
//!
//! - [`weights`]: read a `state_dict` from `.safetensors` / `.pt` with Burn's stores, rename
//!   keys (`--key-map`).
//! - [`check`]: compare it with the spec's expected keys and shapes (all faults in one line).
//! - [`export`]: write a model's parameters as a PyTorch-layout `.safetensors` file.
//!
//! [`load_pytorch`] is the whole import: read, check, build, load.

pub mod check;
pub mod export;
pub mod weights;

use std::path::Path;

use burn::tensor::Device;

pub use self::check::{KeyReport, check_keys};
pub use self::export::{export_safetensors, state_dict_of};
pub use self::weights::{StateDict, WeightsFormat, key_remapper, read_state_dict};
use crate::error::{ModelError, Result};
use crate::models::sequential::torch::{expected_params, load_params};
use crate::models::{
    Architecture, Model, ModelConfig, Normalize, SeededInit, Sequential, SequentialSpec,
};

/// Where the weights come from and how their keys are renamed.
#[derive(Debug, Clone, Default)]
pub struct WeightsSource {
    /// `REGEX=REPLACEMENT` rules applied in order to every key of the file.
    pub key_map: Vec<String>,
    /// The entry of a `.pt` checkpoint that holds the `state_dict` (e.g. `state_dict`).
    pub top_level_key: Option<String>,
}

/// A model config for `spec` on samples of `input_shape` (no input normalisation: a PyTorch
/// model's own normalisation is a `normalize` layer of the spec).
pub fn sequential_config(spec: &SequentialSpec, input_shape: Vec<usize>) -> Result<ModelConfig> {
    let classes = spec
        .output_classes()
        .map_err(|e| ModelError::invalid("spec", e))?;
    let cfg = ModelConfig::new(Architecture::Sequential, input_shape, classes)
        .with_spec(Some(spec.clone()));
    cfg.validate()?;
    Ok(cfg)
}

/// Builds `config`'s sequential model on `device` and loads the PyTorch weights of `path`
/// into it: every expected key must be present with its shape and a float dtype, and no other
/// key may be left over (batch norms' `num_batches_tracked` aside).
pub fn load_pytorch(
    config: &ModelConfig,
    path: &Path,
    source: &WeightsSource,
    device: &Device,
) -> Result<Model> {
    let spec = config
        .spec
        .as_ref()
        .ok_or_else(|| ModelError::invalid("spec", "import needs a sequential architecture"))?;
    let remapper = key_remapper(&source.key_map)?;
    let found = read_state_dict(path, remapper, source.top_level_key.as_deref())?;
    let expected = expected_params(spec);
    let report = check_keys(&found, &expected);
    if !report.is_ok() {
        return Err(ModelError::Checkpoint {
            path: path.to_path_buf(),
            fault: format!("does not fit the architecture: {}", report.describe()),
        });
    }
    let mut tensors = check::to_f32(found, &expected);
    let norm = Normalize::new(&config.input_mean, &config.input_std, device);
    let classes = config.num_classes;
    let mut model = Sequential::new(spec, classes, norm, &mut SeededInit::placeholders(), device);
    load_params(&mut model, spec, &mut tensors, device);
    Ok(Model::Sequential(model))
}
