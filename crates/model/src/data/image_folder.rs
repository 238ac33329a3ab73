//! Image folders in torchvision's `ImageFolder` layout: `ROOT/<class>/*.png|jpg|jpeg`, class
//! indices in sorted folder-name order (as torchvision), pixels scaled to `[0, 1]`, channels
//! first. A root holding `train/` and `test/` (or `val/`) folders of that layout keeps that
//! split.
//!
//! Options (written after the path, e.g. `ROOT#size=32x32,channels=3`): `size` resizes every
//! image (bilinear, `HxW` or one number); `channels` is 1 (grey) or 3 (RGB). Without them,
//! every image must share one size, and the channels are 3 when any image has colour.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use image::imageops::FilterType;

use super::dataset::{Dataset, Split};
use crate::error::{ModelError, Result};

/// File extensions read as images.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// How images are brought to one shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Resize every image to `[h, w]`.
    pub size: Option<[u32; 2]>,
    /// 1 (grey) or 3 (RGB).
    pub channels: Option<u8>,
}

impl ImageOptions {
    /// Parses `size=HxW,channels=C` (either part optional).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let mut o = Self::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("size", v)) => {
                    let dims: Vec<u32> = v
                        .split('x')
                        .map(|d| d.parse().map_err(|_| format!("bad size `{v}`")))
                        .collect::<std::result::Result<_, _>>()?;
                    o.size = match dims[..] {
                        [s] if s > 0 => Some([s, s]),
                        [h, w] if h > 0 && w > 0 => Some([h, w]),
                        _ => return Err(format!("bad size `{v}`: HxW or one number, positive")),
                    };
                }
                Some(("channels", "1")) => o.channels = Some(1),
                Some(("channels", "3")) => o.channels = Some(3),
                _ => {
                    return Err(format!(
                        "unknown image option `{part}` (size=HxW, channels=1|3)"
                    ));
                }
            }
        }
        Ok(o)
    }

    /// The `size=…,channels=…` text, empty for no options.
    pub fn to_suffix(&self) -> String {
        let mut parts = Vec::new();
        if let Some([h, w]) = self.size {
            parts.push(format!("size={h}x{w}"));
        }
        if let Some(c) = self.channels {
            parts.push(format!("channels={c}"));
        }
        parts.join(",")
    }
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ModelError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The class folders of `root` (sorted) with their image files (sorted); `None` when `root`
/// is not in the layout.
fn class_files(root: &Path) -> Result<Option<Vec<(String, Vec<PathBuf>)>>> {
    let mut classes = Vec::new();
    for dir in sorted_entries(root)?.into_iter().filter(|p| p.is_dir()) {
        let files: Vec<PathBuf> = sorted_entries(&dir)?
            .into_iter()
            .filter(|p| is_image(p))
            .collect();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        classes.push((name, files));
    }
    let layout = !classes.is_empty() && classes.iter().any(|(_, f)| !f.is_empty());
    Ok(layout.then_some(classes))
}

/// True when `root` is an image folder (or holds `train/` and `test/`/`val/` ones).
pub fn is_image_folder(root: &Path) -> bool {
    root.is_dir() && (split_dirs(root).is_some() || matches!(class_files(root), Ok(Some(_))))
}

fn split_dirs(root: &Path) -> Option<(PathBuf, PathBuf)> {
    let train = root.join("train");
    let test = ["test", "val"]
        .iter()
        .map(|t| root.join(t))
        .find(|p| p.is_dir())?;
    (train.is_dir() && matches!(class_files(&train), Ok(Some(_)))).then_some((train, test))
}

fn decode(path: &Path) -> Result<DynamicImage> {
    image::ImageReader::open(path)
        .map_err(|e| ModelError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| ModelError::io(path, e))?
        .decode()
        .map_err(|e| ModelError::format(path, format!("cannot decode the image: {e}")))
}

/// Decodes, resizes and converts one image to `[C, H, W]` pixels in `[0, 1]`.
/// One decoded image as `[C, H, W]` pixels in `[0, 1]` (C = 1: grey, 3: RGB, channels
/// first), resized (bilinear) to `size = [h, w]` when it differs; `path` names it in errors.
pub fn pixels(path: &Path, img: DynamicImage, channels: u8, size: [u32; 2]) -> Result<Vec<f32>> {
    let [h, w] = size;
    let img = if (img.height(), img.width()) == (h, w) {
        img
    } else {
        img.resize_exact(w, h, FilterType::Triangle)
    };
    let hw = (h * w) as usize;
    Ok(match channels {
        1 => img
            .to_luma8()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect(),
        3 => {
            let raw = img.to_rgb8().into_raw();
            let mut out = vec![0f32; 3 * hw];
            for (p, px) in raw.chunks_exact(3).enumerate() {
                for k in 0..3 {
                    out[k * hw + p] = f32::from(px[k]) / 255.0;
                }
            }
            out
        }
        c => {
            return Err(ModelError::format(
                path,
                format!("{c} channels not supported"),
            ));
        }
    })
}

/// Loads one folder of class folders, with class names `names` (the train folder's, so test
/// labels agree) and the shape fixed by `opts` or by the first image.
fn load_folder(
    root: &Path,
    names: Option<&[String]>,
    opts: ImageOptions,
) -> Result<(Dataset, [u32; 2], u8)> {
    let classes = class_files(root)?.ok_or_else(|| {
        ModelError::format(root, "not an image folder: expected ROOT/<class>/*.png|jpg")
    })?;
    let names: Vec<String> = names.map_or_else(
        || classes.iter().map(|(n, _)| n.clone()).collect(),
        <[String]>::to_vec,
    );
    let mut images = Vec::new();
    for (name, files) in &classes {
        let label = names.iter().position(|n| n == name).ok_or_else(|| {
            ModelError::format(
                root.join(name),
                "class folder not among the training classes",
            )
        })?;
        for f in files {
            images.push((f.clone(), label, decode(f)?));
        }
    }
    let first = images
        .first()
        .ok_or_else(|| ModelError::format(root, "holds no images"))?;
    let size = opts.size.unwrap_or([first.2.height(), first.2.width()]);
    let colour = images.iter().any(|(_, _, i)| i.color().has_color());
    let channels = opts.channels.unwrap_or(if colour { 3 } else { 1 });
    let mut features =
        Vec::with_capacity(images.len() * channels as usize * (size[0] * size[1]) as usize);
    let mut labels = Vec::with_capacity(images.len());
    for (path, label, img) in images {
        if opts.size.is_none() && [img.height(), img.width()] != size {
            return Err(ModelError::format(
                &path,
                format!(
                    "is {}×{} but the first image is {}×{}; give a size (ROOT#size={}x{})",
                    img.height(),
                    img.width(),
                    size[0],
                    size[1],
                    size[0],
                    size[1]
                ),
            ));
        }
        features.extend(pixels(&path, img, channels, size)?);
        labels.push(label);
    }
    let data = Dataset {
        features,
        labels,
        sample_shape: vec![channels as usize, size[0] as usize, size[1] as usize],
        num_classes: names.len(),
        feature_names: Vec::new(),
        class_names: names,
    };
    Ok((data, size, channels))
}

/// Loads an image folder: `Ok(Split)` when it has `train/` and `test/` (or `val/`),
/// otherwise one data set to split.
pub fn load_image_folder(root: &Path, opts: ImageOptions) -> Result<ImageFolderData> {
    if let Some((train_dir, test_dir)) = split_dirs(root) {
        let (train, size, channels) = load_folder(&train_dir, None, opts)?;
        let fixed = ImageOptions {
            size: Some(size),
            channels: Some(channels),
        };
        let (test, _, _) = load_folder(&test_dir, Some(&train.class_names), fixed)?;
        return Ok(ImageFolderData::Split(Split { train, test }));
    }
    Ok(ImageFolderData::All(load_folder(root, None, opts)?.0))
}

/// What an image folder holds.
#[derive(Debug)]
pub enum ImageFolderData {
    /// One data set to split.
    All(Dataset),
    /// A split of its own.
    Split(Split),
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Rgb, RgbImage};

    fn write_rgb(path: &Path, w: u32, h: u32, v: [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_pixel(w, h, Rgb(v)).save(path).unwrap();
    }

    #[test]
    fn classes_are_sorted_folders_pixels_channels_first_in_unit_range() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_rgb(&root.join("dog/a.png"), 4, 3, [255, 0, 51]);
        write_rgb(&root.join("cat/b.jpg"), 4, 3, [0, 255, 0]);
        write_rgb(&root.join("cat/c.png"), 4, 3, [0, 0, 255]);
        std::fs::write(root.join("cat/notes.txt"), "ignored").unwrap();
        let ImageFolderData::All(d) = load_image_folder(root, ImageOptions::default()).unwrap()
        else {
            panic!("no split folders here")
        };
        assert_eq!(d.class_names, ["cat", "dog"]);
        assert_eq!(d.labels, [0, 0, 1]);
        assert_eq!(d.sample_shape, [3, 3, 4]);
        // dog/a.png: red plane 1.0, green 0, blue 0.2, each a 3×4 plane.
        let dog = d.row(2);
        assert_eq!((dog[0], dog[12], dog[24]), (1.0, 0.0, 0.2));
        assert!(d.features.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn sizes_must_agree_unless_resized_and_split_folders_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_rgb(&root.join("train/a/1.png"), 8, 8, [10, 10, 10]);
        write_rgb(&root.join("train/b/2.png"), 6, 5, [200, 200, 200]);
        write_rgb(&root.join("test/b/3.png"), 9, 9, [200, 200, 200]);
        let e = load_image_folder(root, ImageOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2.png") && e.contains("5×6") && e.contains("size="),
            "{e}"
        );
        let opts = ImageOptions::parse("size=4x4,channels=1").unwrap();
        let ImageFolderData::Split(s) = load_image_folder(root, opts).unwrap() else {
            panic!("train/ and test/ are a split")
        };
        assert_eq!(s.train.sample_shape, [1, 4, 4]);
        assert_eq!(s.test.sample_shape, [1, 4, 4]);
        assert_eq!((s.train.len(), s.test.len()), (2, 1));
        assert_eq!(
            s.test.labels,
            [1],
            "test labels follow the training classes"
        );
        assert!(ImageOptions::parse("size=0").is_err() && ImageOptions::parse("colour=3").is_err());
        assert_eq!(opts.to_suffix(), "size=4x4,channels=1");
        GrayImage::new(2, 2)
            .save(root.join("train/a/bad.png"))
            .unwrap();
        std::fs::write(root.join("train/a/broken.png"), b"not a png").unwrap();
        let e = load_image_folder(root, opts).unwrap_err().to_string();
        assert!(
            e.contains("broken.png") && e.contains("cannot decode"),
            "{e}"
        );
    }
}
