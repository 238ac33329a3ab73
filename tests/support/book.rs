//! The book's pages, for the tests that read the documentation (`doc_links`, `public_api`,
//! `book_cli`).

use std::path::{Path, PathBuf};

/// Every Markdown page of `root/docs/book/src`, in name order.
pub fn book_pages(root: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs/book/src"))
        .expect("docs/book/src is readable")
        .map(|e| e.expect("book entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}
