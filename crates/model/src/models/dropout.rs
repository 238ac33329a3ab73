//! Dropout with a seeded host-side mask stream.

use std::sync::{Arc, Mutex};

use burn::module::{Flag, Module, Param};
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Inverted dropout (Srivastava et al. 2014): in training, each element is zeroed with
/// probability `prob` and the survivors are scaled by `1 / (1 - prob)`; in inference it is the
/// identity.
///
/// Unlike burn's `Dropout`, masks come from a `ChaCha8Rng` owned by the layer, so a seed
/// reproduces a training run exactly on every device and in a multi-threaded process. Active
/// when the layer's training flag is on (cleared by `Module::valid()`) and the input is on an
/// autodiff device, as burn's layer, or always when [`Dropout::with_always_on`] says so
/// (Monte-Carlo dropout at inference).
#[derive(Module, Debug)]
pub struct Dropout {
    /// Probability of zeroing an element.
    pub prob: f64,
    training: Param<Flag>,
    #[module(skip)]
    always_on: bool,
    #[module(skip)]
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl Dropout {
    /// A dropout layer with its own mask stream seeded by `seed`.
    pub fn new(prob: f64, seed: u64) -> Self {
        assert!(
            (0.0..1.0).contains(&prob),
            "dropout probability {prob} not in [0, 1)"
        );
        Self {
            prob,
            training: Param::from_bool(true),
            always_on: false,
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }

    /// Keeps dropout active even in inference mode (for MC dropout) when `on`.
    pub fn with_always_on(mut self, on: bool) -> Self {
        self.always_on = on;
        self
    }

    /// Re-seeds the mask stream.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Where the mask stream stands (saved with a resume point).
    pub fn stream(&self) -> DropoutStream {
        let rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        DropoutStream {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Continues the mask stream from `at` (what [`Dropout::stream`] returned).
    pub fn set_stream(&self, at: &DropoutStream) -> Result<(), String> {
        let bad = || format!("dropout stream {at:?} is not a ChaCha8 state");
        let hex = at.seed.as_bytes();
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut seed = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            seed[i] = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        let word_pos: u128 = at.word_pos.parse().map_err(|_| bad())?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(at.stream);
        rng.set_word_pos(word_pos);
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = rng;
        Ok(())
    }

    /// Applies dropout to any tensor.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let active = self.always_on || (self.training.is_enabled() && input.device().is_autodiff());
        if !active || self.prob == 0.0 {
            return input;
        }
        let keep = 1.0 - self.prob;
        let shape = input.shape();
        let n = shape.num_elements();
        let scale = (1.0 / keep) as f32;
        let mask: Vec<f32> = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            (0..n)
                .map(|_| if rng.random_bool(keep) { scale } else { 0.0 })
                .collect()
        };
        let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &input.device());
        input * mask
    }
}

/// A dropout layer's mask-stream position: its ChaCha8 seed, stream and word position, enough
/// to continue the stream exactly (in a resume point's `state.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutStream {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// The ChaCha stream number.
    pub stream: u64,
    /// The position in 32-bit words, in decimal (a `u128`).
    pub word_pos: String,
}
