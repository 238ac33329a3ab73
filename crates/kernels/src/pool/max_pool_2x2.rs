//! The numerics of a 2×2 / stride-2 max-pool, as Burn 0.22.1's flex kernel
//! (`burn-flex/src/ops/pool.rs`, `max_pool3d_with_indices_impl` and its backward) computes
//! them: the window is read in row-major order; the first element is taken, and a later one
//! replaces it when it is greater or NaN (so NaN propagates, with the last NaN's index). The
//! backward adds each output gradient to a zeroed input gradient at its window's index.

use rayon::prelude::*;

/// Planes (`n·c`) per parallel task.
const PLANES: usize = 16;

/// The index of a window whose output is a ReLU's zero: no gradient flows back.
pub(crate) const NO_GRADIENT: u8 = 4;

/// `x`: `[planes, h, w]` contiguous; returns the maxima `[planes, h/2, w/2]` and each
/// window's index (0 = top left, 1 = top right, 2 = bottom left, 3 = bottom right). An odd
/// last row or column is dropped, as in floor mode.
///
/// With `relu`, the result is that of the pool of `relu(x)` (flex's ReLU: `x` when NaN or
/// positive, else `+0.0`), bit for bit, in one pass: the window's maximum is taken on the raw
/// values and then passed through the ReLU, and a window whose output is the ReLU's zero gets
/// [`NO_GRADIENT`]. (The first maximum of the raw values is the first maximum of their ReLUs
/// whenever that maximum is positive or NaN; otherwise every ReLU value is `+0.0` and flex's
/// ReLU backward zeroes the gradient anyway.)
pub(crate) fn forward(
    x: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    relu: bool,
) -> (Vec<f32>, Vec<u8>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; planes * oh * ow];
    let mut idx = vec![0u8; planes * oh * ow];
    if out.is_empty() {
        return (out, idx);
    }
    out.par_chunks_mut(PLANES * oh * ow)
        .zip(idx.par_chunks_mut(PLANES * oh * ow))
        .zip(x.par_chunks(PLANES * h * w))
        .for_each(|((out, idx), x)| {
            for ((out, idx), x) in out
                .chunks_mut(oh * ow)
                .zip(idx.chunks_mut(oh * ow))
                .zip(x.chunks(h * w))
            {
                for i in 0..oh {
                    let top = &x[2 * i * w..][..2 * ow];
                    let bottom = &x[(2 * i + 1) * w..][..2 * ow];
                    let (out, idx) = (&mut out[i * ow..][..ow], &mut idx[i * ow..][..ow]);
                    window_row(top, bottom, out, idx);
                    if relu {
                        relu_row(out, idx);
                    }
                }
            }
        });
    (out, idx)
}

/// One step of the selection rule: `v` (window position `k`) replaces the running maximum
/// when it is greater or NaN. Written as selects, not branches: on real activations the
/// comparison is a coin flip, and a branch on it mispredicted half the time (0.79 ms for
/// SmallCnn's first pool at batch 64 with branches).
#[inline(always)]
fn select(best: (f32, u8), v: f32, k: u8) -> (f32, u8) {
    let take = (v > best.0) | v.is_nan();
    (if take { v } else { best.0 }, if take { k } else { best.1 })
}

/// Maxima and indices of one row of windows: `top` and `bottom` are the window's two input
/// rows (`2·ow` values each).
#[inline(always)]
fn window_row(top: &[f32], bottom: &[f32], out: &mut [f32], idx: &mut [u8]) {
    let ow = out.len();
    let (top, bottom, idx) = (&top[..2 * ow], &bottom[..2 * ow], &mut idx[..ow]);
    for j in 0..ow {
        let best = (top[2 * j], 0u8);
        let best = select(best, top[2 * j + 1], 1);
        let best = select(best, bottom[2 * j], 2);
        let best = select(best, bottom[2 * j + 1], 3);
        out[j] = best.0;
        idx[j] = best.1;
    }
}

/// flex's ReLU on one output row, marking the zeroed windows.
#[inline(always)]
fn relu_row(out: &mut [f32], idx: &mut [u8]) {
    for (v, k) in out.iter_mut().zip(idx.iter_mut()) {
        let keep = v.is_nan() || *v > 0.0;
        *v = if keep { *v } else { 0.0 };
        *k = if keep { *k } else { NO_GRADIENT };
    }
}

/// The input gradient `[planes, h, w]` of [`forward`]: zero except at each window's index,
/// where it is `0 + dy` (as Burn's scatter-add, so a `-0.0` gradient lands as `+0.0`).
pub(crate) fn backward(dy: &[f32], idx: &[u8], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0.0f32; planes * h * w];
    if dx.is_empty() || dy.is_empty() {
        return dx;
    }
    dx.par_chunks_mut(PLANES * h * w)
        .zip(dy.par_chunks(PLANES * oh * ow))
        .zip(idx.par_chunks(PLANES * oh * ow))
        .for_each(|((dx, dy), idx)| {
            for ((dx, dy), idx) in dx
                .chunks_mut(h * w)
                .zip(dy.chunks(oh * ow))
                .zip(idx.chunks(oh * ow))
            {
                for i in 0..oh {
                    for j in 0..ow {
                        let k = idx[i * ow + j] as usize;
                        if k < NO_GRADIENT as usize {
                            let at = (2 * i + k / 2) * w + 2 * j + k % 2;
                            dx[at] += dy[i * ow + j];
                        }
                    }
                }
            }
        });
    dx
}
