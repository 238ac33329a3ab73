//! The layout bars of ARCHITECTURE.md, checked on the source tree so they stay true:
//! every source file opens with a `//!` doc, no file is over 600 lines (a binary's `main.rs`
//! over 200), no function over 120 lines, and no import circle between the files of a crate
//! (a `use` through a folder's re-exports counts as a use of the file that defines the name).
//! Test code under `tests/` is exempt from the size bars.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_MAIN_LINES: usize = 200;
const MAX_FN_LINES: usize = 120;

/// Every `.rs` file under the library and binary source folders of the workspace.
fn source_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![
        root.join("src"),
        root.join("xtask/src"),
        root.join("examples"),
    ];
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/ is readable") {
        roots.push(entry.expect("crates/ entry").path().join("src"));
    }
    let mut files = Vec::new();
    for dir in roots {
        collect_rs(&dir, &mut files);
    }
    files.sort();
    files
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string and char literals blanked (newlines kept), so braces
/// and `use` paths can be read without a parser.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let keep_newlines = |s: &[u8], out: &mut String| {
        for &c in s {
            if c == b'\n' {
                out.push('\n');
            }
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        let prev_ident = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let end = find(b, i + 2, b"*/").map_or(b.len(), |j| j + 2);
            keep_newlines(&b[i..end], &mut out);
            i = end;
        } else if !prev_ident && (rest.starts_with(b"r\"") || rest.starts_with(b"r#")) {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = find(b, i + 2 + hashes, &close).map_or(b.len(), |j| j + close.len());
            out.push_str("\"\"");
            keep_newlines(&b[i..end], &mut out);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            keep_newlines(&b[i..j.min(b.len())], &mut out);
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) is kept as is.
            let len = if rest.get(1) == Some(&b'\\') {
                rest.iter().skip(2).position(|&c| c == b'\'').map(|p| p + 3)
            } else {
                let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + ch) == Some(&b'\'')).then_some(ch + 2)
            };
            match len {
                Some(n) => {
                    out.push_str("' '");
                    i += n;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = src[i..].chars().next().expect("char boundary");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn line_of(s: &str, byte: usize) -> usize {
    s[..byte].matches('\n').count() + 1
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `(name, first line, line count)` of every function with a body.
fn functions(stripped: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(pos) = stripped[search..].find("fn ") {
        let at = search + pos;
        search = at + 3;
        if at > 0 && stripped[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let name: String = stripped[at + 3..]
            .trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        if name.is_empty() {
            continue;
        }
        let (Some(open), semi) = (stripped[at..].find('{'), stripped[at..].find(';')) else {
            continue;
        };
        if semi.is_some_and(|s| s < open) {
            continue; // a declaration without a body (trait method)
        }
        let open = at + open;
        let mut depth = 0usize;
        let mut close = stripped.len() - 1;
        for (k, c) in stripped[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = line_of(stripped, at);
        out.push((name, first, line_of(stripped, close) - first + 1));
    }
    out
}

#[test]
fn source_files_are_documented_and_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut faults = Vec::new();
    for path in source_files() {
        let src = std::fs::read_to_string(&path).expect("source is UTF-8");
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if !src.trim_start().starts_with("//!") {
            faults.push(format!("{rel}: does not open with a //! doc"));
        }
        let lines = src.lines().count();
        let is_main = path.ends_with("main.rs") && !rel.starts_with("xtask");
        let limit = if is_main {
            MAX_MAIN_LINES
        } else {
            MAX_FILE_LINES
        };
        if lines > limit {
            faults.push(format!("{rel}: {lines} lines (bar: {limit})"));
        }
        for (name, first, len) in functions(&strip(&src)) {
            if len > MAX_FN_LINES {
                faults.push(format!(
                    "{rel}:{first}: fn {name} has {len} lines (bar: {MAX_FN_LINES})"
                ));
            }
        }
    }
    assert!(faults.is_empty(), "layout bars:\n{}", faults.join("\n"));
}

/// A module path inside one crate, e.g. `["attacks", "pgd"]`; `[]` is `lib.rs`.
type ModPath = Vec<String>;

/// The files of one crate's library, keyed by module path.
fn crate_modules(src_dir: &Path) -> BTreeMap<ModPath, String> {
    let mut files = Vec::new();
    collect_rs(src_dir, &mut files);
    let mut mods = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(src_dir).expect("under src");
        let mut parts: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if rel == Path::new("main.rs") {
            continue; // the binary is its own crate
        }
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
            parts.pop();
        }
        let src = std::fs::read_to_string(&path).expect("source is UTF-8");
        let mut code = strip(&src);
        if let Some(tests) = code.find("#[cfg(test)]") {
            code.truncate(tests); // unit tests may use anything
        }
        mods.insert(parts, code);
    }
    mods
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0i32, String::new());
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand_use(p))
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// The file-level import graph of one crate.
fn import_graph(mods: &BTreeMap<ModPath, String>) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    // Where each public item is defined, to see through re-exports of a folder's mod.rs.
    let mut defined_in: BTreeMap<String, Vec<ModPath>> = BTreeMap::new();
    for (module, code) in mods {
        let words: Vec<&str> = code
            .split(|c: char| !is_ident(c) && c != '(' && c != ')')
            .filter(|w| !w.is_empty())
            .collect();
        for w in words.windows(3) {
            let kinds = [
                "struct", "enum", "fn", "trait", "type", "const", "static", "mod",
            ];
            if w[0].starts_with("pub") && kinds.contains(&w[1]) {
                defined_in
                    .entry(w[2].to_string())
                    .or_default()
                    .push(module.clone());
            }
        }
    }
    let resolve = |target: &[String]| -> Option<ModPath> {
        // The longest prefix that is a file; `crate::Name` resolves through lib.rs.
        let k = (0..=target.len())
            .rev()
            .find(|&k| mods.contains_key(&target[..k]))?;
        let module = target[..k].to_vec();
        if let Some(name) = target.get(k).filter(|n| *n != "self" && *n != "*") {
            let inside = defined_in
                .get(name)
                .into_iter()
                .flatten()
                .filter(|d| d.len() > module.len() && d[..module.len()] == module[..]);
            if let Some(file) = inside.min_by_key(|d| d.len()) {
                return Some(file.clone());
            }
        }
        Some(module)
    };
    let mut graph = BTreeMap::new();
    for (module, code) in mods {
        let mut paths = Vec::new();
        let mut rest = code.as_str();
        while let Some(p) = rest.find("use ") {
            let before = rest[..p].chars().next_back();
            let tail = &rest[p + 4..];
            let end = tail.find(';').unwrap_or(tail.len());
            // `#[cfg(doc)]` imports exist for intra-doc links only.
            let doc_only = rest[..p].trim_end().ends_with("#[cfg(doc)]");
            if before.is_none_or(|c| !is_ident(c)) && !doc_only {
                paths.extend(expand_use(&tail[..end]));
            }
            rest = &tail[end..];
        }
        // Inline paths such as `crate::io::write_json(..)`.
        for (p, _) in code.match_indices("crate::") {
            let path: String = code[p..]
                .chars()
                .take_while(|&c| is_ident(c) || c == ':')
                .collect();
            paths.push(path);
        }
        let mut deps = BTreeSet::new();
        for path in paths {
            let path = path.split(" as ").next().unwrap_or("").trim().to_string();
            let mut segs: Vec<String> = path
                .split("::")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let target = match segs.first().map(String::as_str) {
                Some("crate") => segs.split_off(1),
                Some("super") => {
                    let mut b = module.clone();
                    while segs.first().is_some_and(|s| s == "super") {
                        b.pop();
                        segs.remove(0);
                    }
                    b.extend(segs);
                    b
                }
                Some("self") => {
                    let mut b = module.clone();
                    b.extend(segs.into_iter().skip(1));
                    b
                }
                _ => continue,
            };
            let Some(dep) = resolve(&target) else {
                continue;
            };
            // A folder's mod.rs re-exporting its own files is not a dependency.
            let descendant = dep.len() > module.len() && dep[..module.len()] == module[..];
            if dep != *module && !descendant {
                deps.insert(dep);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle of the graph, if any (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        node: &ModPath,
        graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        done: &mut BTreeSet<ModPath>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_import_circle_between_the_files_of_a_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("src"), root.join("xtask/src")];
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/ is readable") {
        dirs.push(entry.expect("crates/ entry").path().join("src"));
    }
    let mut faults = Vec::new();
    for dir in dirs {
        let graph = import_graph(&crate_modules(&dir));
        if let Some(cycle) = find_cycle(&graph) {
            let names: Vec<String> = cycle
                .iter()
                .map(|m| {
                    if m.is_empty() {
                        "lib".into()
                    } else {
                        m.join("::")
                    }
                })
                .collect();
            faults.push(format!("{}: {}", dir.display(), names.join(" -> ")));
        }
    }
    assert!(faults.is_empty(), "import circles:\n{}", faults.join("\n"));
}

#[test]
fn the_checks_see_what_they_should() {
    let src = "//! doc\nfn a() {\n    let s = \"}\";\n    let c = '}';\n}\nfn b();\n";
    let fns = functions(&strip(src));
    assert_eq!(fns, vec![("a".to_string(), 2, 4)]);
    assert_eq!(
        expand_use("crate::{a::B, c::{d, e as f}}"),
        vec!["crate::a::B", "crate::c::d", "crate::c::e as f"]
    );
    let mods: BTreeMap<ModPath, String> = [
        (vec![], "mod x; mod y;".to_string()),
        (
            vec!["x".to_string()],
            "use crate::y::Y; pub struct X;".into(),
        ),
        (
            vec!["y".to_string()],
            "use super::x::X; pub struct Y;".into(),
        ),
    ]
    .into_iter()
    .collect();
    assert!(find_cycle(&import_graph(&mods)).is_some());
}
