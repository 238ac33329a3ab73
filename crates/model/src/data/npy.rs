//! NumPy inputs (`npyz`): `.npy` image arrays with a labels array beside them, and `.npz`
//! archives holding both (optionally with their own train / test split).
//!
//! - Images `[N, C, H, W]`, `[N, H, W]` (one channel) or `[N, H, W, C]` (C of 1 or 3 last),
//!   `uint8` (scaled by 1/255) or float already in `[0, 1]`; or flat features `[N, F]`
//!   (float, used as they are).
//! - Labels: a 1-D integer array of the same length.
//! - `X.npy` takes its labels from `X_labels.npy`, or else `labels.npy`, in the same folder.
//! - `.npz`: `x` / `y`, `images` / `labels`, or `x_train`, `y_train`, `x_test`, `y_test`.
//!
//! Sizes are checked against the bytes actually present before anything is allocated.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use npyz::{DType, NpyFile, TypeChar};

use super::dataset::{Dataset, MAX_CLASSES, Split, class_indices};
use crate::error::{ModelError, Result};

/// An array read from a file: its shape and values as `f32`, and whether it held integers
/// of one byte (image pixels to scale).
struct Array {
    shape: Vec<usize>,
    values: Vec<f64>,
    bytes: bool,
}

fn read_array<R: Read>(path: &Path, npy: NpyFile<R>, available: u64) -> Result<Array> {
    let bad = |fault: String| ModelError::format(path, fault);
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let DType::Plain(ts) = npy.dtype() else {
        return Err(bad("structured arrays are not supported".into()));
    };
    let size = ts.size_field();
    let numel = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    match numel.and_then(|n| n.checked_mul(size)) {
        Some(need) if need <= available => {}
        _ => {
            return Err(bad(format!(
                "shape {shape:?} of {size}-byte values needs more bytes than the file holds ({available}): truncated?"
            )));
        }
    }
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            bad(format!("truncated: the data ends before {shape:?} values"))
        }
        _ => bad(format!("cannot read the array: {e}")),
    };
    let values: Vec<f64> = match (ts.type_char(), size) {
        (TypeChar::Uint, 1) => widen(npy, <f64 as From<u8>>::from),
        (TypeChar::Uint, 2) => widen(npy, <f64 as From<u16>>::from),
        (TypeChar::Uint, 4) => widen(npy, <f64 as From<u32>>::from),
        (TypeChar::Uint, 8) => widen(npy, |v: u64| v as f64),
        (TypeChar::Int, 1) => widen(npy, <f64 as From<i8>>::from),
        (TypeChar::Int, 2) => widen(npy, <f64 as From<i16>>::from),
        (TypeChar::Int, 4) => widen(npy, <f64 as From<i32>>::from),
        (TypeChar::Int, 8) => widen(npy, |v: i64| v as f64),
        (TypeChar::Float, 4) => widen(npy, <f64 as From<f32>>::from),
        (TypeChar::Float, 8) => widen(npy, |v: f64| v),
        _ => return Err(bad(format!("unsupported dtype {}", ts))),
    }
    .map_err(io)?;
    Ok(Array {
        shape,
        values,
        bytes: ts.type_char() == TypeChar::Uint && size == 1,
    })
}

/// The array's values, each of type `T` in the file, as `f64`.
fn widen<T: npyz::Deserialize, R: Read>(
    npy: NpyFile<R>,
    to_f64: impl Fn(T) -> f64,
) -> std::io::Result<Vec<f64>> {
    Ok(npy.into_vec::<T>()?.into_iter().map(to_f64).collect())
}

/// npyz allocates the header length a file claims before reading it: check that claim against
/// the bytes the file holds first (found by `cargo xtask fuzz npy-labels`: a 257-byte file
/// claiming a 662 MB header). `prefix` is the file's first 12 bytes (fewer if shorter).
fn check_header_length(path: &Path, prefix: &[u8], available: u64) -> Result<()> {
    if prefix.len() < 10 || !prefix.starts_with(b"\x93NUMPY") {
        return Ok(()); // not a header npyz will trust; it reports the fault itself
    }
    let (len, start) = match prefix[6] {
        1 => (u64::from(u16::from_le_bytes([prefix[8], prefix[9]])), 10),
        _ if prefix.len() >= 12 => (
            u64::from(u32::from_le_bytes([
                prefix[8], prefix[9], prefix[10], prefix[11],
            ])),
            12,
        ),
        _ => return Ok(()),
    };
    if start + len > available {
        return Err(ModelError::format(
            path,
            format!("truncated: the header claims {len} bytes, the file holds {available}"),
        ));
    }
    Ok(())
}

/// Up to the first 12 bytes of `r`.
fn prefix(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut p = Vec::with_capacity(12);
    r.by_ref().take(12).read_to_end(&mut p)?;
    Ok(p)
}

/// Reads one `.npy` file.
fn read_npy(path: &Path) -> Result<Array> {
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let len = file.metadata().map_err(|e| ModelError::io(path, e))?.len();
    let head = prefix(&mut file).map_err(|e| ModelError::io(path, e))?;
    check_header_length(path, &head, len)?;
    file.rewind().map_err(|e| ModelError::io(path, e))?;
    let npy = NpyFile::new(std::io::BufReader::new(file))
        .map_err(|e| ModelError::format(path, format!("not a NumPy .npy file: {e}")))?;
    read_array(path, npy, len)
}

/// Turns an image (or feature) array into flat `[0, 1]` pixels and the sample shape.
fn samples(path: &Path, a: Array) -> Result<(usize, Vec<f32>, Vec<usize>)> {
    let bad = |fault: String| ModelError::format(path, fault);
    let n = *a
        .shape
        .first()
        .ok_or_else(|| bad("a 0-dimensional array holds no samples".into()))?;
    let (shape, nhwc) = match a.shape[1..] {
        [f] => (vec![f], false),
        [h, w] => (vec![1, h, w], false),
        [c, h, w] if c == 1 || c == 3 || (w != 1 && w != 3) => (vec![c, h, w], false),
        [h, w, c] => (vec![c, h, w], true),
        _ => {
            return Err(bad(format!(
                "images must be [N, C, H, W], [N, H, W] or [N, F]; found {:?}",
                a.shape
            )));
        }
    };
    let image = shape.len() == 3;
    let scale = if a.bytes && image { 1.0 / 255.0 } else { 1.0 };
    let mut x: Vec<f32> = a.values.iter().map(|&v| (v * scale) as f32).collect();
    if image && !a.bytes {
        if let Some(v) = x.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(bad(format!(
                "float pixels must lie in [0, 1] (found {v}); scale them, or save uint8 pixels"
            )));
        }
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(bad("holds NaN or infinite values".into()));
    }
    if nhwc {
        x = hwc_to_chw(&x, n, &shape);
    }
    Ok((n, x, shape))
}

fn hwc_to_chw(x: &[f32], n: usize, shape: &[usize]) -> Vec<f32> {
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let mut out = vec![0f32; x.len()];
    for i in 0..n {
        let base = i * c * h * w;
        for p in 0..h * w {
            for k in 0..c {
                out[base + k * h * w + p] = x[base + p * c + k];
            }
        }
    }
    out
}

fn labels(path: &Path, a: Array, n: usize, images: &Path) -> Result<Vec<usize>> {
    let bad = |fault: String| ModelError::format(path, fault);
    if a.shape.len() != 1 {
        return Err(bad(format!(
            "labels must be 1-D, found shape {:?}",
            a.shape
        )));
    }
    if a.shape[0] != n {
        return Err(bad(format!(
            "{} labels for {n} images in {}",
            a.shape[0],
            images.display()
        )));
    }
    let values: Vec<f32> = a.values.iter().map(|&v| v as f32).collect();
    if let Some(v) = a.values.iter().find(|v| v.abs() > 1e9) {
        return Err(bad(format!(
            "label {v} is not a class index (an integer in [0, {MAX_CLASSES}))"
        )));
    }
    class_indices(path, &values)
}

fn dataset(
    features: Vec<f32>,
    labels: Vec<usize>,
    sample_shape: Vec<usize>,
    classes: usize,
) -> Dataset {
    Dataset {
        features,
        labels,
        sample_shape,
        num_classes: classes,
        feature_names: Vec::new(),
        class_names: (0..classes).map(|i| i.to_string()).collect(),
    }
}

fn num_classes(labels: &[&[usize]]) -> usize {
    labels
        .iter()
        .flat_map(|l| l.iter())
        .max()
        .map_or(0, |m| m + 1)
        .max(2)
}

/// Where the labels of `images.npy` are: `<stem>_labels.npy`, else `labels.npy`.
pub fn labels_path(images: &Path) -> Result<PathBuf> {
    let dir = images.parent().unwrap_or(Path::new("."));
    let stem = images.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let candidates = [
        dir.join(format!("{stem}_labels.npy")),
        dir.join("labels.npy"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file() && p.as_path() != images)
        .cloned()
        .ok_or_else(|| {
            ModelError::format(
                images,
                format!(
                    "no labels beside it: looked for {} and {}",
                    candidates[0].display(),
                    candidates[1].display()
                ),
            )
        })
}

/// Reads the samples of an `.npy` file without labels (for `predict`): flat values and the
/// sample shape.
pub fn load_npy_images(path: &Path) -> Result<(Vec<f32>, Vec<usize>)> {
    let (_, x, shape) = samples(path, read_npy(path)?)?;
    Ok((x, shape))
}

/// Loads `X.npy` and its labels (see [`labels_path`]) as one data set.
pub fn load_npy(path: &Path) -> Result<Dataset> {
    let (n, x, shape) = samples(path, read_npy(path)?)?;
    let lp = labels_path(path)?;
    let y = labels(&lp, read_npy(&lp)?, n, path)?;
    let classes = num_classes(&[&y]);
    Ok(dataset(x, y, shape, classes))
}

fn npz_array<R: Read + Seek>(
    path: &Path,
    zip: &mut npyz::npz::NpzArchive<R>,
    name: &str,
) -> Result<Option<Array>> {
    let inner = format!("{path}:{name}", path = path.display());
    let entry = npyz::npz::file_name_from_array_name(name);
    let (available, head) = match zip.zip_archive().by_name(&entry) {
        Ok(mut f) => (f.size(), prefix(&mut f)),
        Err(_) => return Ok(None),
    };
    let head = head.map_err(|e| ModelError::format(&inner, format!("cannot read: {e}")))?;
    check_header_length(Path::new(&inner), &head, available)?;
    let npy = zip
        .by_name(name)
        .map_err(|e| ModelError::format(&inner, format!("cannot read: {e}")))?;
    npy.map(|npy| read_array(Path::new(&inner), npy, available))
        .transpose()
}

/// Loads an `.npz` archive: one data set (`x`/`y` or `images`/`labels`), or a split of its
/// own (`x_train`, `y_train`, `x_test`, `y_test`).
pub fn load_npz(path: &Path) -> Result<NpzData> {
    let mut zip = npyz::npz::NpzArchive::open(path)
        .map_err(|e| ModelError::format(path, format!("not a NumPy .npz archive: {e}")))?;
    let mut pair =
        |xs: &str, ys: &str| -> Result<Option<(usize, Vec<f32>, Vec<usize>, Vec<usize>)>> {
            let Some(xa) = npz_array(path, &mut zip, xs)? else {
                return Ok(None);
            };
            let ya = npz_array(path, &mut zip, ys)?
                .ok_or_else(|| ModelError::format(path, format!("has `{xs}` but no `{ys}`")))?;
            let xp = PathBuf::from(format!("{}:{xs}", path.display()));
            let (n, x, shape) = samples(&xp, xa)?;
            let y = labels(
                &PathBuf::from(format!("{}:{ys}", path.display())),
                ya,
                n,
                &xp,
            )?;
            Ok(Some((n, x, y, shape)))
        };
    if let Some((_, xtr, ytr, shape)) = pair("x_train", "y_train")? {
        let (_, xte, yte, shape_te) = pair("x_test", "y_test")?
            .ok_or_else(|| ModelError::format(path, "has `x_train` but no `x_test`"))?;
        if shape != shape_te {
            return Err(ModelError::format(
                path,
                format!("train samples are {shape:?}, test samples {shape_te:?}"),
            ));
        }
        let classes = num_classes(&[&ytr, &yte]);
        return Ok(NpzData::Split(Split {
            train: dataset(xtr, ytr, shape.clone(), classes),
            test: dataset(xte, yte, shape, classes),
        }));
    }
    for (xs, ys) in [("x", "y"), ("images", "labels"), ("X", "y")] {
        if let Some((_, x, y, shape)) = pair(xs, ys)? {
            let classes = num_classes(&[&y]);
            return Ok(NpzData::All(dataset(x, y, shape, classes)));
        }
    }
    Err(ModelError::format(
        path,
        "holds none of `x`/`y`, `images`/`labels`, `x_train`/`y_train`/`x_test`/`y_test`",
    ))
}

/// What an `.npz` archive holds.
#[derive(Debug)]
pub enum NpzData {
    /// One data set to split.
    All(Dataset),
    /// A split of its own.
    Split(Split),
}

#[cfg(test)]
mod tests {
    use super::*;
    use npyz::WriterBuilder;

    #[test]
    fn a_header_longer_than_the_file_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        // Version 2 header claiming 0x277B0176 bytes in a 16-byte file.
        let mut raw = b"\x93NUMPY\x02\x00".to_vec();
        raw.extend_from_slice(&0x277B_0176u32.to_le_bytes());
        raw.extend_from_slice(b"{'d");
        std::fs::write(&p, &raw).unwrap();
        let e = load_npy(&p).unwrap_err().to_string();
        assert!(e.contains("header claims 662372726 bytes"), "{e}");
    }

    fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
        path: &Path,
        shape: &[u64],
        v: &[T],
    ) {
        let mut buf = Vec::new();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend(v.iter().copied()).unwrap();
        w.finish().unwrap();
        std::fs::write(path, buf).unwrap();
    }

    #[test]
    fn uint8_images_are_scaled_nhwc_is_transposed_and_labels_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("x.npy");
        // [N=2, H=2, W=2, C=3], uint8: image 0 has a red, a green, a blue and a grey pixel.
        let px: [u8; 12] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 51, 51, 51];
        write_npy(&x, &[2, 2, 2, 3], &[px, px].concat());
        write_npy(&dir.path().join("x_labels.npy"), &[2], &[1i64, 0]);
        let d = load_npy(&x).unwrap();
        assert_eq!(d.sample_shape, [3, 2, 2]);
        assert_eq!(d.labels, [1, 0]);
        // Channels first: R = [1, 0, 0, .2], G = [0, 1, 0, .2], B = [0, 0, 1, .2].
        assert_eq!(
            d.row(0),
            [1.0, 0.0, 0.0, 0.2, 0.0, 1.0, 0.0, 0.2, 0.0, 0.0, 1.0, 0.2]
        );
        write_npy(&dir.path().join("x_labels.npy"), &[3], &[1i64, 0, 2]);
        let e = load_npy(&x).unwrap_err().to_string();
        assert!(
            e.contains("x_labels.npy") && e.contains("3 labels for 2 images"),
            "{e}"
        );
        write_npy(&x, &[2, 2], &[0.5f32, 2.0, 0.1, 0.2]);
        write_npy(&dir.path().join("x_labels.npy"), &[2], &[0i32, 1]);
        assert_eq!(
            load_npy(&x).unwrap().sample_shape,
            [2],
            "flat features are used as they are"
        );
        write_npy(&x, &[1, 2, 2], &[0.5f32, 2.0, 0.1, 0.2]);
        let e = load_npy(&x).unwrap_err().to_string();
        assert!(e.contains("[0, 1]"), "{e}");
    }

    #[test]
    fn a_truncated_npy_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let x = dir.path().join("x.npy");
        write_npy(&x, &[4, 8, 8], &[7u8; 256]);
        let bytes = std::fs::read(&x).unwrap();
        std::fs::write(&x, &bytes[..bytes.len() - 10]).unwrap();
        write_npy(&dir.path().join("labels.npy"), &[4], &[0u8, 1, 0, 1]);
        let e = load_npy(&x).unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn npz_with_its_own_split() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.npz");
        let mut npz = npyz::npz::NpzWriter::create(&p).unwrap();
        for (name, shape, v) in [
            (
                "x_train",
                vec![2u64, 2, 2],
                vec![0u8, 255, 0, 255, 255, 0, 255, 0],
            ),
            ("x_test", vec![1, 2, 2], vec![0, 0, 0, 255]),
        ] {
            let mut w = npz
                .array::<u8>(name, Default::default())
                .unwrap()
                .default_dtype()
                .shape(&shape)
                .begin_nd()
                .unwrap();
            w.extend(v).unwrap();
            w.finish().unwrap();
        }
        for (name, v) in [("y_train", vec![0i64, 1]), ("y_test", vec![1i64])] {
            let mut w = npz
                .array::<i64>(name, Default::default())
                .unwrap()
                .default_dtype()
                .shape(&[v.len() as u64])
                .begin_nd()
                .unwrap();
            w.extend(v).unwrap();
            w.finish().unwrap();
        }
        drop(npz);
        let NpzData::Split(s) = load_npz(&p).unwrap() else {
            panic!("x_train/x_test is a split")
        };
        assert_eq!((s.train.len(), s.test.len()), (2, 1));
        assert_eq!(s.train.sample_shape, [1, 2, 2]);
        assert_eq!(s.test.row(0), [0.0, 0.0, 0.0, 1.0]);
    }
}
