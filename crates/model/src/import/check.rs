//! Checking a `state_dict` against what a spec expects, before anything is loaded: every
//! missing key, unexpected key, shape mismatch and non-float dtype is listed in one line, so
//! an import is all or nothing (never a silent partial load).

use std::collections::BTreeMap;

use burn::tensor::TensorData;

use super::weights::{StateDict, is_float};
use crate::models::sequential::torch::{NUM_BATCHES_TRACKED, TorchParam};

/// At most this many keys are named per kind of fault (the count is always given).
const SHOW: usize = 8;

/// What is wrong between a `state_dict` and the expected parameters (empty: it fits).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KeyReport {
    /// Expected keys absent from the file.
    pub missing: Vec<String>,
    /// Keys in the file that no layer takes.
    pub unexpected: Vec<String>,
    /// `(key, expected, found)` shapes that differ.
    pub shape_mismatches: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// `(key, dtype)` of parameters that are not floating point.
    pub bad_dtypes: Vec<(String, String)>,
}

impl KeyReport {
    /// True when the file fits exactly.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.shape_mismatches.is_empty()
            && self.bad_dtypes.is_empty()
    }

    /// One line: each kind of fault with its count and the first keys.
    pub fn describe(&self) -> String {
        fn list<T>(what: &str, items: &[T], show: impl Fn(&T) -> String) -> Option<String> {
            if items.is_empty() {
                return None;
            }
            let mut names: Vec<String> = items.iter().take(SHOW).map(show).collect();
            if items.len() > SHOW {
                names.push(format!("… {} more", items.len() - SHOW));
            }
            Some(format!("{} {what}: {}", items.len(), names.join(", ")))
        }
        [
            list("missing keys", &self.missing, |k| format!("`{k}`")),
            list("unexpected keys", &self.unexpected, |k| format!("`{k}`")),
            list("shape mismatches", &self.shape_mismatches, |(k, e, f)| {
                format!("`{k}` expected {e:?} found {f:?}")
            }),
            list("non-float weights", &self.bad_dtypes, |(k, d)| {
                format!("`{k}` is {d}")
            }),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
    }
}

/// True for the batch-norm step counters PyTorch stores beside the statistics.
fn is_counter(key: &str, expected: &BTreeMap<&str, &TorchParam>) -> bool {
    key.strip_suffix(NUM_BATCHES_TRACKED)
        .and_then(|p| p.strip_suffix('.'))
        .is_some_and(|prefix| expected.contains_key(format!("{prefix}.running_mean").as_str()))
}

/// Compares the file's tensors with the expected parameters.
pub fn check_keys(found: &StateDict, expected: &[TorchParam]) -> KeyReport {
    let by_key: BTreeMap<&str, &TorchParam> =
        expected.iter().map(|p| (p.key.as_str(), p)).collect();
    let mut report = KeyReport::default();
    for p in expected {
        match found.get(&p.key) {
            None => report.missing.push(p.key.clone()),
            Some(t) if t.shape().as_slice() != p.shape.as_slice() => report
                .shape_mismatches
                .push((p.key.clone(), p.shape.clone(), t.shape().to_vec())),
            Some(t) if !is_float(t.dtype()) => report
                .bad_dtypes
                .push((p.key.clone(), format!("{:?}", t.dtype()).to_lowercase())),
            Some(_) => {}
        }
    }
    for key in found.keys() {
        if !by_key.contains_key(key.as_str()) && !is_counter(key, &by_key) {
            report.unexpected.push(key.clone());
        }
    }
    report
}

/// The expected tensors of `found` converted to `f32` (counters and anything else dropped).
pub fn to_f32(found: StateDict, expected: &[TorchParam]) -> BTreeMap<String, TensorData> {
    let mut found = found;
    expected
        .iter()
        .filter_map(|p| {
            found
                .remove(&p.key)
                .map(|t| (p.key.clone(), t.convert::<f32>()))
        })
        .collect()
}
