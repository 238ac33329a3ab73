//! # aegis-kernels
//!
//! Aegis's own CPU kernels for Burn's flex backend, for the layers where flex 0.22.1 is
//! slowest on small conv nets (measured per operation by `cargo xtask bench-ops`; see
//! docs/upstream.md for what belongs in Burn itself):
//!
//! - [`conv2d`]: a `Conv2d` layer as im2col + one matrix product per image, forward and
//!   under autodiff its input, weight and bias gradients (flex runs the backward through
//!   Burn's generic defaults: a transposed convolution and a convolution with batch and
//!   channels swapped);
//! - [`max_pool2d`]: a 2×2 / stride-2 max-pool that keeps a one-byte window index per output
//!   instead of recomputing each window's bounds with integer divisions, with the same values,
//!   the same index choice (ties to the first, NaN to the last NaN) and the same gradient as
//!   Burn's `max_pool2d_with_indices`, bit for bit; [`relu_max_pool2d`] takes the ReLU before
//!   it into the same pass (also bit for bit).
//!
//! Both take Burn tensors and layers and fall back to Burn's own forward on any other device,
//! dtype or layer setting, so a model calls them unconditionally. They hook into Burn's
//! run-time `Dispatch` backend through the `extension` feature (`Tensor::into_dispatch`) and
//! add their own autodiff nodes (`burn_autodiff::ops::Backward`) on `Autodiff<Flex>`.
//! Work is split over rayon's global pool per image; every sum runs in an order fixed by the
//! shapes, so results do not depend on the thread count.
#![warn(missing_docs)]

use std::sync::atomic::{AtomicU8, Ordering};

mod conv;
mod gemm;
mod pool;
mod route;

pub use conv::op::conv2d;
pub use pool::op::{max_pool2d, relu_max_pool2d};

/// 0: not decided yet (read [`ENV`] on first use), 1: on, 2: off.
static STATE: AtomicU8 = AtomicU8::new(0);

/// The environment variable that turns the kernels off for a process: `AEGIS_KERNELS=burn`
/// runs Burn's own layers everywhere (a measurement switch, as the bench's
/// `AEGIS_BENCH_DEFAULT_MALLOC`); unset or any other value keeps them on.
pub const ENV: &str = "AEGIS_KERNELS";

/// Whether [`conv2d`] and [`max_pool2d`] use this crate's kernels (the default) or Burn's.
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let on = std::env::var(ENV).map_or(true, |v| v != "burn");
            STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
    }
}

/// Turns this crate's kernels on or off for the whole process, returning the previous
/// setting: off, every call runs Burn's own layer, for side-by-side measurements.
pub fn set_enabled(on: bool) -> bool {
    let was = enabled();
    STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
    was
}
