//! The patch matrix of one image and its adjoint (Caffe's `im2col` / `col2im`).

use super::Geometry;

/// For kernel tap `k` (0-based, `k·dilation - pad`) and output index `o`, the input index
/// `o·stride + k·dilation - pad`, or `None` in the zero padding.
#[inline]
fn source(
    o: usize,
    tap: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    size: usize,
) -> Option<usize> {
    (o * stride + tap * dilation)
        .checked_sub(pad)
        .filter(|&i| i < size)
}

/// The output columns `[lo, hi)` whose input column `ox·stride + offset - pad` is inside the
/// image (stride 1 only): a run that can be copied in one slice.
#[inline]
fn inside_run(g: &Geometry, offset: usize) -> (usize, usize) {
    let lo = g.pad[1].saturating_sub(offset).min(g.ow);
    let hi = (g.w + g.pad[1]).saturating_sub(offset).min(g.ow).max(lo);
    (lo, hi)
}

/// `col[(c, i, j), (oy, ox)] = x[c, oy·s + i·d - p, ox·s + j·d - p]` (zero in the padding).
/// `x`: one image `[c_in, h, w]`; `col`: `c_in·kh·kw` rows of `oh·ow` values, row `r` at
/// `r·row_stride` (`oh·ow` for one image alone; more when several images sit side by side),
/// every one of those values written.
pub(crate) fn im2col(x: &[f32], g: &Geometry, col: &mut [f32], row_stride: usize) {
    let (p, ow) = (g.positions(), g.ow);
    for c in 0..g.c_in {
        let plane = &x[c * g.h * g.w..][..g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut col[((c * g.kh + i) * g.kw + j) * row_stride..][..p];
                let offset = j * g.dilation[1];
                for oy in 0..g.oh {
                    let dst = &mut row[oy * ow..][..ow];
                    let Some(iy) = source(oy, i, g.stride[0], g.dilation[0], g.pad[0], g.h) else {
                        dst.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * g.w..][..g.w];
                    if g.stride[1] == 1 {
                        let (lo, hi) = inside_run(g, offset);
                        if lo > 0 {
                            dst[..lo].fill(0.0);
                        }
                        if lo < hi {
                            let start = lo + offset - g.pad[1];
                            dst[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
                        }
                        if hi < ow {
                            dst[hi..].fill(0.0);
                        }
                    } else {
                        for (ox, d) in dst.iter_mut().enumerate() {
                            *d = source(ox, j, g.stride[1], g.dilation[1], g.pad[1], g.w)
                                .map_or(0.0, |ix| src[ix]);
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx[c, y, x] = Σ dcol[(c, i, j), (oy, ox)]` over the taps that
/// read `(y, x)`, in tap order. `dx`: one image `[c_in, h, w]`, overwritten.
pub(crate) fn col2im(dcol: &[f32], g: &Geometry, dx: &mut [f32]) {
    dx.fill(0.0);
    let (p, ow) = (g.positions(), g.ow);
    for c in 0..g.c_in {
        let plane = &mut dx[c * g.h * g.w..][..g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &dcol[((c * g.kh + i) * g.kw + j) * p..][..p];
                let offset = j * g.dilation[1];
                for oy in 0..g.oh {
                    let Some(iy) = source(oy, i, g.stride[0], g.dilation[0], g.pad[0], g.h) else {
                        continue;
                    };
                    let src = &row[oy * ow..][..ow];
                    let dst = &mut plane[iy * g.w..][..g.w];
                    if g.stride[1] == 1 {
                        let (lo, hi) = inside_run(g, offset);
                        if lo == hi {
                            continue;
                        }
                        let start = lo + offset - g.pad[1];
                        for (d, s) in dst[start..start + hi - lo].iter_mut().zip(&src[lo..hi]) {
                            *d += s;
                        }
                    } else {
                        for (ox, s) in src.iter().enumerate() {
                            if let Some(ix) =
                                source(ox, j, g.stride[1], g.dilation[1], g.pad[1], g.w)
                            {
                                dst[ix] += s;
                            }
                        }
                    }
                }
            }
        }
    }
}
