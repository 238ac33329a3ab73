//! The classes of a data set seen through a model: a run's data is labelled in the model's
//! classes (its output width and the names `config.json` records), not in the classes the
//! labels happen to use. A test set that lacks some classes (a subset, a small sample, one
//! class) keeps the model's count; a label the model cannot output is an error naming the
//! data and the row.
//!
//! Labels of numbered data (IDX, NumPy, any data whose class names are `0, 1, …`) are class
//! indices. Labels of named data (CSV label columns, image folders) are matched to the model's
//! class names by name, so a file whose rows use only some of the names still means the same
//! classes.

use crate::error::{ModelError, Result};

use super::dataset::Dataset;

/// The classes a model outputs, by index.
#[derive(Debug, Clone, Copy)]
pub struct ModelClasses<'a> {
    /// The model's output width (`C` of its `[N, C]` logits).
    pub count: usize,
    /// The class names by index (`config.json`'s); empty or of another length means numbered.
    pub names: &'a [String],
}

impl ModelClasses<'_> {
    /// The model's names when there is one per class, else `0, 1, …, C − 1`.
    pub fn names_or_numbers(&self) -> Vec<String> {
        if self.names.len() == self.count {
            self.names.to_vec()
        } else {
            (0..self.count).map(|c| c.to_string()).collect()
        }
    }
}

/// True when `names` are `0, 1, 2, …` (labels that are their own class index).
fn numbered(names: &[String]) -> bool {
    names.iter().enumerate().all(|(i, n)| *n == i.to_string())
}

/// Where each of `data`'s class indices lands among the model's classes: the same index for
/// numbered data, the position of the class's name otherwise. Only classes that some row uses
/// must land; the first row whose class does not is the error, naming `source` and `part`.
pub fn class_mapping(
    data: &Dataset,
    classes: &ModelClasses,
    source: &str,
    part: Option<&str>,
) -> Result<Vec<usize>> {
    let by_name = !numbered(&data.class_names)
        && classes.names.len() == classes.count
        && !numbered(classes.names);
    let width = data
        .num_classes
        .max(data.labels.iter().max().map_or(0, |&m| m + 1));
    let target: Vec<Option<usize>> = (0..width)
        .map(|k| {
            if by_name {
                let name = data.class_names.get(k)?;
                classes.names.iter().position(|n| n == name)
            } else {
                (k < classes.count).then_some(k)
            }
        })
        .collect();
    if let Some((row, &label)) = data
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| target[l].is_none())
    {
        let shown = match data.class_names.get(label) {
            Some(name) if by_name => format!("label '{name}'"),
            _ => format!("label {label}"),
        };
        let part = part.map_or(String::new(), |p| format!(" of its {p} part"));
        let model = if by_name {
            format!("the model's classes ({})", classes.names.join(", "))
        } else {
            format!(
                "the model's {} classes (0 to {})",
                classes.count,
                classes.count.saturating_sub(1)
            )
        };
        return Err(ModelError::format(
            source,
            format!("{shown} of row {row}{part} is not one of {model}"),
        ));
    }
    Ok(target
        .into_iter()
        .map(|t| t.unwrap_or(usize::MAX))
        .collect())
}

/// Relabels `data` through `mapping` (from [`class_mapping`]) into the model's classes: labels,
/// class count and class names become the model's.
pub fn relabel(data: &mut Dataset, mapping: &[usize], classes: &ModelClasses) {
    for l in &mut data.labels {
        *l = mapping[*l];
    }
    data.num_classes = classes.count;
    data.class_names = classes.names_or_numbers();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(labels: Vec<usize>, names: &[&str]) -> Dataset {
        Dataset {
            features: vec![0.0; labels.len()],
            labels,
            sample_shape: vec![1],
            num_classes: names.len(),
            feature_names: Vec::new(),
            class_names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn numbered_labels_keep_their_index_and_take_the_models_count() {
        let mut d = data(vec![3, 3, 6], &["0", "1", "2", "3", "4", "5", "6"]);
        let names = strings(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        let classes = ModelClasses {
            count: 10,
            names: &names,
        };
        let m = class_mapping(&d, &classes, "x.npy", None).unwrap();
        relabel(&mut d, &m, &classes);
        assert_eq!(d.labels, vec![3, 3, 6]);
        assert_eq!((d.num_classes, d.class_names.len()), (10, 10));
        assert_eq!(d.class_counts()[9], 0);
    }

    #[test]
    fn a_label_the_model_cannot_output_names_the_file_and_row() {
        let d = data(vec![0, 1, 12, 1], &["0", "1"]);
        let classes = ModelClasses {
            count: 10,
            names: &[],
        };
        let e = class_mapping(&d, &classes, "data/test.npy", Some("test"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("data/test.npy"), "{e}");
        assert!(e.contains("label 12 of row 2 of its test part"), "{e}");
        assert!(e.contains("10 classes (0 to 9)"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn named_labels_are_matched_by_name() {
        // A CSV whose rows use only "versicolor" and "virginica": the data numbers them 0, 1,
        // the model (trained on all three) 1, 2.
        let mut d = data(vec![0, 1, 1], &["versicolor", "virginica"]);
        let names = strings(&["setosa", "versicolor", "virginica"]);
        let classes = ModelClasses {
            count: 3,
            names: &names,
        };
        let m = class_mapping(&d, &classes, "iris.csv", None).unwrap();
        relabel(&mut d, &m, &classes);
        assert_eq!(d.labels, vec![1, 2, 2]);
        assert_eq!(d.class_names, names);

        let d = data(vec![0, 1], &["versicolor", "daisy"]);
        let e = class_mapping(&d, &classes, "iris.csv", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 'daisy' of row 1"), "{e}");
        assert!(e.contains("setosa, versicolor, virginica"), "{e}");
    }
}
