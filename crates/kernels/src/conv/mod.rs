//! 2-D convolution (groups = 1) as im2col + one matrix product per image, forward and both
//! gradients, following Caffe's formulation (Jia et al. 2014, "Caffe: Convolutional
//! Architecture for Fast Feature Embedding"; Chellapilla et al. 2006 for unrolling a
//! convolution into a matrix product).
//!
//! Per image `n`, with `K = C_in·k_h·k_w` and `P = H_out·W_out`:
//! - [`im2col`]: `col[K, P]`, the input patches, one row per kernel tap;
//! - [`forward`]: `y_n[C_out, P] = W[C_out, K] × col + b` (NCHW out, no transpose);
//! - [`weight_grad`]: `dW = Σ_n dy_n × col_nᵀ`, `db = Σ_n Σ_p dy_n`;
//! - [`input_grad`]: `dx_n = col2im(Wᵀ × dy_n)`.
//!
//! Images run in parallel on rayon; every sum runs in an order fixed by the shapes alone
//! (per image, or over fixed chunks of images added in chunk order), so results do not depend
//! on the thread count.

pub(crate) mod backward;
pub(crate) mod forward;
pub(crate) mod im2col;
pub(crate) mod input_grad;
pub(crate) mod op;
pub(crate) mod weight_grad;

pub(crate) use forward::forward;
pub(crate) use input_grad::input_grad;
pub(crate) use weight_grad::weight_grad;

/// The shapes of one convolution: input `[n, c_in, h, w]`, weight `[c_out, c_in, kh, kw]`,
/// output `[n, c_out, oh, ow]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    /// `[top, left]` zero padding; the bottom / right padding only shows in `oh`, `ow`.
    pub pad: [usize; 2],
    pub dilation: [usize; 2],
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// The geometry of `x` (`[n, c_in, h, w]`) under `weight` (`[c_out, c_in, kh, kw]`), or
    /// `None` when the shapes do not make a convolution Burn would run (its own checks then
    /// report the fault).
    pub fn new(
        x: [usize; 4],
        weight: [usize; 4],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let [n, c_in, h, w] = x;
        let [c_out, wc, kh, kw] = weight;
        if wc != c_in || stride.contains(&0) || dilation.contains(&0) || kh == 0 || kw == 0 {
            return None;
        }
        let out = |size: usize, (a, b): (usize, usize), k: usize, s: usize, d: usize| {
            let span = d.checked_mul(k - 1)?.checked_add(1)?;
            let padded = size.checked_add(a)?.checked_add(b)?;
            padded.checked_sub(span).map(|r| r / s + 1)
        };
        Some(Self {
            n,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride,
            pad: [padding[0].0, padding[1].0],
            dilation,
            oh: out(h, padding[0], kh, stride[0], dilation[0])?,
            ow: out(w, padding[1], kw, stride[1], dilation[1])?,
        })
    }

    /// Rows of the patch matrix: `c_in·kh·kw`.
    pub fn patch(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Output positions per image: `oh·ow`.
    pub fn positions(&self) -> usize {
        self.oh * self.ow
    }
    /// Input values per image.
    pub fn image(&self) -> usize {
        self.c_in * self.h * self.w
    }
    /// Output values per image.
    pub fn out_image(&self) -> usize {
        self.c_out * self.positions()
    }
    /// Input shape.
    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.h, self.w]
    }
    /// Weight shape.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in, self.kh, self.kw]
    }
    /// Output shape.
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.c_out, self.oh, self.ow]
    }
    /// Whether the patch matrix of an image is the image itself (1×1 kernel, stride 1, no
    /// padding), so im2col can be skipped.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == [1, 1]
            && self.pad == [0, 0]
            && self.oh == self.h
            && self.ow == self.w
    }
}

/// Images per chunk for sums over the batch: at most 16 chunks (enough to keep 16 cores
/// busy), each a fixed run of consecutive images, so the summation order depends on the batch
/// size alone.
pub(crate) fn chunk_images(n: usize) -> usize {
    n.div_ceil(16).max(1)
}
