//! Atomic file writes and strict JSON reading.
//!
//! Invariant: a file that Aegis writes is either its old content or its complete new content,
//! never a torn mix. Every writer goes through [`write_atomic`]: temp file in the same folder,
//! `fsync`, `rename` over the target, then `fsync` of the folder (so the rename itself
//! survives a crash).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ModelError, Result};

/// The temp path used while `path` is being written (same folder, so `rename` is atomic).
pub fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// SHA-256 (hex) of a file's bytes: the identity of weights in reports, queues, audit logs
/// and resume points.
pub fn file_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = fs::read(path).map_err(|e| ModelError::io(path, e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Runs `write` on a temp path beside `path`, syncs it, then renames it over `path`.
/// On failure the temp file is removed and `path` is untouched.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    }
    let tmp = temp_path_for(path);
    let result = write(&tmp)
        .and_then(|()| fs::File::open(&tmp)?.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(ModelError::io(path, e));
    }
    sync_parent(path)
}

/// `fsync` of the folder holding `path`, so that a file just created or renamed there
/// survives a crash (the data's own `fsync` does not cover its directory entry).
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ModelError::io(dir, e))
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| ModelError::format(path, format!("cannot serialise JSON: {e}")))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file into `T`, rejecting fields that `T` does not know.
///
/// Unknown fields are found by serialising the parsed value back and comparing key sets
/// recursively, so it works for any `Serialize + DeserializeOwned` type, including burn
/// `#[derive(Config)]` structs whose defaults fill missing fields.
pub fn read_json_strict<T: Serialize + DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    parse_json_strict(path, &text)
}

/// [`read_json_strict`] on text already read from `path`.
pub fn parse_json_strict<T: Serialize + DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let config_err = |fault: String| ModelError::Config {
        path: path.to_path_buf(),
        fault,
    };
    let raw: serde_json::Value =
        serde_json::from_str(text).map_err(|e| config_err(e.to_string()))?;
    let value: T = serde_json::from_value(raw.clone()).map_err(|e| config_err(e.to_string()))?;
    let known = serde_json::to_value(&value).map_err(|e| config_err(e.to_string()))?;
    if let Some(field) = first_unknown_field(&raw, &known, "") {
        return Err(config_err(format!("unknown field `{field}`")));
    }
    Ok(value)
}

/// Reads a JSON object from `path` whose fields override those of `defaults`: fields left out
/// keep their default, unknown fields and wrong types are errors naming the file. For
/// settings files written by hand (e.g. `train --config`).
pub fn read_json_over_defaults<T: Serialize + DeserializeOwned>(
    path: &Path,
    defaults: &T,
) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let config_err = |fault: String| ModelError::Config {
        path: path.to_path_buf(),
        fault,
    };
    let user: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| config_err(e.to_string()))?;
    let serde_json::Value::Object(user) = user else {
        return Err(config_err("expected a JSON object".into()));
    };
    let mut merged = serde_json::to_value(defaults).map_err(|e| config_err(e.to_string()))?;
    let Some(fields) = merged.as_object_mut() else {
        return Err(config_err("defaults are not an object".into()));
    };
    for (key, value) in user {
        if !fields.contains_key(&key) {
            return Err(config_err(format!("unknown field `{key}`")));
        }
        fields.insert(key, value);
    }
    parse_json_strict(path, &merged.to_string())
}

fn first_unknown_field(
    raw: &serde_json::Value,
    known: &serde_json::Value,
    prefix: &str,
) -> Option<String> {
    use serde_json::Value;
    match (raw, known) {
        (Value::Object(r), Value::Object(k)) => r.iter().find_map(|(key, rv)| {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match k.get(key) {
                None => Some(name),
                Some(kv) => first_unknown_field(rv, kv, &name),
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Option<u32>,
    }
    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Outer {
        inner: Inner,
        name: String,
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.json");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp file left behind");
    }

    #[test]
    fn failed_write_keeps_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |tmp| {
            fs::write(tmp, b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"));
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn partial_json_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let defaults = Outer {
            inner: Inner { a: 1, b: Some(2) },
            name: "d".into(),
        };
        fs::write(&p, r#"{"name": "x"}"#).unwrap();
        let v: Outer = read_json_over_defaults(&p, &defaults).unwrap();
        assert_eq!(
            v,
            Outer {
                inner: Inner { a: 1, b: Some(2) },
                name: "x".into()
            }
        );
        fs::write(&p, r#"{"nam": "x"}"#).unwrap();
        let e = read_json_over_defaults(&p, &defaults)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `nam`") && e.contains("c.json"),
            "{e}"
        );
        fs::write(&p, r#"{"name": 3}"#).unwrap();
        assert!(
            read_json_over_defaults(&p, &defaults)
                .unwrap_err()
                .to_string()
                .contains("invalid type")
        );
        fs::write(&p, "[1]").unwrap();
        assert!(
            read_json_over_defaults(&p, &defaults)
                .unwrap_err()
                .to_string()
                .contains("expected a JSON object")
        );
    }

    #[test]
    fn strict_json_rejects_unknown_and_wrong_fields() {
        let p = Path::new("cfg.json");
        let ok: Outer = parse_json_strict(p, r#"{"inner":{"a":1},"name":"n"}"#).unwrap();
        assert_eq!(ok.inner.a, 1);
        let e = parse_json_strict::<Outer>(p, r#"{"inner":{"a":1,"zz":2},"name":"n"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `inner.zz`") && e.contains("cfg.json"),
            "{e}"
        );
        let e = parse_json_strict::<Outer>(p, r#"{"inner":{"a":"x"},"name":"n"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid type"), "{e}");
        let e = parse_json_strict::<Outer>(p, "{not json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cfg.json: invalid config"), "{e}");
    }
}
