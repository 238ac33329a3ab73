//! Reading a PyTorch `state_dict` from `.safetensors` or `.pt` / `.pth` with Burn's own
//! readers (`burn::store::{SafetensorsStore, PytorchStore}`), keys renamed by the user's
//! `--key-map` through `burn::store::KeyRemapper`, every fault reported in one line naming
//! the file.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::pytorch_reader::{PickleValue, PytorchReader};
use burn::store::{KeyRemapper, ModuleStore, PytorchStore, SafetensorsStore, bridge};
use burn::tensor::{DType, TensorData};

use crate::error::{ModelError, Result};

/// The tensors of a weights file by key, with their stored dtype (not yet converted).
pub type StateDict = BTreeMap<String, TensorData>;

/// A weights file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// `.safetensors`.
    Safetensors,
    /// PyTorch's `torch.save` of a `state_dict` (`.pt`, `.pth`, `.bin`).
    Pytorch,
}

impl WeightsFormat {
    /// From the file extension.
    pub fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("safetensors") => Ok(Self::Safetensors),
            Some("pt" | "pth" | "bin") => Ok(Self::Pytorch),
            _ => Err(ModelError::format(
                path,
                "unknown weights format: expected .safetensors, .pt, .pth or .bin",
            )),
        }
    }

    /// `safetensors` or `pytorch`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Pytorch => "pytorch",
        }
    }
}

/// Parses `REGEX=REPLACEMENT` rules (applied in order to every key; `$1` refers to a group).
pub fn key_remapper(rules: &[String]) -> Result<KeyRemapper> {
    let mut remapper = KeyRemapper::new();
    for rule in rules {
        let (from, to) = rule.split_once('=').ok_or_else(|| {
            ModelError::invalid("key-map", format!("`{rule}` is not REGEX=REPLACEMENT"))
        })?;
        remapper = remapper.add_pattern(from, to).map_err(|e| {
            ModelError::invalid("key-map", format!("`{from}`: {}", one_line(&e.to_string())))
        })?;
    }
    Ok(remapper)
}

/// A multi-line message as one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads every tensor of `path` (keys renamed by `remapper`; `top_level_key` selects a nested
/// dictionary of a `.pt` checkpoint such as `state_dict`).
pub fn read_state_dict(
    path: &Path,
    remapper: KeyRemapper,
    top_level_key: Option<&str>,
) -> Result<StateDict> {
    if !path.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "weights file not found"),
        ));
    }
    let format = WeightsFormat::of(path)?;
    if format == WeightsFormat::Pytorch && top_level_key.is_none() {
        if let Some(fault) = nesting_fault(path) {
            return Err(ModelError::format(path, fault));
        }
    }
    let owned = path.to_path_buf();
    let top = top_level_key.map(str::to_string);
    let read = std::panic::catch_unwind(move || match format {
        WeightsFormat::Safetensors => {
            let mut store = SafetensorsStore::from_file(&owned)
                .map_indices_contiguous(false)
                .remap(remapper);
            collect(&mut store)
        }
        WeightsFormat::Pytorch => {
            let mut store = PytorchStore::from_file(&owned)
                .map_indices_contiguous(false)
                .remap(remapper);
            if let Some(k) = top {
                store = store.with_top_level_key(k);
            }
            collect(&mut store)
        }
    });
    match read {
        Ok(Ok(map)) if map.is_empty() => Err(ModelError::format(path, "holds no tensors")),
        Ok(Ok(map)) => Ok(map),
        Ok(Err(fault)) => Err(ModelError::format(path, explain(format, &fault))),
        Err(p) => Err(ModelError::format(
            path,
            explain(format, &crate::device::panic_message(&p)),
        )),
    }
}

fn collect<S: ModuleStore>(store: &mut S) -> std::result::Result<StateDict, String>
where
    S::Error: std::fmt::Display,
{
    let tensors = store.get_all_tensors().map_err(|e| e.to_string())?;
    tensors
        .iter()
        .map(|(k, t)| {
            bridge::to_data(t)
                .map(|d| (k.clone(), d))
                .map_err(|e| format!("tensor `{k}`: {e}"))
        })
        .collect()
}

/// A `.pt` whose top level is not a flat `state_dict`: a whole pickled module (the reader
/// unfolds it into nested dictionaries) or a checkpoint holding the `state_dict` under a key.
fn nesting_fault(path: &Path) -> Option<String> {
    let owned = path.to_path_buf();
    let value = std::panic::catch_unwind(move || PytorchReader::read_pickle_data(&owned, None))
        .ok()?
        .ok()?;
    let PickleValue::Dict(mut root) = value else {
        return None;
    };
    // `state_dict()` is an OrderedDict carrying PyTorch's per-module version numbers.
    root.remove("_metadata");
    let is_dict = |v: &PickleValue| matches!(v, PickleValue::Dict(_));
    let is_tensor =
        |v: &PickleValue| matches!(v, PickleValue::Unsupported(t) if t.contains("Tensor"));
    let mut dicts: Vec<&String> = root.keys().filter(|k| is_dict(&root[*k])).collect();
    if dicts.is_empty() {
        return None;
    }
    dicts.sort_by_key(|k| {
        let preferred = ["state_dict", "model_state_dict", "model", "net", "module"];
        (
            preferred
                .iter()
                .position(|p| p == k)
                .unwrap_or(preferred.len()),
            (*k).clone(),
        )
    });
    // A checkpoint also holds plain values (an epoch, a loss, a config); a module only
    // sub-modules and tensors.
    if root.values().any(|v| !is_dict(v) && !is_tensor(v)) {
        let key = dicts[0];
        return Some(format!(
            "a checkpoint with entries {}, not a state_dict: pass --top-level-key {key}",
            dicts
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Some(
        "not a state_dict: this is a whole pickled model (torch.save(model)); save \
         torch.save(model.state_dict(), path) instead"
            .to_string(),
    )
}

/// Turns a reader's message into a one-line diagnosis.
fn explain(format: WeightsFormat, fault: &str) -> String {
    let line = one_line(fault);
    match format {
        WeightsFormat::Pytorch => {
            format!("cannot read the PyTorch file (truncated, or not made by torch.save?): {line}")
        }
        WeightsFormat::Safetensors => {
            format!("cannot read the SafeTensors file (truncated or corrupt?): {line}")
        }
    }
}

/// True for floating-point dtypes a weight may be stored in.
pub fn is_float(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::F64 | DType::F32 | DType::F16 | DType::BF16 | DType::Flex32
    )
}
