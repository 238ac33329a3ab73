//! Device selection: one `--device` flag for every Aegis binary.
//!
//! Accepted spellings: `flex` (default, pure-Rust CPU), `ndarray` (deprecated upstream, kept
//! because users asked for it), `wgpu` (default adapter) or `wgpu:N` (the N-th adapter of
//! [`list_wgpu_adapters`]), and `cuda` / `cuda:N` when built with the `cuda` cargo feature.
//! The same model and algorithm code runs on all of them; nothing downstream branches on the
//! backend.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{ModelError, Result};

/// A parsed `--device` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// burn-flex on the CPU (default).
    #[default]
    Flex,
    /// burn-ndarray on the CPU.
    NdArray,
    /// wgpu: `None` for the default adapter, `Some(i)` for the i-th enumerated adapter.
    Wgpu(Option<usize>),
    /// CUDA device index (needs the `cuda` cargo feature).
    Cuda(usize),
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "flex"),
            Self::NdArray => write!(f, "ndarray"),
            Self::Wgpu(None) => write!(f, "wgpu"),
            Self::Wgpu(Some(i)) => write!(f, "wgpu:{i}"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| ModelError::Device {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let lower = s.trim().to_ascii_lowercase();
        let (name, index) = match lower.split_once(':') {
            Some((n, i)) => {
                let i = i
                    .parse::<usize>()
                    .map_err(|_| bad("the part after `:` must be an adapter index such as 0"))?;
                (n, Some(i))
            }
            None => (lower.as_str(), None),
        };
        match (name, index) {
            ("flex", None) => Ok(Self::Flex),
            ("ndarray", None) => Ok(Self::NdArray),
            ("wgpu", i) => Ok(Self::Wgpu(i)),
            ("cuda", i) => Ok(Self::Cuda(i.unwrap_or(0))),
            ("flex" | "ndarray", Some(_)) => Err(bad("CPU devices take no index")),
            _ => Err(bad(
                "unknown device; expected flex, ndarray, wgpu[:N] or cuda[:N]",
            )),
        }
    }
}

impl DeviceSpec {
    /// Every spelling that [`FromStr`] accepts, for help texts.
    pub const HELP: &'static str =
        "flex (default), ndarray, wgpu, wgpu:N, cuda[:N] (feature `cuda`)";

    /// Opens the device (without autodiff). Checks that it really runs a kernel, so an
    /// unavailable GPU gives an error here rather than a panic deep inside a model.
    pub fn open(&self) -> Result<Device> {
        let device = self.construct()?;
        probe(&device).map_err(|reason| ModelError::Device {
            spec: self.to_string(),
            reason,
        })?;
        Ok(device)
    }

    /// A short name for reports: `flex`, `ndarray`, `wgpu`, `cuda`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
            Self::Wgpu(_) => "wgpu",
            Self::Cuda(_) => "cuda",
        }
    }

    fn construct(&self) -> Result<Device> {
        match self {
            Self::Flex => Ok(Device::flex()),
            #[allow(deprecated)] // ndarray is deprecated upstream; users asked to keep it
            Self::NdArray => Ok(Device::ndarray()),
            Self::Wgpu(None) => {
                if list_wgpu_adapters()?.is_empty() {
                    return Err(no_wgpu(self));
                }
                Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
            }
            Self::Wgpu(Some(i)) => {
                let adapters = wgpu_devices()?;
                let n = adapters.len();
                if n == 0 {
                    return Err(no_wgpu(self));
                }
                adapters
                    .into_iter()
                    .nth(*i)
                    .ok_or_else(|| ModelError::Device {
                        spec: self.to_string(),
                        reason: format!("only {n} wgpu adapter(s) found (indices 0..{})", n - 1),
                    })
            }
            Self::Cuda(i) => cuda_device(self, *i),
        }
    }
}

fn no_wgpu(spec: &DeviceSpec) -> ModelError {
    ModelError::Device {
        spec: spec.to_string(),
        reason: "no wgpu adapter found (no GPU driver; on a CPU-only Linux machine install \
                 Mesa's software Vulkan: apt-get install mesa-vulkan-drivers libvulkan1)"
            .into(),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device(_spec: &DeviceSpec, index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(spec: &DeviceSpec, _index: usize) -> Result<Device> {
    Err(ModelError::Device {
        spec: spec.to_string(),
        reason: "this build has no CUDA support; rebuild with `--features aegis-model/cuda`".into(),
    })
}

fn wgpu_devices() -> Result<Vec<Device>> {
    let found = std::panic::catch_unwind(|| {
        burn::tensor::Device::enumerate(burn::tensor::DeviceType::Wgpu)
            .into_iter()
            .collect::<Vec<_>>()
    });
    found.map_err(|p| ModelError::Device {
        spec: "wgpu".into(),
        reason: format!("adapter enumeration failed: {}", panic_message(&p)),
    })
}

/// Names of the wgpu adapters this machine offers, in `wgpu:N` order.
pub fn list_wgpu_adapters() -> Result<Vec<String>> {
    Ok(wgpu_devices()?.iter().map(|d| format!("{d:?}")).collect())
}

/// Runs a tiny computation and reads it back; a panic (driver missing, adapter lost) becomes
/// an error message.
fn probe(device: &Device) -> std::result::Result<(), String> {
    let device = device.clone();
    let out = std::panic::catch_unwind(move || {
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device);
        (t * 2.0).sum().into_scalar::<f32>()
    });
    match out {
        Ok(v) if (v - 12.0).abs() < 1e-4 => Ok(()),
        Ok(v) => Err(format!("self-test computed {v}, expected 12")),
        Err(p) => Err(format!("failed to start: {}", panic_message(&p))),
    }
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// The `--device` and `--threads` flags, shared by every Aegis binary (flatten it into a clap
/// parser; `cli::run_cli` applies `--threads` before the command runs).
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    // `--help` shows this line as written; rustdoc would read `[:N]` as a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Compute device: flex (default), ndarray, wgpu, wgpu:N, cuda[:N] (feature `cuda`).
    #[arg(long, global = true, default_value = "flex", value_parser = parse_device_arg)]
    pub device: DeviceSpec,
    /// Threads of the CPU backends (flex, ndarray), at least 1 (default: every core, or
    /// RAYON_NUM_THREADS). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

/// The most threads `--threads` accepts.
const MAX_CPU_THREADS: usize = 1024;

/// Sizes the thread pool of the CPU backends to `n` threads: flex's kernels, and the gemm
/// under its matrix products and convolutions, run on rayon's global pool (ndarray's too).
/// Call it once, before any tensor work: the pool cannot be resized once it has started.
pub fn set_cpu_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(ModelError::invalid("--threads", "must be at least 1"));
    }
    // Each thread is an OS thread with its own stack, started at once: a billion would hang
    // the process while it spawns them.
    if n > MAX_CPU_THREADS {
        return Err(ModelError::invalid(
            "--threads",
            format!("{n} is not in [1, {MAX_CPU_THREADS}]"),
        ));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| ModelError::invalid("--threads", format!("CPU thread pool: {e}")))
}

fn parse_device_arg(s: &str) -> std::result::Result<DeviceSpec, String> {
    s.parse().map_err(|e: ModelError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("flex".parse::<DeviceSpec>().unwrap(), DeviceSpec::Flex);
        assert_eq!(
            "NdArray".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::NdArray
        );
        assert_eq!(
            "wgpu".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Wgpu(None)
        );
        assert_eq!(
            "wgpu:1".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Wgpu(Some(1))
        );
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        for spec in ["flex", "ndarray", "wgpu", "wgpu:3", "cuda:0"] {
            let d: DeviceSpec = spec.parse().unwrap();
            assert_eq!(d.to_string().parse::<DeviceSpec>().unwrap(), d);
        }
    }

    #[test]
    fn rejects_bad_spellings_with_a_reason() {
        for bad in ["tpu", "wgpu:x", "flex:1", ""] {
            let e = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("device `{bad}`")), "{e}");
        }
    }

    #[test]
    fn cpu_devices_open() {
        DeviceSpec::Flex.open().unwrap();
        DeviceSpec::NdArray.open().unwrap();
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_is_a_clear_error() {
        let e = DeviceSpec::Cuda(0).open().unwrap_err().to_string();
        assert!(e.contains("rebuild with"), "{e}");
    }
}
