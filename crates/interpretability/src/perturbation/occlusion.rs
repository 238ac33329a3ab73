//! Occlusion (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks"),
//! as Captum's `Occlusion`: a window slides over the sample (shape `input_shape` of the model,
//! e.g. `[1, 28, 28]`), every position is replaced by a baseline value, and the drop of the
//! target logit `f(x) − f(x_occluded)` is credited to every feature under the window; each
//! feature's attribution is the average over the windows that cover it (features no window
//! covers get 0). All window positions of a row are evaluated as batches.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;

use crate::attribution::{
    Attribution, Attributions, ModelOutput, check_batch, check_positive, target_outputs,
};
use crate::error::{InterpretError, Result};

/// Occlusion hyper-parameters.
#[derive(Config, Debug)]
pub struct OcclusionConfig {
    /// Window extent per trailing dimension of the sample shape (e.g. `[4, 4]` for a `[1, 28, 28]`
    /// image: leading dimensions not given, such as channels, are covered entirely).
    #[config(default = "vec![4, 4]")]
    pub window: Vec<usize>,
    /// Stride per trailing dimension (same length as `window`).
    #[config(default = "vec![2, 2]")]
    pub stride: Vec<usize>,
    /// Values written under the window: one for all features, or one per feature.
    #[config(default = "vec![0.0]")]
    pub baseline: Vec<f32>,
    /// Occluded copies per forward pass.
    #[config(default = 512)]
    pub batch_size: usize,
}

/// Sliding-window occlusion of the target logit.
#[derive(Debug, Clone)]
pub struct Occlusion {
    config: OcclusionConfig,
}

impl Occlusion {
    /// Validates the configuration (the window is checked against the model's shape when used).
    pub fn new(config: OcclusionConfig) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        if config.baseline.is_empty() {
            return Err(InterpretError::invalid(
                "baseline",
                "needs at least one value",
            ));
        }
        if config.window.is_empty() || config.window.len() != config.stride.len() {
            return Err(InterpretError::invalid(
                "window/stride",
                "must be non-empty and of equal length",
            ));
        }
        if config.window.contains(&0) || config.stride.contains(&0) {
            return Err(InterpretError::invalid(
                "window/stride",
                "entries must be ≥ 1",
            ));
        }
        Ok(Self { config })
    }

    /// Flat feature indices covered by each window position for samples of `shape`.
    pub fn windows(&self, shape: &[usize]) -> Result<Vec<Vec<usize>>> {
        let k = self.config.window.len();
        if k > shape.len() {
            return Err(InterpretError::Shape(format!(
                "window of rank {k} for samples of shape {shape:?}"
            )));
        }
        let lead = shape.len() - k;
        let mut win = shape[..lead].to_vec();
        win.extend(&self.config.window);
        let mut stride = shape[..lead].to_vec();
        stride.extend(&self.config.stride);
        for (d, (&s, &w)) in shape.iter().zip(&win).enumerate() {
            if w > s {
                return Err(InterpretError::invalid(
                    "window",
                    format!("extent {w} exceeds dimension {d} of size {s}"),
                ));
            }
        }
        let counts: Vec<usize> = (0..shape.len())
            .map(|d| (shape[d] - win[d]) / stride[d].max(1) + 1)
            .collect();
        let total: usize = counts.iter().product();
        let mut strides_flat = vec![1usize; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides_flat[d] = strides_flat[d + 1] * shape[d + 1];
        }
        let mut out = Vec::with_capacity(total);
        for pos in 0..total {
            // Start corner of this window.
            let mut rem = pos;
            let mut corner = vec![0usize; shape.len()];
            for d in (0..shape.len()).rev() {
                corner[d] = (rem % counts[d]) * stride[d];
                rem /= counts[d];
            }
            let cells: usize = win.iter().product();
            let mut idx = Vec::with_capacity(cells);
            for c in 0..cells {
                let mut rem = c;
                let mut flat = 0;
                for d in (0..shape.len()).rev() {
                    flat += (corner[d] + rem % win[d]) * strides_flat[d];
                    rem /= win[d];
                }
                idx.push(flat);
            }
            out.push(idx);
        }
        Ok(out)
    }
}

/// Perturbation attribution shared by occlusion and feature ablation: for each row and each
/// feature group, `f(x) − f(x with the group set to the baseline)` is credited to the group's
/// features, divided by the number of groups covering the feature.
pub(crate) fn group_ablation<M: Classifier>(
    model: &M,
    x: &[f32],
    targets: &[usize],
    groups: &[Vec<usize>],
    baseline: &[f32],
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    let n = targets.len();
    let f = model.input_dim();
    let base = |j: usize| baseline[if baseline.len() == 1 { 0 } else { j }];
    let mut count = vec![0f32; f];
    for g in groups {
        for &j in g {
            count[j] += 1.0;
        }
    }
    let fx = target_outputs(model, x, targets, ModelOutput::Logit, batch_size, device);
    let mut values = vec![0f32; n * f];
    for i in 0..n {
        let row = &x[i * f..(i + 1) * f];
        for chunk in groups.chunks(batch_size.max(1)) {
            let mut batch = Vec::with_capacity(chunk.len() * f);
            for g in chunk {
                let start = batch.len();
                batch.extend_from_slice(row);
                for &j in g {
                    batch[start + j] = base(j);
                }
            }
            let y = target_outputs(
                model,
                &batch,
                &[targets[i]],
                ModelOutput::Logit,
                batch_size,
                device,
            );
            for (g, yv) in chunk.iter().zip(y) {
                for &j in g {
                    values[i * f + j] += fx[i] - yv;
                }
            }
        }
        for j in 0..f {
            if count[j] > 0.0 {
                values[i * f + j] /= count[j];
            }
        }
    }
    values
}

impl Attribution for Occlusion {
    fn name(&self) -> String {
        "occlusion".into()
    }

    fn attribute<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Attributions> {
        let (n, f) = check_batch(model, x, targets)?;
        let groups = self.windows(model.input_shape())?;
        if self.config.baseline.len() != 1 && self.config.baseline.len() != f {
            return Err(InterpretError::Shape(format!(
                "baseline has {} values, need 1 or {f}",
                self.config.baseline.len()
            )));
        }
        let model = model.valid();
        let values = group_ablation(
            &model,
            x,
            targets,
            &groups,
            &self.config.baseline,
            self.config.batch_size,
            device,
        );
        Ok(Attributions::new(values, n, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::linear_model;

    #[test]
    fn windows_tile_an_image_like_captum() {
        let occ = Occlusion::new(
            OcclusionConfig::new()
                .with_window(vec![2, 2])
                .with_stride(vec![2, 2]),
        )
        .unwrap();
        let w = occ.windows(&[1, 4, 4]).unwrap();
        // (4 − 2)/2 + 1 = 2 positions per axis.
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], vec![0, 1, 4, 5]);
        assert_eq!(w[3], vec![10, 11, 14, 15]);
        let overlapping = Occlusion::new(
            OcclusionConfig::new()
                .with_window(vec![3])
                .with_stride(vec![1]),
        )
        .unwrap();
        assert_eq!(overlapping.windows(&[5]).unwrap().len(), 3);
        assert!(
            Occlusion::new(OcclusionConfig::new().with_window(vec![9, 9]))
                .unwrap()
                .windows(&[1, 4, 4])
                .is_err()
        );
    }

    #[test]
    fn unit_window_on_a_linear_model_gives_weight_times_input() {
        // With 1-wide windows and baseline 0, f(x) − f(x with x_j = 0) = w_j x_j exactly.
        let dev = Device::flex();
        let m = linear_model(4, 2, 3);
        let x = [1.0, -2.0, 0.5, 3.0];
        let occ = Occlusion::new(
            OcclusionConfig::new()
                .with_window(vec![1])
                .with_stride(vec![1])
                .with_batch_size(3),
        )
        .unwrap();
        let a = occ.attribute(&m, &x, &[1], &dev).unwrap();
        let gx = crate::gradient::GradientXInput::new(crate::gradient::GradientXInputConfig::new())
            .unwrap()
            .attribute(&m, &x, &[1], &dev)
            .unwrap();
        for j in 0..4 {
            assert!(
                (a.values[j] - gx.values[j]).abs() < 1e-4,
                "{} vs {}",
                a.values[j],
                gx.values[j]
            );
        }
    }
}
