//! `cargo xtask bundle-assets`: rebuilds `assets/mnist/` from `../shared/data/mnist_5k.csv.gz`.
//!
//! The source has 5,000 rows of 784 pixels (0–255) and a label, sorted by label. It is split
//! with `aegis_model::data::stratified_split` (ChaCha8 seed 0, 20% per class held out), giving
//! 4,000 training and 1,000 test images with 400 / 100 per class, and written as MNIST-format
//! IDX gzip files. The output is deterministic; the committed files are what this produces.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use aegis_model::data::idx::encode_idx_u8;
use aegis_model::data::{Dataset, stratified_split};

/// Split seed of the bundled MNIST subset.
pub const MNIST_SPLIT_SEED: u64 = 0;

/// Reads the CSV (gzip) and writes the four IDX gzip files into `out_dir`.
pub fn bundle_mnist(src: &Path, out_dir: &Path) -> Result<()> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(src).with_context(|| format!("{}", src.display()))?,
    )
    .read_to_string(&mut text)
    .with_context(|| format!("{}: not a gzip text file", src.display()))?;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.trim().split(',').collect();
        if cells.len() != 785 {
            bail!(
                "{}: line {}: expected 785 fields, found {}",
                src.display(),
                i + 1,
                cells.len()
            );
        }
        for c in &cells[..784] {
            let v: u8 = c
                .parse()
                .with_context(|| format!("{}: line {}: bad pixel `{c}`", src.display(), i + 1))?;
            features.push(v as f32);
        }
        labels.push(
            cells[784]
                .parse::<usize>()
                .with_context(|| format!("{}: line {}: bad label", src.display(), i + 1))?,
        );
    }
    let data = Dataset {
        features,
        labels,
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        feature_names: Vec::new(),
        class_names: Vec::new(),
    };
    let split = stratified_split(&data, 0.2, MNIST_SPLIT_SEED);
    std::fs::create_dir_all(out_dir)?;
    for (prefix, part) in [("train", &split.train), ("t10k", &split.test)] {
        let pixels: Vec<u8> = part.features.iter().map(|&v| v as u8).collect();
        let labels: Vec<u8> = part.labels.iter().map(|&l| l as u8).collect();
        write_gz(
            &out_dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
            &encode_idx_u8(&[part.len(), 28, 28], &pixels),
        )?;
        write_gz(
            &out_dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
            &encode_idx_u8(&[part.len()], &labels),
        )?;
    }
    println!(
        "wrote {} train / {} test images to {}",
        split.train.len(),
        split.test.len(),
        out_dir.display()
    );
    Ok(())
}

fn write_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    // Fixed header (mtime 0, no name) so the output is byte-for-byte reproducible.
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let data = gz.finish()?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
