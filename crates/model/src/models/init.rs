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
use burn::nn::Linear;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded source of initial parameters.
#[derive(Debug)]
pub struct SeededInit {
    rng: ChaCha8Rng,
    mode: Mode,
}

/// What [`SeededInit`] puts in a new parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Uniform values from the seeded stream (training from scratch).
    Random,
    /// Uninitialised values of the right shape (a checkpoint is loaded next).
    Uninit,
    /// One uninitialised value (every parameter is replaced next, shape and all).
    Placeholder,
}

impl SeededInit {
    /// Starts the stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            mode: Mode::Random,
        }
    }

    /// Uninitialised weights, drawing no random numbers: for building a model whose weights
    /// are all loaded right after (a checkpoint, an import), where drawing them is wasted time.
    pub fn for_loading() -> Self {
        Self {
            mode: Mode::Uninit,
            ..Self::new(0)
        }
    }

    /// One-element placeholder parameters: for a model whose every parameter is then replaced
    /// whole (an import), so no memory is allocated for weights that are thrown away.
    pub fn placeholders() -> Self {
        Self {
            mode: Mode::Placeholder,
            ..Self::new(0)
        }
    }

    fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        bound: f32,
        device: &Device,
    ) -> Param<Tensor<D>> {
        match self.mode {
            Mode::Random => {}
            // Uninitialised: every value is overwritten by the load that follows.
            Mode::Uninit => return Param::from_tensor(Tensor::empty(shape, device)),
            Mode::Placeholder => return Param::from_tensor(Tensor::empty([1; D], device)),
        }
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| self.rng.random_range(-bound..=bound))
            .collect();
        Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
    }

    /// A `Linear(d_in → d_out)` layer with a bias (burn stores the weight as `[d_in, d_out]`).
    pub fn linear(&mut self, d_in: usize, d_out: usize, device: &Device) -> Linear {
        self.linear_with_bias(d_in, d_out, true, device)
    }

    /// A `Linear(d_in → d_out)` layer, with or without a bias.
    pub fn linear_with_bias(
        &mut self,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Linear {
        // Built from its parts: Burn's own initialiser would draw weights only to discard them.
        let bound = 1.0 / (d_in as f32).sqrt();
        Linear {
            weight: self.uniform([d_in, d_out], bound, device),
            bias: bias.then(|| self.uniform([d_out], bound, device)),
        }
    }

    /// A 2-D convolution built from `config` (its groups and bias honoured), weight
    /// `[out, in / groups, kh, kw]`, fan-in `in / groups · kh · kw`.
    pub fn conv2d(&mut self, config: Conv2dConfig, device: &Device) -> Conv2d {
        let [c_in, c_out] = config.channels;
        let [kh, kw] = config.kernel_size;
        let per_group = c_in / config.groups.max(1);
        assert!(
            c_in % config.groups.max(1) == 0 && c_out % config.groups.max(1) == 0,
            "groups must divide both channel counts"
        );
        let bound = 1.0 / ((per_group * kh * kw) as f32).sqrt();
        Conv2d {
            weight: self.uniform([c_out, per_group, kh, kw], bound, device),
            bias: config.bias.then(|| self.uniform([c_out], bound, device)),
            stride: config.stride,
            kernel_size: config.kernel_size,
            dilation: config.dilation,
            groups: config.groups,
            padding: config.padding,
        }
    }

    /// A seed for a dependent stream (e.g. a dropout layer's masks).
    pub fn fork_seed(&mut self) -> u64 {
        self.rng.next_u64()
    }
}
