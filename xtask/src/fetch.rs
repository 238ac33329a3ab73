//! `cargo xtask fetch-mnist`: downloads the full MNIST (60,000 / 10,000) for users with
//! internet access, checking every file's SHA-256 before it is kept.
//!
//! Files are written atomically (download to a temp file, verify, rename), so an interrupted or
//! corrupted download never leaves a file that looks complete. Files already present with the
//! right hash are not downloaded again. The result is a folder that `--data DIR` reads.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Default mirror (the one torchvision uses).
pub const DEFAULT_BASE_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// The four MNIST files and their published SHA-256 (as listed by TensorFlow Datasets).
pub const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads each `(name, sha256)` from `base_url` into `out_dir`, verifying the hashes.
pub fn fetch(base_url: &str, out_dir: &Path, files: &[(&str, &str)]) -> Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("{}: cannot create", out_dir.display()))?;
    let base = if base_url.ends_with('/') {
        base_url.to_string()
    } else {
        format!("{base_url}/")
    };
    for (name, expected) in files {
        let dest = out_dir.join(name);
        if let Ok(existing) = std::fs::read(&dest)
            && sha256_hex(&existing) == *expected
        {
            println!("{}: present, SHA-256 ok", dest.display());
            continue;
        }
        let url = format!("{base}{name}");
        println!("downloading {url}");
        let mut body = Vec::new();
        ureq::get(&url)
            .call()
            .with_context(|| format!("{url}: request failed"))?
            .into_body()
            .into_reader()
            .read_to_end(&mut body)
            .with_context(|| format!("{url}: download interrupted"))?;
        let actual = sha256_hex(&body);
        if actual != *expected {
            bail!(
                "{url}: SHA-256 mismatch (expected {expected}, got {actual}); nothing was written"
            );
        }
        let tmp = out_dir.join(format!(".{name}.part"));
        std::fs::write(&tmp, &body).with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, &dest)
            .with_context(|| format!("{}: cannot rename", dest.display()))?;
        println!("{}: {} bytes, SHA-256 ok", dest.display(), body.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A minimal HTTP/1.1 server on loopback that serves `files` (name → bytes) for a bounded
    /// number of requests, then stops.
    fn serve(files: Vec<(String, Vec<u8>)>, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_string();
                match files.iter().find(|(n, _)| *n == path) {
                    Some((_, body)) => {
                        write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .unwrap();
                        stream.write_all(body).unwrap();
                    }
                    None => {
                        write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
                    }
                }
            }
        });
        format!("http://{addr}/")
    }

    #[test]
    fn downloads_verifies_and_skips_present_files() {
        let a = b"first file".to_vec();
        let b = b"second file".to_vec();
        let (ha, hb) = (sha256_hex(&a), sha256_hex(&b));
        let url = serve(
            vec![("a.gz".into(), a.clone()), ("b.gz".into(), b.clone())],
            2,
        );
        let dir = tempfile::tempdir().unwrap();
        let table = [("a.gz", ha.as_str()), ("b.gz", hb.as_str())];
        fetch(&url, dir.path(), &table).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.gz")).unwrap(), a);
        assert_eq!(std::fs::read(dir.path().join("b.gz")).unwrap(), b);
        // The server has stopped; present files with the right hash are not fetched again.
        fetch(&url, dir.path(), &table).unwrap();
    }

    #[test]
    fn a_hash_mismatch_keeps_nothing() {
        let url = serve(vec![("a.gz".into(), b"tampered".to_vec())], 1);
        let dir = tempfile::tempdir().unwrap();
        let wrong = sha256_hex(b"original");
        let e = fetch(&url, dir.path(), &[("a.gz", wrong.as_str())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SHA-256 mismatch"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let url = serve(vec![], 1);
        let dir = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            fetch(&url, dir.path(), &[("x.gz", "00")]).unwrap_err()
        );
        assert!(e.contains("x.gz") && e.contains("404"), "{e}");
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
