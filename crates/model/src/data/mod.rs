//! Data layer: IDX and CSV readers, the bundled sets, synthetic generators and seeded splits,
//! all producing a [`Dataset`] (flat rows `[N, F]` and labels) that models and analyses read.

mod dataset;
pub mod idx;
mod source;
pub mod synthetic;
pub mod tabular;

pub use dataset::{Dataset, Split, SplitInfo, shuffled_split, stratified_split};
pub use idx::{IdxArray, read_idx};
pub use source::{DEFAULT_TEST_FRACTION, DataSource, IDX_FILES, load_idx_dir, load_idx_images};
pub use synthetic::{InformativeData, gaussian_blobs, informative_features, two_moons};
pub use tabular::{read_csv, read_csv_columns};
