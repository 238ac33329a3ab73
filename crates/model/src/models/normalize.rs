//! Input normalisation kept inside the model, so that every caller works in raw input space.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

/// `(x - mean) / std`, per feature (`mean`/`std` of length `F`) or global (length 1).
///
/// The statistics are parameters that never receive gradients: they are saved with the
/// weights, so a checkpoint carries the standardisation fitted on its training split.
#[derive(Module, Debug)]
pub struct Normalize {
    mean: Param<Tensor<1>>,
    std: Param<Tensor<1>>,
}

impl Normalize {
    /// A normaliser with the given statistics (same length, 1 or `F`). `std` entries that are
    /// zero or not finite are replaced by 1 so that constant features stay finite.
    pub fn new(mean: &[f32], std: &[f32], device: &Device) -> Self {
        assert_eq!(mean.len(), std.len(), "mean and std lengths differ");
        let std: Vec<f32> = std
            .iter()
            .map(|&s| if s.is_finite() && s > 0.0 { s } else { 1.0 })
            .collect();
        let t = |v: Vec<f32>| {
            let n = v.len();
            Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device))
                .set_require_grad(false)
        };
        Self {
            mean: t(mean.to_vec()),
            std: t(std),
        }
    }

    /// The device of the statistics.
    pub fn device(&self) -> Device {
        self.mean.val().device()
    }

    /// Applies the normalisation to a flat batch `[N, F]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mean = self.mean.val().unsqueeze::<2>();
        let std = self.std.val().unsqueeze::<2>();
        (x - mean) / std
    }
}
