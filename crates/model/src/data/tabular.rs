//! CSV reader for tabular classification data.
//!
//! Rules: the first row is a header; one column is the target (by name, default `target`, else
//! the last column); every other cell must parse as a finite number. Integer targets `0..k` are
//! used as class indices directly; any other target values are sorted and numbered. A ragged
//! row, a non-numeric cell or a missing target column is an error naming the file, the line and
//! the column. Standardisation is **not** applied here: the model fits it on its training split
//! (see `ModelConfig::input_mean`), so test rows never leak into it.

use std::collections::BTreeSet;
use std::path::Path;

use super::dataset::Dataset;
use crate::error::{ModelError, Result};

/// Reads a CSV file; `target` names the label column (`None`: `target` if present, else the
/// last column).
pub fn read_csv(path: &Path, target: Option<&str>) -> Result<Dataset> {
    let text = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    parse_csv(path, &text, target)
}

/// Parses CSV bytes; `path` is only used in error messages.
pub fn parse_csv(path: &Path, bytes: &[u8], target: Option<&str>) -> Result<Dataset> {
    let fault = |msg: String| ModelError::format(path, msg);
    let (header, rows) = read_rows(path, bytes)?;
    if header.len() < 2 {
        return Err(fault(
            "the header must name at least one feature and a target".into(),
        ));
    }
    let target_col = match target {
        Some(name) => header.iter().position(|h| h == name).ok_or_else(|| {
            fault(format!(
                "no target column `{name}` in the header ({})",
                header.join(", ")
            ))
        })?,
        None => header
            .iter()
            .position(|h| h == "target")
            .unwrap_or(header.len() - 1),
    };
    let feature_cols: Vec<usize> = (0..header.len()).filter(|&i| i != target_col).collect();
    let features = numeric_cells(path, &header, &rows, &feature_cols)?;
    let mut raw_targets = Vec::with_capacity(rows.len());
    for (line, record) in &rows {
        let cell = &record[target_col];
        if cell.is_empty() {
            return Err(fault(format!(
                "line {line}: empty target `{}`",
                header[target_col]
            )));
        }
        raw_targets.push(cell.clone());
    }
    let (labels, class_names) = encode_targets(&raw_targets);
    if class_names.len() < 2 {
        return Err(fault(format!(
            "target `{}` has a single class; classification needs at least 2",
            header[target_col]
        )));
    }
    Ok(Dataset {
        features,
        labels,
        sample_shape: vec![feature_cols.len()],
        num_classes: class_names.len(),
        feature_names: feature_cols.iter().map(|&i| header[i].clone()).collect(),
        class_names,
    })
}

/// Reads the columns `names` (in that order) of a CSV file as numbers, ignoring any other
/// column (such as a target). Returns the row-major values and the number of rows.
pub fn read_csv_columns(path: &Path, names: &[String]) -> Result<(Vec<f32>, usize)> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let (header, rows) = read_rows(path, &bytes)?;
    let cols: Vec<usize> = names
        .iter()
        .map(|n| {
            header.iter().position(|h| h == n).ok_or_else(|| {
                ModelError::format(
                    path,
                    format!(
                        "missing feature column `{n}` (the model was trained on: {})",
                        names.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<_>>()?;
    Ok((numeric_cells(path, &header, &rows, &cols)?, rows.len()))
}

type Rows = Vec<(u64, Vec<String>)>;

/// Header and non-blank rows (with their line numbers); a row whose width differs from the
/// header's is an error; no rows at all is an error.
fn read_rows(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, Rows)> {
    let fault = |msg: String| ModelError::format(path, msg);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| fault(format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(fault("empty header".into()));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| fault(format!("unreadable row: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() == 1 && record[0].is_empty() {
            continue; // blank line
        }
        if record.len() != header.len() {
            return Err(fault(format!(
                "line {line}: expected {} fields as in the header, found {}",
                header.len(),
                record.len()
            )));
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    if rows.is_empty() {
        return Err(fault("no data rows".into()));
    }
    Ok((header, rows))
}

/// The cells of `cols` parsed as finite numbers, row-major.
fn numeric_cells(path: &Path, header: &[String], rows: &Rows, cols: &[usize]) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(rows.len() * cols.len());
    for (line, record) in rows {
        for &c in cols {
            let cell = &record[c];
            let v: f32 = cell.parse().map_err(|_| {
                ModelError::format(
                    path,
                    format!(
                        "line {line}, column `{}`: `{cell}` is not a number",
                        header[c]
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(ModelError::format(
                    path,
                    format!(
                        "line {line}, column `{}`: `{cell}` is not finite",
                        header[c]
                    ),
                ));
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// Integer targets forming `0..k` (some may be missing) map to themselves; anything else is
/// sorted (numerically when all are numbers) and numbered from 0.
fn encode_targets(raw: &[String]) -> (Vec<usize>, Vec<String>) {
    let as_int: Option<Vec<usize>> = raw.iter().map(|t| t.parse::<usize>().ok()).collect();
    if let Some(ints) = as_int {
        let k = ints.iter().max().copied().unwrap_or(0) + 1;
        if k <= 1000 {
            return (ints, (0..k).map(|i| i.to_string()).collect());
        }
    }
    let mut names: Vec<String> = raw
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        names.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    }
    let labels = raw
        .iter()
        .map(|t| names.iter().position(|n| n == t).unwrap())
        .collect();
    (labels, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset> {
        parse_csv(Path::new("t.csv"), text.as_bytes(), None)
    }

    #[test]
    fn reads_header_features_and_target() {
        let d = parse("a,b,target\n1,2,0\n3,4.5,1\n\n-1,0,1\n").unwrap();
        assert_eq!(d.feature_names, vec!["a", "b"]);
        assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.5, -1.0, 0.0]);
        assert_eq!(d.labels, vec![0, 1, 1]);
        assert_eq!(d.num_classes, 2);
        assert_eq!(d.sample_shape, vec![2]);
    }

    #[test]
    fn target_can_be_named_or_textual() {
        let d = parse_csv(Path::new("t.csv"), b"y,x\ncat,1\ndog,2\ncat,3\n", Some("y")).unwrap();
        assert_eq!(d.class_names, vec!["cat", "dog"]);
        assert_eq!(d.labels, vec![0, 1, 0]);
        assert_eq!(d.features, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            ("a,b,target\n1,2,0\n3,1\n", "line 3: expected 3 fields"),
            (
                "a,b,target\n1,x,0\n2,2,1\n",
                "line 2, column `b`: `x` is not a number",
            ),
            ("a,b,target\n1,inf,0\n2,2,1\n", "not finite"),
            ("a,b,target\n", "no data rows"),
            ("a,b,target\n1,2,0\n1,2,0\n", "single class"),
            ("a,b,target\n1,2,\n", "empty target"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with("t.csv: ") && e.contains(want), "{want}: {e}");
        }
        let e = parse_csv(Path::new("t.csv"), b"a,b\n1,0\n", Some("y"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no target column `y`"), "{e}");
    }
}
