//! Export: a sequential model's parameters under their PyTorch `state_dict` keys and in
//! PyTorch's layouts, written as `.safetensors` (atomically), with the spec that rebuilds it,
//! so `model.load_state_dict(safetensors.torch.load_file(path))` works in PyTorch and
//! import → export → import is bit-exact.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::tensor::{DType, TensorData};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

use crate::error::{ModelError, Result};
use crate::io::write_atomic;
use crate::models::sequential::builtin::as_sequential;
use crate::models::sequential::torch::export_params;
use crate::models::sequential::{LayerKind, LayerSpec};
use crate::models::{Model, ModelConfig, SequentialSpec};

/// The spec to give PyTorch users and the parameters of `model` (built from `config`) by
/// `state_dict` key; a built-in model goes through its spec ([`as_sequential`]). A run's own input normalisation (tabular standardisation) becomes a
/// leading `normalize` layer, so the exported model takes the same raw inputs.
pub fn state_dict_of(
    model: &Model,
    config: &ModelConfig,
) -> Result<(SequentialSpec, Vec<(String, TensorData)>)> {
    let converted;
    let (seq, spec) = match (model, &config.spec) {
        (Model::Sequential(seq), Some(spec)) => (seq, spec),
        _ => {
            converted = as_sequential(model, config).ok_or_else(|| {
                ModelError::invalid("run", "a sequential model without its spec in config.json")
            })?;
            (&converted.0, &converted.1)
        }
    };
    let params = export_params(seq, spec);
    let identity =
        config.input_mean.iter().all(|&m| m == 0.0) && config.input_std.iter().all(|&s| s == 1.0);
    if identity {
        return Ok((spec.clone(), params));
    }
    let mut spec = spec.clone();
    let std = config
        .input_std
        .iter()
        .map(|&s| f64::from(if s.is_finite() && s > 0.0 { s } else { 1.0 }))
        .collect();
    let norm = LayerSpec {
        kind: LayerKind::Normalize {
            mean: config.input_mean.iter().map(|&m| f64::from(m)).collect(),
            std,
        },
        name: Some("input_normalize".into()),
    };
    spec.layers.insert(0, norm);
    spec.output_classes().map_err(|e| {
        ModelError::invalid(
            "run",
            format!("its input normalisation cannot be exported as a layer: {e}"),
        )
    })?;
    // Inserting a layer shifts the positional names: keep the old ones explicitly.
    let shifted = spec.layers.iter_mut().enumerate().skip(1);
    for (i, layer) in shifted {
        if layer.name.is_none() {
            layer.name = Some((i - 1).to_string());
        }
    }
    Ok((spec, params))
}

fn dtype(d: DType) -> Result<Dtype> {
    match d {
        DType::F32 => Ok(Dtype::F32),
        DType::I64 => Ok(Dtype::I64),
        other => Err(ModelError::invalid(
            "export",
            format!("unexpected dtype {other:?}"),
        )),
    }
}

/// Writes `params` as a `.safetensors` file at `path` (temp file, fsync, rename), with
/// `metadata` in its header.
pub fn export_safetensors(
    params: &[(String, TensorData)],
    metadata: HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    let views = params
        .iter()
        .map(|(k, d)| {
            TensorView::new(dtype(d.dtype())?, d.shape().to_vec(), d.as_bytes())
                .map(|v| (k.clone(), v))
                .map_err(|e| ModelError::invalid("export", format!("`{k}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, Some(metadata.clone()))
        .map_err(|e| ModelError::format(path, e.to_string()))?;
    write_atomic(path, &with_sorted_metadata(bytes, &metadata))
}

/// safetensors writes the header's `__metadata__` in the `HashMap`'s iteration order, which
/// changes from process to process; this writes it again with its keys sorted (the same
/// length and meaning), so the same weights always give the same bytes. The header is
/// `{"__metadata__":{…},…}` after its 8-byte length; anything else is left as it is.
fn with_sorted_metadata(mut bytes: Vec<u8>, metadata: &HashMap<String, String>) -> Vec<u8> {
    const PREFIX: &[u8] = b"{\"__metadata__\":";
    let sorted: BTreeMap<&String, &String> = metadata.iter().collect();
    let Ok(sorted) = serde_json::to_vec(&sorted) else {
        return bytes;
    };
    let (start, end) = (8 + PREFIX.len(), 8 + PREFIX.len() + sorted.len());
    let written = bytes
        .get(start..end)
        .and_then(|s| serde_json::from_slice::<HashMap<String, String>>(s).ok());
    if bytes.get(8..start) == Some(PREFIX) && written.as_ref() == Some(metadata) {
        bytes[start..end].copy_from_slice(&sorted);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tensors_and_metadata_give_the_same_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let params = vec![(
            "w".to_string(),
            TensorData::new(vec![1.0f32, 2.0, 3.0], [3]),
        )];
        let metadata = || -> HashMap<String, String> {
            (0..8)
                .map(|i| (format!("key{i}"), format!("{i}")))
                .collect()
        };
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        export_safetensors(&params, metadata(), &a).unwrap();
        export_safetensors(&params, metadata(), &b).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(bytes, std::fs::read(&b).unwrap());
        let header = String::from_utf8_lossy(&bytes[8..]);
        assert!(
            header.starts_with(r#"{"__metadata__":{"key0":"0","key1":"1","key2":"2""#),
            "{header}"
        );
    }
}
