//! Safe matrix product over strided `f32` slices, on the `gemm` crate that burn-flex uses.
//!
//! The one unsafe call of the crate: `gemm::gemm` takes raw pointers and strides. [`matmul`]
//! checks that every element the product reads or writes lies inside the slices it was
//! given, so the call is sound for any arguments that pass the checks.

/// A read-only strided matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// A mutable strided matrix view, laid out as [`Mat`].
#[derive(Debug)]
pub(crate) struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }
    /// The transpose of a row-major `cols × rows` matrix, as a `rows × cols` view.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }
}

impl<'a> MatMut<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }
}

/// One past the largest offset a `rows × cols` view with these strides touches
/// (`usize::MAX` when that overflows, so the bounds checks refuse it; the crate builds
/// without overflow checks).
fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        return 0;
    }
    (rows - 1)
        .checked_mul(row_stride)
        .and_then(|a| {
            (cols - 1)
                .checked_mul(col_stride)
                .and_then(|b| a.checked_add(b))
        })
        .and_then(|last| last.checked_add(1))
        .unwrap_or(usize::MAX)
}

/// `dst = lhs × rhs`, or `dst += lhs × rhs` when `accumulate`, single-threaded (callers
/// parallelise over images, so the sums run in one order whatever the thread count).
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice.
pub(crate) fn matmul(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, accumulate: bool) {
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    assert!(
        lhs.rows == m && rhs.rows == k && rhs.cols == n,
        "matmul: shapes disagree"
    );
    assert!(
        extent(m, n, dst.row_stride, dst.col_stride) <= dst.data.len(),
        "matmul: dst"
    );
    assert!(
        extent(m, k, lhs.row_stride, lhs.col_stride) <= lhs.data.len(),
        "matmul: lhs"
    );
    assert!(
        extent(k, n, rhs.row_stride, rhs.col_stride) <= rhs.data.len(),
        "matmul: rhs"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.row_stride + j * dst.col_stride] = 0.0;
                }
            }
        }
        return;
    }
    let stride = |s: usize| isize::try_from(s).expect("matmul: a stride past isize::MAX");
    // SAFETY: the asserts above keep every offset the product reads (lhs, rhs) or writes (dst)
    // inside its slice; `dst` is a unique borrow, so it aliases neither input; the strides fit
    // in isize because they index allocated slices.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            stride(dst.col_stride),
            stride(dst.row_stride),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.col_stride),
            stride(lhs.row_stride),
            rhs.data.as_ptr(),
            stride(rhs.col_stride),
            stride(rhs.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn row_major_and_transposed_views_agree_with_a_naive_product() {
        let (m, k, n) = (7, 13, 5);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.5).collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![1.0; m * n];
        matmul(
            MatMut::rows(&mut c, m, n),
            Mat::rows(&a, m, k),
            Mat::rows(&b, k, n),
            false,
        );
        assert_eq!(c, want);
        // bᵀ stored row-major as [n, k]: the transposed view of it is b again.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut c2 = want.clone();
        matmul(
            MatMut::rows(&mut c2, m, n),
            Mat::rows(&a, m, k),
            Mat::transposed(&bt, k, n),
            true,
        );
        assert_eq!(c2, want.iter().map(|v| v * 2.0).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "matmul: lhs")]
    fn a_stride_that_overflows_is_refused() {
        let a = [1.0; 4];
        let mut c = [0.0; 4];
        let huge = Mat {
            data: &a,
            rows: 2,
            cols: 2,
            row_stride: usize::MAX / 2 + 1,
            col_stride: 1,
        };
        matmul(MatMut::rows(&mut c, 2, 2), huge, Mat::rows(&a, 2, 2), false);
    }

    #[test]
    #[should_panic(expected = "matmul: rhs")]
    fn a_view_past_its_slice_is_refused() {
        let a = [1.0; 4];
        let mut c = [0.0; 4];
        matmul(
            MatMut::rows(&mut c, 2, 2),
            Mat::rows(&a, 2, 2),
            Mat::rows(&a[..3], 2, 2),
            false,
        );
    }
}
