//! Convolution input gradient: `dx_n = col2im(Wᵀ × dy_n)`, one image per task.

use rayon::prelude::*;

use super::Geometry;
use super::im2col::col2im;
use crate::gemm::{Mat, MatMut, matmul};

/// `weight`: `[c_out, c_in, kh, kw]`, `dy`: `[n, c_out, oh, ow]`, contiguous; returns `dx`
/// (`[n, c_in, h, w]`).
pub(crate) fn input_grad(weight: &[f32], dy: &[f32], g: &Geometry) -> Vec<f32> {
    let (k, p) = (g.patch(), g.positions());
    let mut dx = vec![0.0f32; g.n * g.image()];
    if dx.is_empty() {
        return dx;
    }
    let wt = Mat::transposed(weight, k, g.c_out);
    dx.par_chunks_mut(g.image())
        .zip(dy.par_chunks(g.out_image().max(1)))
        .for_each_init(
            || vec![0.0f32; if g.is_pointwise() { 0 } else { k * p }],
            |dcol, (dxi, dyi)| {
                let dy_n = Mat::rows(dyi, g.c_out, p);
                if g.is_pointwise() {
                    matmul(MatMut::rows(dxi, k, p), wt, dy_n, false);
                } else {
                    matmul(MatMut::rows(dcol, k, p), wt, dy_n, false);
                    col2im(dcol, g, dxi);
                }
            },
        );
    dx
}
