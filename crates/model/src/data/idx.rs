//! IDX reader (the MNIST / Fashion-MNIST file format), raw or gzip-compressed.
//!
//! Format (LeCun et al., <http://yann.lecun.com/exdb/mnist/>): two zero bytes, a type byte
//! (`0x08` unsigned byte, `0x09` signed byte, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64),
//! the number of dimensions, then each dimension as a big-endian u32, then the data row-major
//! and big-endian. Every field is validated: a truncated or over-long file is an error that
//! names the file and the byte counts.

use std::io::Read;
use std::path::Path;

use crate::error::{ModelError, Result};

/// A decoded IDX array; values converted to `f32` as stored (no scaling).
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first (e.g. `[10000, 28, 28]`).
    pub dims: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// Reads an IDX file (gzip detected by its magic bytes, not by the name).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    parse_idx(path, &raw)
}

/// Parses IDX bytes (raw or gzip); `path` is only used in error messages.
pub fn parse_idx(path: &Path, raw: &[u8]) -> Result<IdxArray> {
    let bytes;
    let data: &[u8] = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| ModelError::format(path, format!("corrupt gzip stream: {e}")))?;
        bytes = out;
        &bytes
    } else {
        raw
    };
    let fault = |msg: String| ModelError::format(path, msg);
    if data.len() < 4 {
        return Err(fault(format!(
            "not an IDX file: {} bytes, header needs 4",
            data.len()
        )));
    }
    if data[0] != 0 || data[1] != 0 {
        return Err(fault(format!(
            "not an IDX file: bad magic number {:02x}{:02x}{:02x}{:02x} (expected 0000TTDD)",
            data[0], data[1], data[2], data[3]
        )));
    }
    let (width, kind) = match data[2] {
        0x08 => (1, "u8"),
        0x09 => (1, "i8"),
        0x0B => (2, "i16"),
        0x0C => (4, "i32"),
        0x0D => (4, "f32"),
        0x0E => (8, "f64"),
        t => return Err(fault(format!("unknown IDX data type 0x{t:02x}"))),
    };
    let ndim = data[3] as usize;
    if ndim == 0 {
        return Err(fault("IDX header declares 0 dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if data.len() < header {
        return Err(fault(format!(
            "truncated header: {ndim} dimensions need {header} bytes, file has {}",
            data.len()
        )));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(data[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| fault(format!("dimensions {dims:?} overflow")))?;
    let expected = count
        .checked_mul(width)
        .ok_or_else(|| fault(format!("dimensions {dims:?} overflow")))?;
    let body = &data[header..];
    if body.len() != expected {
        let what = if body.len() < expected {
            "truncated"
        } else {
            "too long"
        };
        return Err(fault(format!(
            "{what}: dimensions {dims:?} of {kind} need {expected} data bytes, found {}",
            body.len()
        )));
    }
    let values: Vec<f32> = match data[2] {
        0x08 => body.iter().map(|&b| b as f32).collect(),
        0x09 => body.iter().map(|&b| b as i8 as f32).collect(),
        0x0B => body
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]) as f32)
            .collect(),
        0x0C => body
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        0x0D => body
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes(c.try_into().unwrap()))
            .collect(),
        _ => body
            .chunks_exact(8)
            .map(|c| f64::from_be_bytes(c.try_into().unwrap()) as f32)
            .collect(),
    };
    Ok(IdxArray { dims, values })
}

/// Encodes unsigned-byte data as IDX (type `0x08`); used to write the bundled assets and tests.
pub fn encode_idx_u8(dims: &[usize], values: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(values);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn p() -> &'static Path {
        Path::new("x.idx")
    }

    #[test]
    fn round_trips_raw_and_gzip() {
        let raw = encode_idx_u8(&[2, 3], &[0, 1, 2, 3, 4, 255]);
        let a = parse_idx(p(), &raw).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.values, vec![0.0, 1.0, 2.0, 3.0, 4.0, 255.0]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        assert_eq!(parse_idx(p(), &gz.finish().unwrap()).unwrap(), a);
    }

    #[test]
    fn decodes_big_endian_wider_types() {
        let mut raw = vec![0, 0, 0x0D, 1, 0, 0, 0, 2];
        raw.extend_from_slice(&1.5f32.to_be_bytes());
        raw.extend_from_slice(&(-2.0f32).to_be_bytes());
        assert_eq!(parse_idx(p(), &raw).unwrap().values, vec![1.5, -2.0]);
    }

    #[test]
    fn rejects_every_malformation_with_the_file_name() {
        let good = encode_idx_u8(&[2, 2], &[1, 2, 3, 4]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() - 1].to_vec(), "truncated"),
            ([good.clone(), vec![9]].concat(), "too long"),
            (vec![1, 0, 8, 1, 0, 0, 0, 0], "bad magic"),
            (vec![0, 0, 0x42, 1, 0, 0, 0, 0], "unknown IDX data type"),
            (vec![0, 0, 8, 3, 0, 0], "truncated header"),
            (vec![0, 0], "header needs 4"),
            (vec![0x1f, 0x8b, 1, 2, 3], "corrupt gzip"),
        ];
        for (bytes, want) in cases {
            let e = parse_idx(p(), &bytes).unwrap_err().to_string();
            assert!(e.starts_with("x.idx: ") && e.contains(want), "{want}: {e}");
        }
    }
}
