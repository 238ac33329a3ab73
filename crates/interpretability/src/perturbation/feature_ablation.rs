//! Feature ablation, as Captum's `FeatureAblation`: each feature (or each group of a feature
//! mask) is replaced by a baseline and the drop of the target logit `f(x) − f(x_ablated)` is its
//! attribution (shared by all features of a group). The ablated copies of a row are evaluated
//! as batches.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;

use super::occlusion::group_ablation;
use crate::attribution::{Attribution, Attributions, check_batch, check_positive};
use crate::error::{InterpretError, Result};

/// Feature-ablation hyper-parameters.
#[derive(Config, Debug)]
pub struct FeatureAblationConfig {
    /// Replacement values: one for all features, or one per feature (e.g. training means).
    #[config(default = "vec![0.0]")]
    pub baseline: Vec<f32>,
    /// Group id per feature (features with equal ids are ablated together); empty: every
    /// feature alone.
    #[config(default = "Vec::new()")]
    pub feature_mask: Vec<usize>,
    /// Ablated copies per forward pass.
    #[config(default = 512)]
    pub batch_size: usize,
}

/// Ablation of single features or feature groups.
#[derive(Debug, Clone)]
pub struct FeatureAblation {
    config: FeatureAblationConfig,
}

impl FeatureAblation {
    /// Validates the configuration.
    pub fn new(config: FeatureAblationConfig) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        if config.baseline.is_empty() {
            return Err(InterpretError::invalid(
                "baseline",
                "needs at least one value",
            ));
        }
        Ok(Self { config })
    }
}

impl Attribution for FeatureAblation {
    fn name(&self) -> String {
        "feature-ablation".into()
    }

    fn attribute<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Attributions> {
        let (n, f) = check_batch(model, x, targets)?;
        if self.config.baseline.len() != 1 && self.config.baseline.len() != f {
            return Err(InterpretError::Shape(format!(
                "baseline has {} values, need 1 or {f}",
                self.config.baseline.len()
            )));
        }
        let groups: Vec<Vec<usize>> = if self.config.feature_mask.is_empty() {
            (0..f).map(|j| vec![j]).collect()
        } else {
            if self.config.feature_mask.len() != f {
                return Err(InterpretError::Shape(format!(
                    "feature_mask has {} entries, need {f}",
                    self.config.feature_mask.len()
                )));
            }
            let k = self.config.feature_mask.iter().max().map_or(0, |m| m + 1);
            let mut g = vec![Vec::new(); k];
            for (j, &id) in self.config.feature_mask.iter().enumerate() {
                g[id].push(j);
            }
            g.into_iter().filter(|g| !g.is_empty()).collect()
        };
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
    use crate::attribution::{ModelOutput, target_outputs};

    #[test]
    fn grouped_ablation_of_a_linear_model_sums_the_group_contributions() {
        let dev = Device::flex();
        let m = linear_model(3, 2, 8);
        let x = [1.0, 2.0, -1.0];
        let base = vec![0.5, 0.5, 0.5];
        let a = FeatureAblation::new(FeatureAblationConfig::new().with_baseline(base.clone()))
            .unwrap()
            .attribute(&m, &x, &[0], &dev)
            .unwrap();
        let fx = target_outputs(&m, &x, &[0], ModelOutput::Logit, 4, &dev)[0];
        let fb = target_outputs(&m, &base, &[0], ModelOutput::Logit, 4, &dev)[0];
        // Linear: single-feature drops add up to f(x) − f(baseline).
        assert!((a.values.iter().sum::<f32>() - (fx - fb)).abs() < 1e-4);
        let g = FeatureAblation::new(
            FeatureAblationConfig::new()
                .with_baseline(base)
                .with_feature_mask(vec![0, 0, 1]),
        )
        .unwrap()
        .attribute(&m, &x, &[0], &dev)
        .unwrap();
        assert_eq!(g.values[0], g.values[1]);
        assert!((g.values[0] - (a.values[0] + a.values[1])).abs() < 1e-4);
        assert!(
            FeatureAblation::new(FeatureAblationConfig::new().with_feature_mask(vec![0]))
                .unwrap()
                .attribute(&m, &x, &[0], &dev)
                .is_err()
        );
    }
}
