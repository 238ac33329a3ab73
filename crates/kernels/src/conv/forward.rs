//! Convolution forward: `y_n = W × im2col(x_n) + b`, one image per task.

use rayon::prelude::*;

use super::Geometry;
use super::im2col::im2col;
use crate::gemm::{Mat, MatMut, matmul};

/// `x`: `[n, c_in, h, w]`, `weight`: `[c_out, c_in, kh, kw]`, `bias`: `[c_out]`, all
/// contiguous; returns `[n, c_out, oh, ow]`. Each output starts from its bias (or zero) and
/// adds the `c_in·kh·kw` products in tap order, per image.
pub(crate) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geometry) -> Vec<f32> {
    let (k, p) = (g.patch(), g.positions());
    let mut out = vec![0.0f32; g.n * g.out_image()];
    if out.is_empty() {
        return out;
    }
    let w = Mat::rows(weight, g.c_out, k);
    out.par_chunks_mut(g.out_image())
        .zip(x.par_chunks(g.image().max(1)))
        .for_each_init(
            || vec![0.0f32; if g.is_pointwise() { 0 } else { k * p }],
            |col, (y, xi)| {
                let patches = if g.is_pointwise() {
                    xi
                } else {
                    im2col(xi, g, col, p);
                    &col[..]
                };
                if let Some(b) = bias {
                    for (row, &b) in y.chunks_mut(p).zip(b) {
                        row.fill(b);
                    }
                }
                matmul(
                    MatMut::rows(y, g.c_out, p),
                    w,
                    Mat::rows(patches, k, p),
                    bias.is_some(),
                );
            },
        );
    out
}
