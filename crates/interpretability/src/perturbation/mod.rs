//! Perturbation attributions: each file implements [`Attribution`](crate::Attribution) for one
//! method that replaces parts of the input by a baseline and credits the drop of the target
//! logit to them.
//!
//! - `occlusion.rs`: sliding windows (Zeiler & Fergus 2014), and the grouped ablation both
//!   methods share;
//! - `feature_ablation.rs`: one feature (or one group of a feature mask) at a time;
//! - `baseline.rs`: the baseline a run's data calls for (0 for images, training means for
//!   tables), used by the commands for occlusion, IG and the deletion curves.

mod baseline;
mod feature_ablation;
mod occlusion;

pub use baseline::perturbation_baseline;
pub use feature_ablation::{FeatureAblation, FeatureAblationConfig};
pub use occlusion::{Occlusion, OcclusionConfig};
