//! The book's runnable command blocks, run over the real binaries on the bundled data.
//!
//! A block is runnable when its info string is `sh,run` (optionally `sh,run,exit=N`): every
//! command in it must exit 0, the last one N (default 0). A ```` ```text,output ```` block
//! right after it lists lines that the last command's output (stdout and stderr) must
//! contain; it is only used for output that is the same on every machine (an error message),
//! never for a trained model's numbers. Commands are written as a user types them:
//! `cargo run [--release] -p PACKAGE -- ARGS`, `cargo run --bin aegis -- ARGS`, or a binary's
//! name; `VAR=value` lines set `$VAR`; `#` starts a comment; `\` continues a line.
//!
//! Each page's blocks run in order in one fresh temporary folder (so a page may train a model
//! and audit it), where `tests/fixtures` links to the repository's fixtures. The binaries are
//! the ones `cargo test --workspace` builds beside this test's `aegis`. A failing block fails
//! the test with its page and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/book.rs"]
mod book;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One runnable block: where it is, its commands with their lines, what it must give.
#[derive(Debug)]
struct Block {
    commands: Vec<(usize, String)>,
    exit: i32,
    output: Vec<String>,
}

/// The runnable blocks of `text`.
fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let info = lines[i].trim().strip_prefix("```").map(str::trim);
        let Some(info) = info.filter(|s| !s.is_empty()) else {
            if lines[i].trim().starts_with("```") {
                i = skip_block(&lines, i);
            }
            i += 1;
            continue;
        };
        let words: Vec<&str> = info.split(',').map(str::trim).collect();
        let end = skip_block(&lines, i);
        if words.first() == Some(&"text") && words.contains(&"output") {
            if let Some(last) = out.last_mut().filter(|b| b.output.is_empty()) {
                let body = &lines[i + 1..end];
                last.output = body
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.to_string())
                    .collect();
            }
        } else if words.first() == Some(&"sh") && words.contains(&"run") {
            let exit = words
                .iter()
                .find_map(|w| w.strip_prefix("exit="))
                .map_or(0, |n| n.parse().expect("exit=N takes a number"));
            out.push(Block {
                commands: commands(&lines, i + 1, end),
                exit,
                output: Vec::new(),
            });
        }
        i = end + 1;
    }
    out
}

/// The index of the fence closing the block opened at `open` (the last line when unclosed).
fn skip_block(lines: &[&str], open: usize) -> usize {
    (open + 1..lines.len())
        .find(|&k| lines[k].trim_start().starts_with("```"))
        .unwrap_or(lines.len() - 1)
}

/// The commands of the block body `lines[from..to]`, continuations joined, with the 1-based
/// line each starts on; comments and blank lines dropped.
fn commands(lines: &[&str], from: usize, to: usize) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (k, line) in lines.iter().enumerate().take(to).skip(from) {
        let (text, continues) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line.trim_end(), false),
        };
        if open {
            out.last_mut()
                .expect("a command is open")
                .1
                .push_str(&format!(" {text}"));
        } else if !text.trim().is_empty() && !text.trim_start().starts_with('#') {
            out.push((k + 1, text.to_string()));
        }
        open = continues && !out.is_empty();
    }
    out
}

/// `line` split as a shell would for these simple commands: words, '…' and "…" quotes,
/// `#` comments, `$VAR` from `vars`.
fn words(line: &str, vars: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            '#' if word.is_none() => break,
            c if c.is_whitespace() => out.extend(word.take()),
            '$' => {
                let mut name = String::new();
                while let Some(&n) = chars
                    .peek()
                    .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
                {
                    name.push(n);
                    chars.next();
                }
                let value = vars.get(&name).cloned().unwrap_or_default();
                word.get_or_insert_with(String::new).push_str(&value);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

/// The binary and arguments a command's words name, or why it is not one this runner runs.
fn program(words: &[String]) -> Result<(String, Vec<String>), String> {
    let first = words.first().map(String::as_str).unwrap_or("");
    if first == "cargo" && words.get(1).map(String::as_str) == Some("run") {
        let dash = words.iter().position(|w| w == "--").unwrap_or(words.len());
        let head = &words[2..dash];
        let name = head
            .windows(2)
            .find(|p| p[0] == "-p" || p[0] == "--package" || p[0] == "--bin")
            .map(|p| p[1].split('@').next().unwrap_or("").to_string())
            .ok_or("`cargo run` without -p PACKAGE or --bin NAME")?;
        return Ok((name, words[(dash + 1).min(words.len())..].to_vec()));
    }
    if first.starts_with("aegis") {
        return Ok((first.to_string(), words[1..].to_vec()));
    }
    Err(format!("`{first}` is not an Aegis binary or `cargo run`"))
}

/// Runs `blocks` of `page` in `dir`; the first failure as `page:line: …`.
fn run_blocks(page: &str, blocks: &[Block], dir: &Path) -> Result<usize, String> {
    let bins = Path::new(env!("CARGO_BIN_EXE_aegis"))
        .parent()
        .expect("target folder")
        .to_path_buf();
    let mut vars = BTreeMap::new();
    let mut ran = 0;
    for block in blocks {
        for (k, (line, command)) in block.commands.iter().enumerate() {
            let here = format!("{page}:{line}: `{command}`");
            let w = words(command, &vars);
            if w.len() == 1 && w[0].contains('=') && !w[0].starts_with('-') {
                let (name, value) = w[0].split_once('=').expect("checked");
                vars.insert(name.to_string(), value.to_string());
                continue;
            }
            let (name, args) = program(&w).map_err(|e| format!("{here}: {e}"))?;
            let exe = bins.join(&name);
            if !exe.is_file() {
                return Err(format!(
                    "{here}: {} is not built (`cargo build --bins --workspace`; `cargo test --workspace` builds it)",
                    exe.display()
                ));
            }
            let out = Command::new(&exe)
                .args(&args)
                .current_dir(dir)
                .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
                .output()
                .map_err(|e| format!("{here}: {e}"))?;
            ran += 1;
            let want = if k + 1 == block.commands.len() {
                block.exit
            } else {
                0
            };
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.code() != Some(want) {
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                return Err(format!(
                    "{here}: exit {:?}, expected {want}; output ends:\n{}",
                    out.status.code(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            if k + 1 == block.commands.len() {
                if let Some(missing) = block.output.iter().find(|l| !text.contains(l.trim())) {
                    return Err(format!("{here}: output lacks `{missing}`; it was:\n{text}"));
                }
            }
        }
    }
    Ok(ran)
}

/// A fresh folder with `tests/fixtures` linked to the repository's.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("tests")).expect("tests/");
    std::os::unix::fs::symlink(
        root().join("tests/fixtures"),
        dir.path().join("tests/fixtures"),
    )
    .expect("fixtures link");
    dir
}

#[test]
fn every_runnable_block_of_the_book_runs() {
    let mut failures = Vec::new();
    let (mut pages_run, mut commands_run) = (0, 0);
    for page in book::book_pages(root()) {
        let text = std::fs::read_to_string(&page).expect("page");
        let found = blocks(&text);
        if found.is_empty() {
            continue;
        }
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        match run_blocks(&name, &found, workdir().path()) {
            Ok(n) => commands_run += n,
            Err(e) => failures.push(e),
        }
        pages_run += 1;
    }
    assert!(
        failures.is_empty(),
        "book blocks failed:\n{}",
        failures.join("\n\n")
    );
    assert!(
        pages_run >= 5 && commands_run >= 15,
        "only {commands_run} commands on {pages_run} pages ran"
    );
}

#[test]
fn a_failing_block_names_its_page_and_line() {
    let page = "# A page\n\n```sh,run\ncargo run -p aegis-model -- train \\\n    --epochs 0   # out of range\n```\n\n```sh\nnot run\n```\n";
    let found = blocks(page);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].commands,
        [(
            4,
            "cargo run -p aegis-model -- train      --epochs 0   # out of range".to_string()
        )]
    );
    let err = run_blocks("fake.md", &found, workdir().path()).unwrap_err();
    assert!(
        err.starts_with("fake.md:4: `cargo run -p aegis-model -- train"),
        "{err}"
    );
    assert!(err.contains("exit Some(2), expected 0"), "{err}");
}

#[test]
fn expected_output_and_exit_codes_are_checked() {
    let page = "```sh,run,exit=2\naegis-model train --epochs 0\n```\n\n```text,output\ninvalid epochs\n```\n\n```sh,run,exit=2\nF=0\naegis-model train --epochs $F\n```\n```text,output\nno such text\n```\n";
    let found = blocks(page);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].output, ["invalid epochs"]);
    let dir = workdir();
    assert_eq!(run_blocks("ok.md", &found[..1], dir.path()), Ok(1));
    let err = run_blocks("bad.md", &found[1..], dir.path()).unwrap_err();
    assert!(
        err.starts_with("bad.md:11:") && err.contains("lacks `no such text`"),
        "{err}"
    );
}
