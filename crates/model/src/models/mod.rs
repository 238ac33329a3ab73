//! Model layer: one architecture per file, each implementing [`Classifier`] (flat `[N, F]`
//! raw inputs to logits `[N, C]`), and the [`Model`] enum that wraps them; the layers they
//! share (input normalisation, seeded dropout, seeded initialisation), and [`sequential`]:
//! architectures described as data (a JSON spec in PyTorch's vocabulary).

mod dropout;
pub mod graph;
mod init;
mod madry_cnn;
mod mlp;
mod normalize;
pub mod sequential;
mod small_cnn;

pub use dropout::{Dropout, DropoutStream};
pub use graph::{Graph, external_data_files, load_onnx};
pub use init::SeededInit;
pub use madry_cnn::MadryCnn;
pub use mlp::Mlp;
pub use normalize::Normalize;
pub use sequential::{Sequential, SequentialSpec};
pub use small_cnn::SmallCnn;

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use self::sequential::budget::Phase;
use crate::classifier::Classifier;
use crate::error::{ModelError, Result};

/// The number of values of a sample of `shape`; `None` when it overflows `usize`.
fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))
}

/// Which network to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// [`Mlp`]: fully connected, any input shape.
    Mlp,
    /// [`SmallCnn`]: 28×28 single-channel images.
    #[value(name = "smallcnn")]
    SmallCnn,
    /// [`MadryCnn`]: 28×28 single-channel images.
    #[value(name = "madrycnn")]
    MadryCnn,
    /// [`Sequential`]: layers described as data ([`SequentialSpec`], `ModelConfig::spec`);
    /// chosen by `--arch FILE.json`, not by `--model`.
    #[value(skip)]
    Sequential,
    /// [`Graph`]: an imported ONNX graph (`ModelConfig::onnx`, the file in the run
    /// directory); written by `import --onnx`, never trained.
    #[value(skip)]
    Graph,
}

impl Architecture {
    /// The network `train` builds when none is chosen: SmallCnn for images (samples of shape
    /// `[C, H, W]`), the MLP for everything else (tables).
    pub fn default_for(sample_shape: &[usize]) -> Self {
        if sample_shape.len() == 3 {
            Self::SmallCnn
        } else {
            Self::Mlp
        }
    }

    /// The dropout probability used when none is given: 0.5 for SmallCnn (its reference
    /// recipe), 0 otherwise.
    pub fn default_dropout(self) -> f64 {
        match self {
            Self::SmallCnn => 0.5,
            Self::Mlp | Self::MadryCnn | Self::Sequential | Self::Graph => 0.0,
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mlp => "mlp",
            Self::SmallCnn => "smallcnn",
            Self::MadryCnn => "madrycnn",
            Self::Sequential => "sequential",
            Self::Graph => "graph",
        })
    }
}

/// The widest MLP layer [`ModelConfig::validate`] accepts: two such layers already hold 2²⁶
/// weights (with Adam's state, about 1 GB), and wider ones would fail to allocate.
const MAX_HIDDEN_WIDTH: usize = 8192;

/// Everything needed to rebuild a model before loading its weights. Saved in each run's
/// `config.json` under `model`.
#[derive(Config, Debug)]
pub struct ModelConfig {
    /// The network.
    pub architecture: Architecture,
    /// Shape of one sample, e.g. `[1, 28, 28]` or `[30]`.
    pub input_shape: Vec<usize>,
    /// Number of classes.
    pub num_classes: usize,
    /// Hidden widths of the MLP (ignored by the CNNs).
    #[config(default = "vec![128, 64]")]
    pub hidden: Vec<usize>,
    /// Dropout probability (SmallCnn's and the MLP's dropout layers; MadryCnn has none).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Input normalisation mean (length 1 or F). Default: none (`[0]`).
    #[config(default = "vec![0.0]")]
    pub input_mean: Vec<f32>,
    /// Input normalisation standard deviation (length 1 or F). Default: none (`[1]`).
    #[config(default = "vec![1.0]")]
    pub input_std: Vec<f32>,
    /// The layers of a `sequential` architecture (`None` for the built-in ones).
    #[config(default = "None")]
    pub spec: Option<SequentialSpec>,
    /// The ONNX file of a `graph` architecture, relative to the run directory (`model.onnx`;
    /// `None` for the others).
    #[config(default = "None")]
    pub onnx: Option<String>,
}

impl ModelConfig {
    /// Checks that the configuration describes a buildable model.
    pub fn validate(&self) -> Result<()> {
        let f = checked_numel(&self.input_shape).ok_or_else(|| {
            ModelError::invalid("input_shape", "its size overflows the address space")
        })?;
        if f == 0 {
            return Err(ModelError::invalid(
                "input_shape",
                "must be non-empty with no zero",
            ));
        }
        if self.num_classes < 2 {
            return Err(ModelError::invalid(
                "num_classes",
                "need at least 2 classes",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelError::invalid(
                "dropout",
                format!("{:?} not in [0, 1)", self.dropout),
            ));
        }
        if self.input_mean.len() != self.input_std.len()
            || !(self.input_mean.len() == 1 || self.input_mean.len() == f)
        {
            return Err(ModelError::invalid(
                "input_mean/input_std",
                format!("lengths must be equal and 1 or {f}"),
            ));
        }
        if matches!(
            self.architecture,
            Architecture::SmallCnn | Architecture::MadryCnn
        ) && self.input_shape != [1, 28, 28]
            && f != 784
        {
            return Err(ModelError::Incompatible(format!(
                "{} needs 28×28 single-channel images, the data has samples of shape {:?}",
                self.architecture, self.input_shape
            )));
        }
        if self.architecture == Architecture::Mlp
            && let Some(w) = self
                .hidden
                .iter()
                .find(|w| !(1..=MAX_HIDDEN_WIDTH).contains(*w))
        {
            return Err(ModelError::invalid(
                "hidden",
                format!("width {w} is not in [1, {MAX_HIDDEN_WIDTH}]"),
            ));
        }
        self.validate_spec()?;
        match (self.architecture, &self.onnx) {
            (Architecture::Graph, None) => Err(ModelError::invalid(
                "onnx",
                "a graph model needs its ONNX file (`onnx`)",
            )),
            (Architecture::Graph, Some(f)) => {
                let plain = std::path::Path::new(f)
                    .components()
                    .map(|c| matches!(c, std::path::Component::Normal(_)))
                    .eq([true]);
                if plain {
                    Ok(())
                } else {
                    Err(ModelError::invalid(
                        "onnx",
                        format!("{f:?} is not a file name inside the run directory"),
                    ))
                }
            }
            (_, None) => Ok(()),
            (_, Some(_)) => Err(ModelError::invalid(
                "onnx",
                format!(
                    "only graph models take an ONNX file, not {}",
                    self.architecture
                ),
            )),
        }
    }

    /// A `sequential` architecture needs a spec whose shapes check, whose input matches
    /// `input_shape`, whose output matches `num_classes` and whose inference on one row fits
    /// the memory budget ([`sequential::budget`]); the others need none.
    fn validate_spec(&self) -> Result<()> {
        match (self.architecture, &self.spec) {
            (Architecture::Sequential, None) => Err(ModelError::invalid(
                "spec",
                "a sequential model needs its layers (`spec`)",
            )),
            (Architecture::Sequential, Some(spec)) => {
                let classes = spec
                    .output_classes()
                    .map_err(|e| ModelError::invalid("spec", e))?;
                spec.check_uses(&[(Phase::Inference, 1)])
                    .map_err(|e| ModelError::invalid("spec", e))?;
                if checked_numel(&spec.input_shape) != checked_numel(&self.input_shape) {
                    return Err(ModelError::Incompatible(format!(
                        "the spec takes inputs of shape {:?}, the data has samples of shape {:?}",
                        spec.input_shape, self.input_shape
                    )));
                }
                if classes != self.num_classes {
                    return Err(ModelError::Incompatible(format!(
                        "the spec outputs {classes} classes, the data has {}",
                        self.num_classes
                    )));
                }
                Ok(())
            }
            (_, Some(_)) => Err(ModelError::invalid(
                "spec",
                format!(
                    "only sequential models take a spec, not {}",
                    self.architecture
                ),
            )),
            (_, None) => Ok(()),
        }
    }

    /// Builds the model on `device` with initial weights and dropout masks drawn from
    /// `ChaCha8Rng(seed)` (see [`SeededInit`]): the same seed gives the same model and the
    /// same training run on every device.
    pub fn init(&self, device: &Device, seed: u64) -> Result<Model> {
        self.build(device, &mut SeededInit::new(seed))
    }

    /// Builds the model with uninitialised weights, for loading a checkpoint or imported weights into
    /// (no random numbers drawn).
    pub fn init_for_loading(&self, device: &Device) -> Result<Model> {
        self.build(device, &mut SeededInit::for_loading())
    }

    fn build(&self, device: &Device, init: &mut SeededInit) -> Result<Model> {
        self.validate()?;
        let norm = Normalize::new(&self.input_mean, &self.input_std, device);
        Ok(match self.architecture {
            Architecture::Mlp => Model::Mlp(Mlp::new(
                &self.input_shape,
                &self.hidden,
                self.dropout,
                self.num_classes,
                norm,
                init,
                device,
            )),
            Architecture::SmallCnn => Model::SmallCnn(SmallCnn::new(
                self.dropout,
                self.num_classes,
                norm,
                init,
                device,
            )),
            Architecture::MadryCnn => {
                Model::MadryCnn(MadryCnn::new(self.num_classes, norm, init, device))
            }
            Architecture::Sequential => {
                let spec = self.spec.as_ref().expect("validated above");
                Model::Sequential(Sequential::new(spec, self.num_classes, norm, init, device))
            }
            Architecture::Graph => {
                return Err(ModelError::invalid(
                    "architecture",
                    "an ONNX graph is read from its file in the run (RunDir::load_model), not \
                     built or trained from its config",
                ));
            }
        })
    }
}

/// Any Aegis model. Implements [`Classifier`] by delegation.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Model {
    /// See [`Mlp`].
    Mlp(Mlp),
    /// See [`SmallCnn`].
    SmallCnn(SmallCnn),
    /// See [`MadryCnn`].
    MadryCnn(MadryCnn),
    /// See [`Sequential`].
    Sequential(Sequential),
    /// See [`Graph`].
    Graph(Graph),
}

impl Model {
    /// Monte-Carlo dropout (Gal & Ghahramani 2016): with `on`, every dropout layer stays active
    /// in inference mode, drawing masks from streams re-seeded by `seed` (so T passes are
    /// reproducible); with `on == false` the model is deterministic again in inference.
    /// MadryCnn and ONNX graphs (whose Dropout is the identity) have none and are returned
    /// unchanged (check [`Model::dropout_prob`]).
    pub fn with_mc_dropout(self, on: bool, seed: u64) -> Self {
        match self {
            Self::Mlp(m) => Self::Mlp(m.with_mc_dropout(on, seed)),
            Self::SmallCnn(m) => Self::SmallCnn(m.with_mc_dropout(on, seed)),
            Self::MadryCnn(m) => Self::MadryCnn(m),
            Self::Sequential(m) => Self::Sequential(m.with_mc_dropout(on, seed)),
            Self::Graph(m) => Self::Graph(m),
        }
    }

    /// The dropout layers, in network order (none for MadryCnn).
    fn dropouts(&self) -> Vec<&Dropout> {
        match self {
            Self::Mlp(m) => m.dropouts(),
            Self::SmallCnn(m) => m.dropouts(),
            Self::MadryCnn(_) | Self::Graph(_) => Vec::new(),
            Self::Sequential(m) => m.dropouts(),
        }
    }

    /// Where each dropout layer's mask stream stands, in network order (for a resume point).
    pub fn dropout_streams(&self) -> Vec<DropoutStream> {
        self.dropouts().iter().map(|d| d.stream()).collect()
    }

    /// Continues each dropout layer's mask stream from `streams` (what
    /// [`Model::dropout_streams`] returned for the same architecture).
    pub fn set_dropout_streams(
        &self,
        streams: &[DropoutStream],
    ) -> std::result::Result<(), String> {
        let layers = self.dropouts();
        if layers.len() != streams.len() {
            return Err(format!(
                "{} dropout streams recorded, the model has {} dropout layers",
                streams.len(),
                layers.len()
            ));
        }
        layers
            .iter()
            .zip(streams)
            .try_for_each(|(d, s)| d.set_stream(s))
    }

    /// Dropout probability of the model's dropout layers (0 for MadryCnn).
    pub fn dropout_prob(&self) -> f64 {
        match self {
            Self::Mlp(m) => m.dropout_prob(),
            Self::SmallCnn(m) => m.dropout_prob(),
            Self::MadryCnn(_) | Self::Graph(_) => 0.0,
            Self::Sequential(m) => m.dropout_prob(),
        }
    }
}

impl Classifier for Model {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp(m) => m.logits(x),
            Self::SmallCnn(m) => m.logits(x),
            Self::MadryCnn(m) => m.logits(x),
            Self::Sequential(m) => m.logits(x),
            Self::Graph(m) => m.logits(x),
        }
    }
    fn input_shape(&self) -> &[usize] {
        match self {
            Self::Mlp(m) => m.input_shape(),
            Self::SmallCnn(m) => m.input_shape(),
            Self::MadryCnn(m) => m.input_shape(),
            Self::Sequential(m) => m.input_shape(),
            Self::Graph(m) => m.input_shape(),
        }
    }
    fn num_classes(&self) -> usize {
        match self {
            Self::Mlp(m) => m.num_classes(),
            Self::SmallCnn(m) => m.num_classes(),
            Self::MadryCnn(m) => m.num_classes(),
            Self::Sequential(m) => m.num_classes(),
            Self::Graph(m) => m.num_classes(),
        }
    }
}

/// Sum of |w| over every trainable weight matrix or kernel (rank ≥ 2; biases and the frozen
/// normalisation statistics are excluded), as a `[1]` tensor for an L1 penalty.
pub fn l1_norm<M: Module>(module: &M, device: &Device) -> Tensor<1> {
    struct L1 {
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for L1 {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D >= 2 {
                let s = param.val().abs().sum();
                self.total = Some(match self.total.take() {
                    Some(t) => t + s,
                    None => s,
                });
            }
        }
    }
    let mut v = L1 { total: None };
    module.visit(&mut v);
    v.total.unwrap_or_else(|| Tensor::zeros([1], device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::batch_tensor;

    fn cfg(arch: Architecture, shape: Vec<usize>) -> ModelConfig {
        ModelConfig::new(arch, shape, 10)
    }

    #[test]
    fn every_architecture_gives_logits_of_the_right_shape() {
        let device = Device::flex();
        for (arch, shape) in [
            (Architecture::Mlp, vec![5]),
            (Architecture::SmallCnn, vec![1, 28, 28]),
            (Architecture::MadryCnn, vec![1, 28, 28]),
        ] {
            let model = cfg(arch, shape.clone()).init(&device, 0).unwrap();
            let f: usize = shape.iter().product();
            let x = batch_tensor(vec![0.5; 3 * f], 3, f, &device);
            assert_eq!(model.logits(x).dims(), [3, 10], "{arch}");
            assert_eq!(model.input_dim(), f);
        }
    }

    #[test]
    fn parameter_counts_match_the_specification() {
        let device = Device::flex();
        let small = cfg(Architecture::SmallCnn, vec![1, 28, 28])
            .init(&device, 0)
            .unwrap();
        // conv1 16·9+16, conv2 32·16·9+32, fc1 800·128+128, fc2 128·10+10, + norm mean & std.
        let expected = (16 * 9 + 16) + (32 * 16 * 9 + 32) + (800 * 128 + 128) + (128 * 10 + 10) + 2;
        assert_eq!(small.num_params(), expected);
        let madry = cfg(Architecture::MadryCnn, vec![1, 28, 28])
            .init(&device, 0)
            .unwrap();
        let expected =
            (32 * 25 + 32) + (64 * 32 * 25 + 64) + (3136 * 1024 + 1024) + (1024 * 10 + 10) + 2;
        assert_eq!(madry.num_params(), expected);
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let device = Device::flex();
        let c = cfg(Architecture::SmallCnn, vec![1, 28, 28]);
        let x = || batch_tensor(vec![0.3; 784], 1, 784, &device);
        let out = |seed| {
            c.init(&device, seed)
                .unwrap()
                .logits(x())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(out(7), out(7));
        assert_ne!(out(7), out(8));
    }

    #[test]
    fn dropout_is_seeded_active_in_training_and_off_in_inference() {
        let ad = Device::flex().autodiff();
        let x = || Tensor::<2>::ones([4, 1000], &ad);
        let d = Dropout::new(0.5, 3);
        let a = d.forward(x()).into_data().try_to_vec::<f32>().unwrap();
        let zeros = a.iter().filter(|&&v| v == 0.0).count();
        assert!((1700..2300).contains(&zeros), "{zeros} of 4000 dropped");
        assert!(
            a.iter().all(|&v| v == 0.0 || v == 2.0),
            "survivors scaled by 2"
        );
        d.reseed(3);
        assert_eq!(d.forward(x()).into_data().try_to_vec::<f32>().unwrap(), a);
        let v = d.valid();
        assert!(
            v.forward(Tensor::<2>::ones([4, 1000], &Device::flex()))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|&v| v == 1.0)
        );
        let mc = Dropout::new(0.5, 3).with_always_on(true).valid();
        let y = mc
            .forward(Tensor::<2>::ones([4, 1000], &Device::flex()))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(y.contains(&0.0), "MC dropout stays on in inference");
    }

    #[test]
    fn mc_dropout_mode_is_stochastic_seeded_and_reversible() {
        let dev = Device::flex();
        let model = cfg(Architecture::Mlp, vec![30])
            .with_dropout(0.5)
            .init(&dev, 1)
            .unwrap()
            .valid();
        let x = || Tensor::<2>::ones([2, 30], &dev);
        let det = model.logits(x()).into_data().try_to_vec::<f32>().unwrap();
        let mc = model.clone().with_mc_dropout(true, 9);
        let a = mc.logits(x()).into_data().try_to_vec::<f32>().unwrap();
        let b = mc.logits(x()).into_data().try_to_vec::<f32>().unwrap();
        assert_ne!(a, b, "two MC passes differ");
        let again = mc.clone().with_mc_dropout(true, 9);
        assert_eq!(
            again.logits(x()).into_data().try_to_vec::<f32>().unwrap(),
            a
        );
        let off = mc.with_mc_dropout(false, 0);
        assert_eq!(
            off.logits(x()).into_data().try_to_vec::<f32>().unwrap(),
            det
        );
    }

    #[test]
    fn cnn_rejects_non_image_data() {
        let e = cfg(Architecture::SmallCnn, vec![30])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("28×28"), "{e}");
    }

    #[test]
    fn l1_norm_counts_weights_only() {
        let device = Device::flex();
        let model = cfg(Architecture::Mlp, vec![3])
            .with_hidden(vec![4])
            .init(&device, 0)
            .unwrap();
        let l1: f32 = l1_norm(&model, &device).into_scalar();
        assert!(l1 > 0.0 && l1.is_finite());
    }
}
