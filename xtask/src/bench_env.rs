//! What a bench report says about where it ran: the date, the machine (CPU model, cores, the
//! cores this process may use, load average), the versions (Aegis and its commit, Burn, from
//! Cargo.lock), the allocator setting, and the process's CPU time and peak memory (from
//! `/proc`, so no unsafe code; a child's peak memory too, read while it runs). Every reading
//! degrades to "unknown" off Linux.

use std::process::Command;

use serde::Serialize;

/// The environment variable that skips [`aegis_model::keep_freed_memory`] in xtask: a
/// measurement switch to compare glibc's default allocator behaviour with Aegis's set-up.
pub const DEFAULT_MALLOC_ENV: &str = "AEGIS_BENCH_DEFAULT_MALLOC";

/// True when [`DEFAULT_MALLOC_ENV`] is set to anything but `0` or empty.
pub fn default_malloc_requested() -> bool {
    std::env::var(DEFAULT_MALLOC_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where and with what the bench ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// UTC date and time, `YYYY-MM-DD HH:MM`.
    pub date: String,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical cores of the machine.
    pub cores: usize,
    /// Cores this process may run on (`Cpus_allowed_list`); the worker inherits them.
    pub cpus_allowed: String,
    /// 1-minute load average when the bench started.
    pub load_at_start: f64,
    /// 1-minute load average when the report was written.
    pub load_at_end: f64,
    /// `aegis-malloc` (freed memory kept) or `glibc default` (the measurement switch).
    pub allocator: String,
    /// Versions.
    pub versions: Versions,
}

/// Software versions.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// Workspace version and commit (`0.1.0 (abc1234)`, `+dirty` with local changes).
    pub aegis: String,
    /// Burn, from Cargo.lock.
    pub burn: String,
    /// rustc, when `rustc --version` answers.
    pub rustc: String,
}

impl Machine {
    /// Reads everything but the end load (set by [`Machine::finish`]).
    pub fn read() -> Self {
        let load = load_average();
        Self {
            date: date_utc(),
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpus_allowed: status_field("Cpus_allowed_list").unwrap_or_else(|| "unknown".into()),
            load_at_start: load,
            load_at_end: load,
            allocator: if default_malloc_requested() {
                format!("glibc default ({DEFAULT_MALLOC_ENV}=1)")
            } else {
                "aegis-malloc (glibc keeps freed memory)".into()
            },
            versions: Versions {
                aegis: aegis_version(),
                burn: locked_version("burn").unwrap_or_else(|| "unknown".into()),
                rustc: command_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            },
        }
    }

    /// Records the load average at the end.
    pub fn finish(&mut self) {
        self.load_at_end = load_average();
    }

    /// One line for a report: date, CPU, cores, load, versions.
    pub fn describe(&self) -> String {
        format!(
            "{} UTC; {} ({} cores, this run on CPUs {}); load average {:.2} at start, {:.2} at \
             end; Aegis {}, Burn {}, {}; allocator: {}",
            self.date,
            self.cpu_model,
            self.cores,
            self.cpus_allowed,
            self.load_at_start,
            self.load_at_end,
            self.versions.aegis,
            self.versions.burn,
            self.versions.rustc,
            self.allocator
        )
    }
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn date_utc() -> String {
    command_line("date", &["-u", "+%Y-%m-%d %H:%M"]).unwrap_or_else(|| "unknown date".into())
}

/// `model name` from /proc/cpuinfo, with the family and model numbers (a virtual machine's
/// name may be only the vendor's brand).
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    match (field("model name"), field("cpu family"), field("model")) {
        (Some(name), Some(family), Some(model)) => {
            format!("{name} (family {family}, model {model})")
        }
        (Some(name), ..) => name,
        _ => "unknown CPU".into(),
    }
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A field of /proc/self/status (`VmHWM`, `Cpus_allowed_list`, …), trimmed.
fn status_field(name: &str) -> Option<String> {
    field_of("/proc/self/status", name)
}

/// A field of a /proc status file, trimmed.
fn field_of(status: &str, name: &str) -> Option<String> {
    let s = std::fs::read_to_string(status).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// `VmHWM` (`1234 kB`) in MB.
fn hwm_mb(value: Option<String>) -> Option<f64> {
    value
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// Peak resident memory of this process so far, in MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    hwm_mb(status_field("VmHWM")).unwrap_or(f64::NAN)
}

/// Peak resident memory so far of the running process `pid`, in MB (its `VmHWM`); `None`
/// once it has exited (a zombie's memory is gone, and with it the reading).
pub fn peak_rss_mb_of(pid: u32) -> Option<f64> {
    hwm_mb(field_of(&format!("/proc/{pid}/status"), "VmHWM"))
}

/// User and system CPU seconds of this process (all threads) so far, from /proc/self/stat
/// (clock ticks of 1/100 s, Linux's USER_HZ).
pub fn cpu_seconds() -> (f64, f64) {
    let parse = || -> Option<(f64, f64)> {
        let s = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) start at state (field 3).
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i)?.parse::<f64>().ok();
        Some((ticks(11)? / 100.0, ticks(12)? / 100.0))
    };
    parse().unwrap_or((f64::NAN, f64::NAN))
}

fn aegis_version() -> String {
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = command_line("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    match commit {
        Some(c) => format!(
            "{} ({c}{})",
            env!("CARGO_PKG_VERSION"),
            if dirty { "+dirty" } else { "" }
        ),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The version of `package` in Cargo.lock (the first entry of that name).
fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string("Cargo.lock").ok()?;
    let needle = format!("name = \"{package}\"\n");
    let at = lock.find(&needle)? + needle.len();
    let line = lock[at..].lines().next()?;
    Some(
        line.strip_prefix("version = ")?
            .trim_matches('"')
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible_on_linux() {
        let (user, sys) = cpu_seconds();
        assert!(user >= 0.0 && sys >= 0.0, "{user} {sys}");
        assert!(peak_rss_mb() > 1.0);
        assert!(peak_rss_mb_of(std::process::id()).is_some_and(|mb| mb > 1.0));
        let m = Machine::read();
        assert!(m.cores >= 1 && !m.cpu_model.is_empty());
        assert!(m.date.len() >= 10, "{}", m.date);
    }
}
