//! `aegis-model export`: a sequential run's weights as a PyTorch-layout `.safetensors` file
//! and the spec that rebuilds it, for going back to PyTorch. A run imported from ONNX is
//! refused by name: its `model.onnx` is already the portable form.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::import::{export_safetensors, state_dict_of};
use crate::io::write_json;
use crate::run::RunDir;

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A `.safetensors` file with PyTorch `state_dict` keys and layouts.
    Safetensors,
}

/// Flags of `aegis-model export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Run directory (trained with `--arch` or imported).
    #[arg(long)]
    pub run: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: ExportFormat,
    /// Weights file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Spec file to write [default: OUT with the extension `.arch.json`].
    #[arg(long)]
    pub arch_out: Option<PathBuf>,
}

impl ExportArgs {
    /// Exports and prints where the files went.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let arch_out = self
            .arch_out
            .clone()
            .unwrap_or_else(|| self.out.with_extension("arch.json"));
        let n = export_run(&self.run, &self.out, &arch_out, device)?;
        println!(
            "exported {n} tensors to {} and the spec to {}",
            self.out.display(),
            arch_out.display()
        );
        Ok(())
    }
}

/// Writes the run's parameters to `out` (`.safetensors`, PyTorch keys and layouts) and its
/// spec to `arch_out`; returns the number of tensors written.
pub fn export_run(run: &Path, out: &Path, arch_out: &Path, device: DeviceSpec) -> Result<usize> {
    if !run.is_dir() {
        return Err(ModelError::io(
            run,
            std::io::Error::new(std::io::ErrorKind::NotFound, "run directory not found"),
        ));
    }
    let device = device.open()?;
    let (model, config) = RunDir::new(run).load_model(&device)?;
    if matches!(model, crate::models::Model::Graph(_)) {
        return Err(ModelError::invalid(
            "run",
            format!(
                "{}'s model is an ONNX graph: its model.onnx is already the portable form; \
                 export writes layer models as a spec and PyTorch-layout .safetensors",
                run.display()
            ),
        ));
    }
    let (spec, params) = state_dict_of(&model, &config.model)?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            "aegis_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    export_safetensors(&params, metadata, out)?;
    write_json(arch_out, &spec)?;
    Ok(params.len())
}
