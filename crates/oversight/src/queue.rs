//! The human review queue: the rows the selective classifier rejects, most uncertain first,
//! each with what a reviewer needs (prediction, confidence, conformal set, top attributions,
//! the input itself). Persisted as `queue.jsonl` (one item per line) beside `queue.json` (the
//! metadata: run, model hash, threshold, names), both written atomically.

use std::path::{Path, PathBuf};

use aegis_model::io::{write_atomic, write_json};
use serde::{Deserialize, Serialize};

use crate::confidence::ConfidenceKind;
use crate::error::{OversightError, Result};

/// One attributed input feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureAttribution {
    /// Flat feature index.
    pub feature: usize,
    /// Feature name (tabular) or `pixel_<row>_<col>` (images).
    pub name: String,
    /// The input value.
    pub value: f32,
    /// Its attribution toward the predicted class.
    pub attribution: f32,
}

/// One item of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueItem {
    /// Stable id: `row-<index>`.
    pub id: String,
    /// Row of the run's test split.
    pub index: usize,
    /// The model's prediction.
    pub prediction: usize,
    /// The confidence κ (below the threshold).
    pub confidence: f64,
    /// The predicted class's probability.
    pub probability: f64,
    /// The model's probability of every class (empty in queues written before it was kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probabilities: Vec<f64>,
    /// The conformal prediction set (classes).
    pub conformal_set: Vec<usize>,
    /// The largest attributions by magnitude, largest first.
    pub top_attribution: Vec<FeatureAttribution>,
    /// The full attribution map `[F]` (empty when no attribution method was used).
    #[serde(default)]
    pub attribution: Vec<f32>,
    /// The input `[F]` in raw input space.
    pub features: Vec<f32>,
}

/// `queue.json`: what the queue was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueMeta {
    /// The run directory.
    pub run: PathBuf,
    /// SHA-256 of the run's `model.bpk`.
    pub model_hash: String,
    /// The confidence function.
    pub confidence: ConfidenceKind,
    /// Rows with κ below it are queued (`+∞`, `null` in JSON: every row, when SGR certified no
    /// threshold).
    #[serde(deserialize_with = "crate::sgr::infinity_if_null")]
    pub threshold: f64,
    /// Where the threshold came from (e.g. `sgr r*=0.02 δ=0.001`).
    pub threshold_source: String,
    /// Attribution method of `top_attribution` (`none` when disabled).
    pub attribution_method: String,
    /// Test rows considered.
    pub rows: Vec<usize>,
    /// Rows the model decides alone, with its prediction: `(index, prediction)`.
    pub automatic: Vec<(usize, usize)>,
    /// Shape of one sample (`[1, 28, 28]` or `[F]`).
    pub sample_shape: Vec<usize>,
    /// Feature names (tabular data).
    pub feature_names: Vec<String>,
    /// Class names.
    pub class_names: Vec<String>,
}

/// A queue on disk: `DIR/queue.jsonl` and `DIR/queue.json`.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Metadata.
    pub meta: QueueMeta,
    /// Items, most uncertain first.
    pub items: Vec<QueueItem>,
}

impl Queue {
    /// `DIR/queue.jsonl`.
    pub fn items_path(dir: &Path) -> PathBuf {
        dir.join("queue.jsonl")
    }
    /// `DIR/queue.json`.
    pub fn meta_path(dir: &Path) -> PathBuf {
        dir.join("queue.json")
    }

    /// Writes both files atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| OversightError::io(dir, e))?;
        let mut text = String::new();
        for item in &self.items {
            text.push_str(
                &serde_json::to_string(item)
                    .map_err(|e| OversightError::invalid("queue", e.to_string()))?,
            );
            text.push('\n');
        }
        write_atomic(&Self::items_path(dir), text.as_bytes())?;
        write_json(&Self::meta_path(dir), &self.meta)?;
        Ok(())
    }

    /// Reads a queue directory, validating every line (errors name the file and line).
    pub fn load(dir: &Path) -> Result<Self> {
        let meta_path = Self::meta_path(dir);
        let text =
            std::fs::read_to_string(&meta_path).map_err(|e| OversightError::io(&meta_path, e))?;
        let meta: QueueMeta = serde_json::from_str(&text)
            .map_err(|e| OversightError::bad_line(&meta_path, e.line(), e.to_string()))?;
        let path = Self::items_path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| OversightError::io(&path, e))?;
        let dim: usize = meta.sample_shape.iter().product();
        let classes = meta.class_names.len();
        let mut items = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item: QueueItem = serde_json::from_str(line).map_err(|e| {
                OversightError::bad_line(&path, i + 1, format!("not a queue item: {e}"))
            })?;
            if item.features.len() != dim {
                return Err(OversightError::bad_line(
                    &path,
                    i + 1,
                    format!(
                        "{} features, the queue's samples have {dim}",
                        item.features.len()
                    ),
                ));
            }
            if classes > 0 && !item.probabilities.is_empty() && item.probabilities.len() != classes
            {
                return Err(OversightError::bad_line(
                    &path,
                    i + 1,
                    format!(
                        "{} probabilities, the queue has {classes} classes",
                        item.probabilities.len()
                    ),
                ));
            }
            if classes > 0 && item.prediction >= classes {
                return Err(OversightError::bad_line(
                    &path,
                    i + 1,
                    format!(
                        "prediction {} is not one of the {classes} classes",
                        item.prediction
                    ),
                ));
            }
            items.push(item);
        }
        Ok(Self { meta, items })
    }
}

/// The `k` largest `|attribution|` features, largest first, named by `names` (or
/// `pixel_<r>_<c>` for images of `shape` `[1, H, W]`).
pub fn top_attributions(
    attribution: &[f32],
    features: &[f32],
    k: usize,
    shape: &[usize],
    names: &[String],
) -> Vec<FeatureAttribution> {
    let mut idx: Vec<usize> = (0..attribution.len()).collect();
    idx.sort_by(|&a, &b| {
        attribution[b]
            .abs()
            .total_cmp(&attribution[a].abs())
            .then(a.cmp(&b))
    });
    idx.truncate(k);
    idx.into_iter()
        .map(|j| FeatureAttribution {
            feature: j,
            name: names.get(j).cloned().unwrap_or_else(|| {
                let w = *shape.last().unwrap_or(&1);
                format!("pixel_{}_{}", j / w.max(1), j % w.max(1))
            }),
            value: features[j],
            attribution: attribution[j],
        })
        .collect()
}

/// A queue of `n` items over three classes and two features, none automatic (tests).
#[cfg(test)]
pub(crate) fn test_queue(n: usize) -> Queue {
    Queue {
        meta: QueueMeta {
            run: "r".into(),
            model_hash: "h".into(),
            confidence: ConfidenceKind::Msp,
            threshold: 0.9,
            threshold_source: "manual".into(),
            attribution_method: "none".into(),
            rows: (0..n).collect(),
            automatic: vec![],
            sample_shape: vec![2],
            feature_names: vec!["a".into(), "b".into()],
            class_names: vec!["cat".into(), "dog".into(), "owl".into()],
        },
        items: (0..n)
            .map(|i| QueueItem {
                id: format!("row-{i}"),
                index: i,
                prediction: 1,
                confidence: 0.5,
                probability: 0.5,
                probabilities: vec![0.25, 0.5, 0.25],
                conformal_set: vec![0, 1],
                top_attribution: vec![],
                attribution: vec![0.1, -0.2],
                features: vec![1.0, 2.0],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize, f: usize) -> QueueItem {
        QueueItem {
            id: format!("row-{i}"),
            index: i,
            prediction: 1,
            confidence: 0.4,
            probability: 0.4,
            probabilities: vec![0.3, 0.4, 0.3],
            conformal_set: vec![1, 2],
            top_attribution: vec![],
            attribution: vec![],
            features: vec![0.5; f],
        }
    }

    fn meta() -> QueueMeta {
        QueueMeta {
            run: "r".into(),
            model_hash: "h".into(),
            confidence: ConfidenceKind::Msp,
            threshold: 0.9,
            threshold_source: "manual".into(),
            attribution_method: "none".into(),
            rows: vec![0, 1],
            automatic: vec![(0, 1)],
            sample_shape: vec![3],
            feature_names: vec!["a".into(), "b".into(), "c".into()],
            class_names: vec!["x".into(), "y".into(), "z".into()],
        }
    }

    #[test]
    fn round_trips_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue {
            meta: meta(),
            items: vec![item(1, 3), item(2, 3)],
        };
        q.save(dir.path()).unwrap();
        let back = Queue::load(dir.path()).unwrap();
        assert_eq!(back.items, q.items);
        assert_eq!(back.meta, q.meta);
        let p = Queue::items_path(dir.path());
        let good = serde_json::to_string(&item(1, 3)).unwrap();
        let short = serde_json::to_string(&item(2, 2)).unwrap();
        std::fs::write(&p, format!("{good}\n{short}\n")).unwrap();
        let e = Queue::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("queue.jsonl") && e.contains("line 2") && e.contains("2 features"),
            "{e}"
        );
    }

    #[test]
    fn top_attributions_sort_by_magnitude_and_name_pixels() {
        let top = top_attributions(
            &[0.1, -0.9, 0.5, 0.0],
            &[1.0, 2.0, 3.0, 4.0],
            2,
            &[1, 2, 2],
            &[],
        );
        assert_eq!(
            top.iter().map(|t| t.feature).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(top[0].name, "pixel_0_1");
        assert_eq!(top[1].name, "pixel_1_0");
        assert_eq!(top[0].value, 2.0);
    }
}
