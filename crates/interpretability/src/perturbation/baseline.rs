//! The baseline of perturbation methods for a run's data: what "feature removed" means for
//! occlusion, integrated gradients and the deletion / insertion curves.

use aegis_model::LoadedRun;

/// The baseline of perturbation methods: 0 for images, the training means for tabular data.
pub fn perturbation_baseline(run: &LoadedRun) -> Vec<f32> {
    if run.is_image() {
        vec![0.0]
    } else {
        run.train.feature_stats().0
    }
}
