//! Where training data comes from: the bundled sets, synthetic generators, or a user's files.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::classes::{ModelClasses, class_mapping, relabel};
use super::dataset::{Dataset, Split, SplitInfo, class_indices, stratified_split};
use super::idx::{parse_idx, read_idx};
use super::image_folder::{ImageFolderData, ImageOptions, is_image_folder, load_image_folder};
use super::npy::{NpzData, load_npy, load_npz};
use super::synthetic;
use super::tabular::{parse_csv, read_csv};
use crate::error::{ModelError, Result};

/// Bundled MNIST subset: 4,000 training / 1,000 test images (see `assets/README.md`).
const MNIST_TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../../assets/mnist/train-images-idx3-ubyte.gz");
const MNIST_TRAIN_LABELS: &[u8] =
    include_bytes!("../../../../assets/mnist/train-labels-idx1-ubyte.gz");
const MNIST_TEST_IMAGES: &[u8] =
    include_bytes!("../../../../assets/mnist/t10k-images-idx3-ubyte.gz");
const MNIST_TEST_LABELS: &[u8] =
    include_bytes!("../../../../assets/mnist/t10k-labels-idx1-ubyte.gz");
const BREAST_CANCER_CSV: &[u8] = include_bytes!("../../../../assets/breast_cancer.csv");
const WINE_CSV: &[u8] = include_bytes!("../../../../assets/wine.csv");

/// Fraction of rows held out for testing when a source has no split of its own.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// A data source as named on the command line (`--data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// Bundled MNIST subset (4,000 / 1,000), pixels scaled to `[0, 1]`.
    Mnist,
    /// Bundled Breast Cancer Wisconsin (569 rows, 30 features, 2 classes).
    BreastCancer,
    /// Bundled Wine recognition (178 rows, 13 features, 3 classes).
    Wine,
    /// Synthetic two moons (1,000 rows, noise 0.2, generated from the split seed).
    Moons,
    /// Synthetic Gaussian blobs (1,000 rows, 3 classes, 2-D, std 1.5).
    Blobs,
    /// Synthetic tabular set whose label depends on 3 of 10 features (2,000 rows).
    Informative,
    /// A folder of MNIST-format IDX files (`train-images-idx3-ubyte[.gz]`, …, `t10k-…`), an
    /// image folder (`ROOT/<class>/*.png|jpg`, options as `ROOT#size=32x32,channels=3`), a
    /// NumPy `.npy` (labels beside it) or `.npz` file, or a CSV file.
    Path(PathBuf),
}

impl FromStr for DataSource {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "mnist" => Self::Mnist,
            "breast-cancer" => Self::BreastCancer,
            "wine" => Self::Wine,
            "moons" => Self::Moons,
            "blobs" => Self::Blobs,
            "informative" => Self::Informative,
            other => Self::Path(PathBuf::from(other)),
        })
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mnist => f.write_str("mnist"),
            Self::BreastCancer => f.write_str("breast-cancer"),
            Self::Wine => f.write_str("wine"),
            Self::Moons => f.write_str("moons"),
            Self::Blobs => f.write_str("blobs"),
            Self::Informative => f.write_str("informative"),
            Self::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl serde::Serialize for DataSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for DataSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse().unwrap_or_else(|never| match never {}))
    }
}

impl DataSource {
    /// True for image sources whose pixels are scaled to `[0, 1]`.
    pub fn is_image(&self) -> bool {
        match self {
            Self::Mnist => true,
            Self::Path(p) => {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                p.is_dir() || p.to_string_lossy().contains('#') || ext == "npy" || ext == "npz"
            }
            _ => false,
        }
    }

    /// Loads the source and splits it. Sources with their own split (MNIST files) keep it;
    /// the others get a seeded stratified split with `test_fraction` held out. Classes are the
    /// data's own (see [`DataSource::load_split_for`] for a model's).
    pub fn load_split(&self, split_seed: u64, test_fraction: f64) -> Result<(Split, SplitInfo)> {
        self.load_split_classes(split_seed, test_fraction, None)
    }

    /// [`DataSource::load_split`] labelled in a model's classes: every row's label must be one
    /// the model outputs (an error names the data and the row otherwise), and both parts carry
    /// the model's class count and names, whichever classes their rows use. The split is the
    /// one [`DataSource::load_split`] makes.
    pub fn load_split_for(
        &self,
        split_seed: u64,
        test_fraction: f64,
        classes: &ModelClasses,
    ) -> Result<(Split, SplitInfo)> {
        self.load_split_classes(split_seed, test_fraction, Some(classes))
    }

    fn load_split_classes(
        &self,
        split_seed: u64,
        test_fraction: f64,
        classes: Option<&ModelClasses>,
    ) -> Result<(Split, SplitInfo)> {
        if !(0.0..1.0).contains(&test_fraction) || test_fraction == 0.0 {
            return Err(ModelError::invalid(
                "test fraction",
                format!("{test_fraction} not in (0, 1)"),
            ));
        }
        let name = self.to_string();
        let split = match self.load_unsplit(split_seed)? {
            Loaded::Split(mut split) => {
                if let Some(c) = classes {
                    let train = class_mapping(&split.train, c, &name, Some("training"))?;
                    let test = class_mapping(&split.test, c, &name, Some("test"))?;
                    relabel(&mut split.train, &train, c);
                    relabel(&mut split.test, &test, c);
                }
                split
            }
            Loaded::All(all) => {
                let mapping = match classes {
                    Some(c) => Some(class_mapping(&all, c, &name, None)?),
                    None => None,
                };
                // Split in the data's own classes (the split of `load_split`), then relabel.
                let mut split = stratified_split(&all, test_fraction, split_seed);
                if let (Some(c), Some(m)) = (classes, mapping) {
                    relabel(&mut split.train, &m, c);
                    relabel(&mut split.test, &m, c);
                }
                split
            }
        };
        let info = SplitInfo {
            seed: split_seed,
            test_fraction: split.test.len() as f64 / (split.train.len() + split.test.len()) as f64,
            n_train: split.train.len(),
            n_test: split.test.len(),
        };
        Ok((split, info))
    }

    /// The source as loaded: one set to split, or a split of its own.
    fn load_unsplit(&self, split_seed: u64) -> Result<Loaded> {
        Ok(match self {
            Self::Mnist => Loaded::Split(Split {
                train: idx_pair(
                    Path::new("<bundled>/train-images-idx3-ubyte.gz"),
                    MNIST_TRAIN_IMAGES,
                    Path::new("<bundled>/train-labels-idx1-ubyte.gz"),
                    MNIST_TRAIN_LABELS,
                )?,
                test: idx_pair(
                    Path::new("<bundled>/t10k-images-idx3-ubyte.gz"),
                    MNIST_TEST_IMAGES,
                    Path::new("<bundled>/t10k-labels-idx1-ubyte.gz"),
                    MNIST_TEST_LABELS,
                )?,
            }),
            Self::Path(p) => load_path(p)?,
            other => Loaded::All(other.load_all(split_seed)?),
        })
    }

    /// Loads every row of a source without splitting (for sources with a split of their own,
    /// train and test concatenated).
    pub fn load_all(&self, seed: u64) -> Result<Dataset> {
        Ok(match self {
            Self::BreastCancer => parse_csv(
                Path::new("<bundled>/breast_cancer.csv"),
                BREAST_CANCER_CSV,
                None,
            )?,
            Self::Wine => parse_csv(Path::new("<bundled>/wine.csv"), WINE_CSV, None)?,
            Self::Moons => synthetic::two_moons(1000, 0.2, seed),
            Self::Blobs => synthetic::gaussian_blobs(1000, 3, 2, 1.5, seed),
            Self::Informative => synthetic::informative_features(2000, 10, 3, seed).data,
            Self::Mnist => {
                let s = self.load_split(seed, DEFAULT_TEST_FRACTION)?.0;
                concat(s)
            }
            Self::Path(p) => match load_path(p)? {
                Loaded::Split(s) => concat(s),
                Loaded::All(all) => all,
            },
        })
    }
}

fn concat(s: Split) -> Dataset {
    let mut all = s.train;
    all.features.extend(s.test.features);
    all.labels.extend(s.test.labels);
    all
}

/// A user's data: one set to split, or a split of its own.
enum Loaded {
    All(Dataset),
    Split(Split),
}

/// `ROOT#size=32x32,channels=3` → the path and the image options.
fn split_options(p: &Path) -> Result<(PathBuf, ImageOptions)> {
    let s = p.to_string_lossy();
    match s.rsplit_once('#') {
        Some((root, opts)) => {
            let o = ImageOptions::parse(opts).map_err(|e| ModelError::format(root, e))?;
            Ok((PathBuf::from(root), o))
        }
        None => Ok((p.to_path_buf(), ImageOptions::default())),
    }
}

fn not_found(p: &Path) -> ModelError {
    ModelError::io(
        p,
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
    )
}

/// Loads a user's file or folder by what it is: an IDX folder, an image folder, `.npy`,
/// `.npz`, or else CSV.
fn load_path(p: &Path) -> Result<Loaded> {
    let (path, opts) = split_options(p)?;
    let p = path.as_path();
    if !p.exists() {
        return Err(not_found(p));
    }
    if p.is_dir() {
        if find_idx(p, IDX_FILES[0]).is_ok() {
            return Ok(Loaded::Split(load_idx_dir(p)?));
        }
        if is_image_folder(p) {
            return Ok(match load_image_folder(p, opts)? {
                ImageFolderData::All(d) => Loaded::All(d),
                ImageFolderData::Split(s) => Loaded::Split(s),
            });
        }
        return Err(ModelError::format(
            p,
            "neither an IDX folder (train-images-idx3-ubyte, …) nor an image folder (ROOT/<class>/*.png|jpg)",
        ));
    }
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("npy") => Loaded::All(load_npy(p)?),
        Some("npz") => match load_npz(p)? {
            NpzData::All(d) => Loaded::All(d),
            NpzData::Split(s) => Loaded::Split(s),
        },
        _ => Loaded::All(read_csv(p, None)?),
    })
}

/// File names looked for in an IDX folder, in MNIST's naming.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn find_idx(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(ModelError::io(
        dir.join(format!("{stem}[.gz]")),
        std::io::Error::new(std::io::ErrorKind::NotFound, "missing from the IDX folder"),
    ))
}

/// Loads a folder of MNIST-format IDX files (train and t10k parts).
pub fn load_idx_dir(dir: &Path) -> Result<Split> {
    let paths: Vec<PathBuf> = IDX_FILES
        .iter()
        .map(|s| find_idx(dir, s))
        .collect::<Result<_>>()?;
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| ModelError::io(p, e));
    Ok(Split {
        train: idx_pair(&paths[0], &read(&paths[0])?, &paths[1], &read(&paths[1])?)?,
        test: idx_pair(&paths[2], &read(&paths[2])?, &paths[3], &read(&paths[3])?)?,
    })
}

/// Loads an IDX image file (`[N, H, W]` or `[N, C, H, W]`, values 0–255) scaled to `[0, 1]`,
/// returning the flat pixels and the per-sample shape `[C, H, W]`.
pub fn load_idx_images(path: &Path) -> Result<(Vec<f32>, Vec<usize>)> {
    let a = read_idx(path)?;
    images_from_idx(path, a.dims, a.values)
}

fn images_from_idx(
    path: &Path,
    dims: Vec<usize>,
    values: Vec<f32>,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let shape = match dims.len() {
        3 => vec![1, dims[1], dims[2]],
        4 => dims[1..].to_vec(),
        _ => {
            return Err(ModelError::format(
                path,
                format!("image file must have 3 or 4 dimensions, has {dims:?}"),
            ));
        }
    };
    Ok((values.into_iter().map(|v| v / 255.0).collect(), shape))
}

/// Decodes an images file and a labels file into one data set (pixels scaled to `[0, 1]`).
fn idx_pair(
    img_path: &Path,
    img_bytes: &[u8],
    lab_path: &Path,
    lab_bytes: &[u8],
) -> Result<Dataset> {
    let img = parse_idx(img_path, img_bytes)?;
    let lab = parse_idx(lab_path, lab_bytes)?;
    let n = img.dims[0];
    let (features, sample_shape) = images_from_idx(img_path, img.dims, img.values)?;
    if lab.dims.len() != 1 {
        return Err(ModelError::format(
            lab_path,
            format!("labels must be 1-D, found dimensions {:?}", lab.dims),
        ));
    }
    if lab.dims[0] != n {
        return Err(ModelError::format(
            lab_path,
            format!(
                "{} labels for {n} images in {}",
                lab.dims[0],
                img_path.display()
            ),
        ));
    }
    let labels = class_indices(lab_path, &lab.values)?;
    let num_classes = labels.iter().max().map_or(0, |m| m + 1).max(10);
    Ok(Dataset {
        features,
        labels,
        sample_shape,
        num_classes,
        feature_names: Vec::new(),
        class_names: (0..num_classes).map(|i| i.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_labels_are_errors_naming_the_row_not_class_zero() {
        let p = Path::new("labels.idx");
        assert_eq!(class_indices(p, &[0.0, 3.0, 9.0]).unwrap(), vec![0, 3, 9]);
        for bad in [f32::NAN, -1.0, 2.5, 2.0e9, f32::INFINITY] {
            let e = class_indices(p, &[1.0, bad]).unwrap_err().to_string();
            assert!(e.starts_with("labels.idx: ") && e.contains("row 1"), "{e}");
        }
        // The file: a 2-row i32 label file holding 2,000,000,000.
        let mut raw = vec![0, 0, 0x0C, 1, 0, 0, 0, 2];
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&2_000_000_000i32.to_be_bytes());
        let (img, _) = (super::super::idx::encode_idx_u8(&[2, 2, 2], &[0; 8]), ());
        let e = idx_pair(Path::new("i"), &img, p, &raw)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2000000000") && e.contains("not a class index"),
            "{e}"
        );
    }

    #[test]
    fn bundled_mnist_is_the_documented_stratified_split() {
        let (s, info) = DataSource::Mnist.load_split(0, 0.2).unwrap();
        assert_eq!((info.n_train, info.n_test), (4000, 1000));
        assert_eq!(s.train.class_counts(), vec![400; 10]);
        assert_eq!(s.test.class_counts(), vec![100; 10]);
        assert_eq!(s.train.sample_shape, vec![1, 28, 28]);
        let (lo, hi) = s
            .train
            .features
            .iter()
            .fold((1f32, 0f32), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!((lo, hi), (0.0, 1.0));
        // Not sorted by label (the source file is).
        assert_ne!(&s.test.labels[..10], &[0; 10]);
    }

    #[test]
    fn bundled_tables_load() {
        let (s, _) = DataSource::BreastCancer.load_split(0, 0.2).unwrap();
        assert_eq!(s.train.len() + s.test.len(), 569);
        assert_eq!(s.train.dim(), 30);
        assert_eq!(s.train.num_classes, 2);
        let (s, _) = DataSource::Wine.load_split(0, 0.2).unwrap();
        assert_eq!(s.train.len() + s.test.len(), 178);
        assert_eq!((s.train.dim(), s.train.num_classes), (13, 3));
    }

    #[test]
    fn idx_folder_round_trip_and_label_mismatch() {
        use crate::data::idx::encode_idx_u8;
        let dir = tempfile::tempdir().unwrap();
        let img = encode_idx_u8(&[2, 28, 28], &[7u8; 2 * 784]);
        std::fs::write(dir.path().join("train-images-idx3-ubyte"), &img).unwrap();
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), &img).unwrap();
        std::fs::write(
            dir.path().join("train-labels-idx1-ubyte"),
            encode_idx_u8(&[2], &[1, 3]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte"),
            encode_idx_u8(&[3], &[1, 3, 4]),
        )
        .unwrap();
        let e = load_idx_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("3 labels for 2 images"), "{e}");
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte"),
            encode_idx_u8(&[2], &[0, 9]),
        )
        .unwrap();
        let s = load_idx_dir(dir.path()).unwrap();
        assert_eq!(s.train.labels, vec![1, 3]);
        assert!((s.test.features[0] - 7.0 / 255.0).abs() < 1e-7);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        let e = load_idx_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte") && e.contains("missing"),
            "{e}"
        );
    }
}
