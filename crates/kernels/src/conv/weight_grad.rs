//! Convolution weight and bias gradients: `dW = Σ_n dy_n × im2col(x_n)ᵀ`, `db = Σ_n Σ_p dy_n`.

use rayon::prelude::*;

use super::im2col::im2col;
use super::{Geometry, chunk_images};
use crate::gemm::{Mat, MatMut, matmul};

/// `x`: `[n, c_in, h, w]`, `dy`: `[n, c_out, oh, ow]`, contiguous; returns `dW`
/// (`[c_out, c_in, kh, kw]`) and `db` (`[c_out]`).
///
/// The batch is cut into at most 16 fixed chunks (parallel); a chunk adds its images' products
/// in order, and the chunks' sums are added in chunk order. Chunk sizes depend on the batch
/// size alone, so the result is the same on any number of threads. (Laying a chunk's patch
/// matrices side by side for one longer product per chunk measured no faster.)
pub(crate) fn weight_grad(x: &[f32], dy: &[f32], g: &Geometry) -> (Vec<f32>, Vec<f32>) {
    let (k, co) = (g.patch(), g.c_out);
    let chunk = chunk_images(g.n);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = (0..g.n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let images = c * chunk..((c + 1) * chunk).min(g.n);
            chunk_sums(x, dy, g, images)
        })
        .collect();
    let mut parts = partials.into_iter();
    let (mut dw, mut db) = parts
        .next()
        .unwrap_or_else(|| (vec![0.0; co * k], vec![0.0; co]));
    for (pw, pb) in parts {
        dw.iter_mut().zip(&pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&pb).for_each(|(a, b)| *a += b);
    }
    (dw, db)
}

/// Lanes of [`lane_sum`].
const LANES: usize = 16;

/// `Σ v` in a fixed order that vectorises: `LANES` running sums over the elements strided by
/// `LANES` (a plain `iter().sum()` is one dependency chain of float additions, 4 cycles
/// each), then the lanes and the remainder in order.
fn lane_sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// `dW` and `db` over the images of one chunk, one matrix product per image.
fn chunk_sums(
    x: &[f32],
    dy: &[f32],
    g: &Geometry,
    images: std::ops::Range<usize>,
) -> (Vec<f32>, Vec<f32>) {
    let (k, p, co) = (g.patch(), g.positions(), g.c_out);
    let mut dw = vec![0.0f32; co * k];
    let mut db = vec![0.0f32; co];
    let mut col = vec![0.0f32; if g.is_pointwise() { 0 } else { k * p }];
    for n in images {
        let xi = &x[n * g.image()..][..g.image()];
        let dyi = &dy[n * g.out_image()..][..g.out_image()];
        let patches = if g.is_pointwise() {
            xi
        } else {
            im2col(xi, g, &mut col, p);
            &col[..]
        };
        matmul(
            MatMut::rows(&mut dw, co, k),
            Mat::rows(dyi, co, p),
            Mat::transposed(patches, p, k),
            true,
        );
        for (b, row) in db.iter_mut().zip(dyi.chunks(p)) {
            *b += lane_sum(row);
        }
    }
    (dw, db)
}
