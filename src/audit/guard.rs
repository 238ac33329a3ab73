//! [`guarded`]: runs one stage so that its failure is the stage's, not the audit's. An error
//! becomes its message on one line; a panic (always a bug: bad input is meant to be an error)
//! is caught and becomes `panicked at FILE:LINE:COL: MESSAGE (a bug in aegis, please report
//! it)`. While the stage runs, the panic hook records where the panic happened instead of
//! printing the default hook's notice, so stderr keeps one line per failed stage; with
//! `RUST_BACKTRACE` set (not `0`) the previous hook prints as well, backtrace included.
//!
//! The panic hook is process-wide: guarded calls are meant to run one at a time, as the
//! audit's stages do (a stage may still use many threads: rayon resumes a worker's panic in
//! the caller, and the hook records it on whichever thread it happens).

use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind, set_hook, take_hook};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Result;

/// Where the first panic inside the running [`guarded`] call happened (set by its hook).
static LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// A panic hook, as `std::panic::take_hook` returns it.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Runs `f`: its value, or its error, or its panic, as one line (see the module doc).
pub fn guarded<R>(f: impl FnOnce() -> Result<R>) -> std::result::Result<R, String> {
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    *LOCATION.lock().unwrap_or_else(PoisonError::into_inner) = None;
    let previous: Arc<Hook> = Arc::new(take_hook());
    let inner = Arc::clone(&previous);
    set_hook(Box::new(move |info| {
        if let Some(at) = info.location() {
            LOCATION
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| format!("{}:{}:{}", at.file(), at.line(), at.column()));
        }
        if verbose {
            inner(info);
        }
    }));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    drop(take_hook()); // ours, and with it `inner`
    match Arc::try_unwrap(previous) {
        Ok(hook) => set_hook(hook),
        // Another thread is inside our hook right now: keep calling the previous one.
        Err(shared) => set_hook(Box::new(move |info| shared(info))),
    }
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(one_line(&e.to_string())),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            let at = LOCATION
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .map_or_else(String::new, |l| format!(" at {l}"));
            Err(format!(
                "panicked{at}: {} (a bug in aegis, please report it)",
                one_line(&message)
            ))
        }
    }
}

/// `text`'s non-empty lines, trimmed, joined by spaces.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuditError;

    // One test: the panic hook is process-wide, and tests run on parallel threads.
    #[test]
    fn values_pass_errors_and_panics_become_one_line() {
        assert_eq!(guarded(|| Ok(7)), Ok(7));
        let e = guarded::<()>(|| Err(AuditError::invalid("limit", "must be\nat least 1")));
        assert_eq!(e, Err("invalid limit: must be at least 1".to_string()));
        let p = guarded::<()>(|| panic!("stage exploded\non two lines")).unwrap_err();
        assert!(p.starts_with("panicked at src/audit/guard.rs:"), "{p}");
        assert!(p.contains(": stage exploded on two lines (a bug"), "{p}");
        assert!(!p.contains('\n'), "{p}");
        // A panic on another thread, resumed in the caller as rayon does, is caught there.
        let q = guarded::<u32>(|| {
            let worker = std::thread::spawn(|| -> u32 { panic!("row {} is bad", 40) });
            worker.join().map_err(|p| std::panic::resume_unwind(p))
        })
        .unwrap_err();
        assert!(
            q.contains("guard.rs:") && q.contains(": row 40 is bad"),
            "{q}"
        );
        // The hook is given back: a panic afterwards no longer records a location here.
        let _ = std::panic::catch_unwind(|| panic!("after"));
        assert!(LOCATION.lock().unwrap().is_none());
    }
}
