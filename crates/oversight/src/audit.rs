//! The append-only audit log of human review decisions (JSONL, one record per line).
//!
//! Durability contract: [`AuditLog::append`] writes the whole line (record + `\n`) with one
//! `write_all` on a file opened in append mode and then calls `sync_data`, so once it returns
//! the decision survives a crash or SIGKILL of the process. Earlier lines are never rewritten
//! or truncated. Reading validates every line: a malformed line is an error naming the file and
//! the 1-based line number; a final line without its newline (a write cut short by a power
//! loss) is reported the same way rather than silently dropped.
//!
//! Undo never rewrites the log either: it appends a [`Decision::Revoke`] line, which withdraws
//! the same reviewer's latest standing decision on the item ([`crate::Ledger`] folds a log's
//! revokes into the decisions that stand).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{OversightError, Result};

/// What the reviewer did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The model's prediction is right.
    Accept,
    /// The reviewer gives another label.
    Override,
    /// No decision; the item stays with the model's prediction.
    Skip,
    /// Undo: withdraws this reviewer's latest standing decision on the item (no label).
    Revoke,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// The queue item.
    pub item_id: String,
    /// SHA-256 of the model weights (`model.bpk`) the prediction came from.
    pub model_hash: String,
    /// The model's prediction.
    pub prediction: usize,
    /// The decision.
    pub decision: Decision,
    /// The final label: the prediction when accepted, the reviewer's label when overridden,
    /// none when skipped or revoked.
    pub label: Option<usize>,
    /// Who decided.
    pub reviewer: String,
    /// When, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

/// An open audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    records: Vec<AuditRecord>,
}

impl AuditLog {
    /// Opens (creating if needed) the log at `path`, reading and validating every existing
    /// record.
    pub fn open(path: &Path) -> Result<Self> {
        let records = if path.exists() {
            read_audit_log(path)?
        } else {
            Vec::new()
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| OversightError::io(dir, e))?;
        }
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| OversightError::io(path, e))?;
        if created {
            // The file's own fsync does not cover its directory entry: without this, a crash
            // right after the first decision could lose the whole log.
            aegis_model::io::sync_parent(path)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            records,
        })
    }

    /// The records read at opening plus those appended since.
    pub fn records(&self) -> &[AuditRecord] {
        &self.records
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` durably (see the module doc) before returning.
    pub fn append(&mut self, record: AuditRecord) -> Result<()> {
        let mut line = serde_json::to_string(&record)
            .map_err(|e| OversightError::invalid("record", e.to_string()))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| OversightError::io(&self.path, e))?;
        self.records.push(record);
        Ok(())
    }
}

/// Reads and validates every record of an audit log.
pub fn read_audit_log(path: &Path) -> Result<Vec<AuditRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| OversightError::io(path, e))?;
    let mut out = Vec::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        // Only the last piece can lack its newline.
        if !raw.ends_with('\n') {
            return Err(OversightError::bad_line(
                path,
                line_no,
                "incomplete record (no newline at the end of the file: a write was cut short); \
                 earlier records are intact — move the file aside to inspect it",
            ));
        }
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(line).map_err(|e| {
            OversightError::bad_line(path, line_no, format!("not an audit record: {e}"))
        })?;
        if rec.decision == Decision::Override && rec.label.is_none() {
            return Err(OversightError::bad_line(
                path,
                line_no,
                "an override without a label",
            ));
        }
        if rec.decision == Decision::Revoke && rec.label.is_some() {
            return Err(OversightError::bad_line(
                path,
                line_no,
                "a revoke with a label",
            ));
        }
        out.push(rec);
    }
    Ok(out)
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-27T10:15:03.042Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_millis())
}

/// Formats seconds since the Unix epoch (UTC) with milliseconds (Howard Hinnant's
/// days-to-civil algorithm).
pub fn rfc3339(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, decision: Decision, label: Option<usize>) -> AuditRecord {
        AuditRecord {
            item_id: id.into(),
            model_hash: "abc".into(),
            prediction: 3,
            decision,
            label,
            reviewer: "ann".into(),
            timestamp: now_rfc3339(),
        }
    }

    #[test]
    fn appends_survive_reopening_and_earlier_lines_are_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&p).unwrap();
        log.append(rec("a", Decision::Accept, Some(3))).unwrap();
        let first = std::fs::read(&p).unwrap();
        drop(log);
        let mut log = AuditLog::open(&p).unwrap();
        assert_eq!(log.records().len(), 1);
        log.append(rec("b", Decision::Override, Some(5))).unwrap();
        let both = std::fs::read(&p).unwrap();
        assert_eq!(&both[..first.len()], first.as_slice(), "append only");
        assert_eq!(read_audit_log(&p).unwrap().len(), 2);
    }

    #[test]
    fn a_corrupt_or_cut_line_is_named_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let good = serde_json::to_string(&rec("a", Decision::Skip, None)).unwrap();
        std::fs::write(&p, format!("{good}\n{{not json\n{good}\n")).unwrap();
        let e = AuditLog::open(&p).unwrap_err().to_string();
        assert!(e.contains("audit.jsonl") && e.contains("line 2"), "{e}");
        std::fs::write(&p, format!("{good}\n{}", &good[..20])).unwrap();
        let e = read_audit_log(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("incomplete"), "{e}");
        let bad = good.replace("\"skip\"", "\"override\"");
        std::fs::write(&p, format!("{bad}\n")).unwrap();
        assert!(
            read_audit_log(&p)
                .unwrap_err()
                .to_string()
                .contains("without a label")
        );
        let revoke = serde_json::to_string(&rec("a", Decision::Revoke, Some(1))).unwrap();
        std::fs::write(&p, format!("{good}\n{revoke}\n")).unwrap();
        let e = read_audit_log(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("revoke with a label"),
            "{e}"
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        // 2026-11-27T10:15:03Z = 1795774503 (date -u -d 2026-11-27T10:15:03Z +%s).
        assert_eq!(rfc3339(1_795_774_503, 42), "2026-11-27T10:15:03.042Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }
}
