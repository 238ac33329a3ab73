//! The machines `cargo xtask cross-cpu` runs a binary as: this one, another CPU under
//! Debian's qemu-user (another SIMD level), or this CPU with another L1 data cache as gemm
//! reads it from `/sys` (bind mounts in a private mount namespace, `unshare -m`, root only).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One way of running a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variant {
    /// As it is.
    Native,
    /// `qemu-x86_64 -cpu NAME`.
    Qemu(String),
    /// This CPU, with `/sys/devices/system/cpu/cpu*/cache/index0/{size,
    /// ways_of_associativity}` replaced: gemm 0.19 cuts its inner dimension by these.
    L1 {
        /// `48K`.
        size: String,
        /// `12`.
        ways: u32,
    },
}

impl Variant {
    /// `native`, the qemu CPU's name, or `L1d 48K/12-way`.
    pub fn label(&self) -> String {
        match self {
            Self::Native => "native".into(),
            Self::Qemu(cpu) => cpu.clone(),
            Self::L1 { size, ways } => format!("L1d {size}/{ways}-way"),
        }
    }

    /// `48K/12` → an L1 variant.
    pub fn parse_l1(text: &str) -> Result<Self> {
        let (size, ways) = text
            .split_once('/')
            .with_context(|| format!("--l1 {text:?}: expected SIZE/WAYS, e.g. 48K/12"))?;
        let ok = size.ends_with('K') && size[..size.len() - 1].parse::<u32>().is_ok_and(|k| k > 0);
        let ways: u32 =
            ways.parse().ok().filter(|w| *w > 0).with_context(|| {
                format!("--l1 {text:?}: the ways must be a positive whole number")
            })?;
        if !ok {
            bail!("--l1 {text:?}: the size must be kibibytes such as 48K");
        }
        Ok(Self::L1 {
            size: size.to_string(),
            ways,
        })
    }

    /// The command that runs `exe` as this variant; `scratch` holds the files an L1 variant
    /// mounts.
    pub fn command(&self, exe: &Path, qemu: Option<&Path>, scratch: &Path) -> Result<Command> {
        Ok(match self {
            Self::Native => Command::new(exe),
            Self::Qemu(cpu) => {
                let q = qemu.context("qemu-x86_64 is not installed (apt-get install qemu-user)")?;
                let mut c = Command::new(q);
                c.args(["-cpu", cpu]).arg(exe);
                c
            }
            Self::L1 { size, ways } => {
                let size_file = scratch.join("l1d-size");
                let ways_file = scratch.join("l1d-ways");
                std::fs::write(&size_file, format!("{size}\n"))?;
                std::fs::write(&ways_file, format!("{ways}\n"))?;
                let mut c = Command::new("unshare");
                c.args(["-m", "sh", "-c", MOUNT_AND_EXEC, "sh"])
                    .arg(size_file)
                    .arg(ways_file)
                    .arg(exe);
                c
            }
        })
    }
}

/// Binds `$1` over every CPU's L1d size and `$2` over its ways, then runs the rest.
const MOUNT_AND_EXEC: &str = r#"for c in /sys/devices/system/cpu/cpu[0-9]*; do
  mount --bind "$1" "$c/cache/index0/size" && mount --bind "$2" "$c/cache/index0/ways_of_associativity" || exit 97
done
shift 2
exec "$@""#;

/// This machine's L1d as `48K/12`, when `/sys` describes it.
pub fn host_l1() -> Option<String> {
    let dir = PathBuf::from("/sys/devices/system/cpu/cpu0/cache/index0");
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .ok()
            .map(|s| s.trim().to_string())
    };
    (read("type")? == "Data" && read("level")? == "1")
        .then(|| {
            Some(format!(
                "{}/{}",
                read("size")?,
                read("ways_of_associativity")?
            ))
        })
        .flatten()
}

/// Whether an L1 variant can run here: `/sys` names the L1d as index0 and a private mount
/// namespace can bind over it (root).
pub fn l1_variants_work() -> bool {
    host_l1().is_some()
        && Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg("mount --bind /proc/version /sys/devices/system/cpu/cpu0/cache/index0/size")
            .output()
            .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_variants_parse_and_label() {
        let v = Variant::parse_l1("48K/12").unwrap();
        assert_eq!(v.label(), "L1d 48K/12-way");
        for bad in ["48K", "48/12", "K/12", "48K/0", "48K/x", "0K/8"] {
            assert!(Variant::parse_l1(bad).is_err(), "{bad}");
        }
    }
}
