//! Seeded layer construction, independent of the backend's random generator.
//!
//! Burn draws initial weights from the device's RNG, which is global per backend, differs
//! between backends and is shared by every thread of the process. Aegis draws them on the host
//! from `ChaCha8Rng(seed)` instead, so a seed gives the same initial model on flex, ndarray,
//! wgpu and cuda, and concurrent trainings in one process cannot disturb each other.
//!
//! Distribution: PyTorch's default for `nn.Linear` / `nn.Conv2d` (Kaiming-uniform with
//! a = √5): weights and biases uniform in `[-1/√fan_in, 1/√fan_in]`.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded source of initial parameters.
#[derive(Debug)]
pub struct SeededInit {
    rng: ChaCha8Rng,
}

impl SeededInit {
    /// Starts the stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        bound: f32,
        device: &Device,
    ) -> Param<Tensor<D>> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| self.rng.random_range(-bound..=bound))
            .collect();
        Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
    }

    /// A `Linear(d_in → d_out)` layer (burn stores the weight as `[d_in, d_out]`).
    pub fn linear(&mut self, d_in: usize, d_out: usize, device: &Device) -> Linear {
        let mut layer = LinearConfig::new(d_in, d_out).init(device);
        let bound = 1.0 / (d_in as f32).sqrt();
        layer.weight = self.uniform([d_in, d_out], bound, device);
        layer.bias = Some(self.uniform([d_out], bound, device));
        layer
    }

    /// A 2-D convolution built from `config` (groups = 1), weight `[out, in, kh, kw]`.
    pub fn conv2d(&mut self, config: Conv2dConfig, device: &Device) -> Conv2d {
        let [c_in, c_out] = config.channels;
        let [kh, kw] = config.kernel_size;
        let mut layer = config.init(device);
        let bound = 1.0 / ((c_in * kh * kw) as f32).sqrt();
        layer.weight = self.uniform([c_out, c_in, kh, kw], bound, device);
        layer.bias = Some(self.uniform([c_out], bound, device));
        layer
    }

    /// A seed for a dependent stream (e.g. a dropout layer's masks).
    pub fn fork_seed(&mut self) -> u64 {
        self.rng.next_u64()
    }
}
