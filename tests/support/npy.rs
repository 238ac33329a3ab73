//! Writes the `.npy` files tests feed to the binaries (NumPy format version 1, little-endian,
//! C order), without a NumPy crate: float32 arrays and int64 labels.
#![allow(dead_code)]

use std::path::Path;

/// The file: magic, version 1.0, header padded so the data starts on a 64-byte boundary.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes `values` as a float32 array of `shape`.
pub fn write_f32(path: &Path, shape: &[usize], values: &[f32]) {
    assert_eq!(shape.iter().product::<usize>(), values.len());
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy("<f4", shape, &bytes)).unwrap();
}

/// Writes `labels` as a one-dimensional int64 array.
pub fn write_labels(path: &Path, labels: &[i64]) {
    let bytes: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy("<i8", &[labels.len()], &bytes)).unwrap();
}

/// `n` pseudo-random values uniform in `[0, 1)` from `seed` (a 64-bit LCG: the same on every
/// machine).
pub fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}
