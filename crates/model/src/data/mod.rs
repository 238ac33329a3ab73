//! Data layer: IDX, CSV, NumPy (`.npy` / `.npz`) and image-folder readers, the bundled sets, synthetic generators and seeded splits,
//! all producing a [`Dataset`] (flat rows `[N, F]` and labels) that models and analyses read.

mod classes;
mod dataset;
mod domain;
pub mod idx;
pub mod image_folder;
pub mod npy;
mod source;
pub mod synthetic;
pub mod tabular;

pub use classes::{ModelClasses, class_mapping, relabel};
pub use dataset::{
    Dataset, MAX_CLASSES, Split, SplitInfo, class_indices, shuffled_split, stratified_split,
};
pub use domain::{DomainKind, InputDomain};
pub use idx::{IdxArray, read_idx};
pub use image_folder::{ImageOptions, load_image_folder};
pub use npy::{load_npy, load_npz};
pub use source::{DEFAULT_TEST_FRACTION, DataSource, IDX_FILES, load_idx_dir, load_idx_images};
pub use synthetic::{InformativeData, gaussian_blobs, informative_features, two_moons};
pub use tabular::{read_csv, read_csv_columns};
