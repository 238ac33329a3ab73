//! # aegis-malloc
//!
//! Large tensors on the CPU backends are freed and allocated again every step. Under glibc's
//! default settings those blocks go back to the OS (`munmap`, or a trim of the heap top) and
//! come back as fresh pages, so half of the CPU time of a large PGD batch was page faults
//! (measured on 2 cores: PGD-10 on 1,000 MNIST images, 16.5 s of system time for the whole
//! bench; 1.05 s → 0.08 s of system time for one `attack` run). [`keep_freed_memory`]
//! tells glibc to keep freed memory for reuse instead: every Aegis binary calls it first
//! (through `aegis_model::cli::run_cli`), and a library user calls it once at start-up.
//!
//! The one FFI call, `mallopt`, is the reason this crate exists apart: the rest of the
//! workspace forbids unsafe code. The crate also holds [`LargestAllocation`], a forwarding
//! global allocator that the fuzz targets use to check allocation budgets (the same reason:
//! implementing `GlobalAlloc` is unsafe).
#![warn(missing_docs)]

/// Heap growth kept on top of every request (512 MiB), so a step's buffers are carved from
/// memory already mapped instead of growing the heap page by page.
pub const TOP_PAD: i32 = 512 << 20;
/// Free memory at the heap top kept before trimming (2 GiB − 1, the largest `mallopt`
/// accepts): in practice never trim.
pub const TRIM_THRESHOLD: i32 = i32::MAX;
/// Requests from this size on are `mmap`ed (32 MiB, the most glibc accepts on 64-bit);
/// setting it also turns off glibc's dynamic threshold. With [`MMAP_MAX`] at 0 no request is
/// `mmap`ed at all; the threshold stays set in case a later `mallopt` raises the maximum.
pub const MMAP_THRESHOLD: i32 = 32 << 20;
/// Most blocks `mmap`ed at once: 0, so every block, however large, comes from the heap and
/// is kept for reuse when freed. A threshold alone does not cover tensors over 32 MiB (a
/// batch of 1,000 SmallCnn activations is 43 MB): each of those was `mmap`ed and unmapped
/// again, and every page faulted in anew. Measured on 2 cores, `cargo xtask bench --devices
/// flex --tasks throughput` with Aegis's kernels: 1.42 M page faults → 48 k, PGD-10 at batch
/// 1,000 1.31 s → 0.56 s, peak memory 190 → 197 MB.
pub const MMAP_MAX: i32 = 0;

/// Sets glibc's `M_MMAP_THRESHOLD`, `M_TRIM_THRESHOLD`, `M_TOP_PAD` and `M_MMAP_MAX` (the
/// constants above) so freed tensor memory is kept for reuse. Returns whether every setting was accepted;
/// a no-op returning `false` off Linux/glibc. Call it once, before the first allocation of
/// note; calling it again is harmless.
pub fn keep_freed_memory() -> bool {
    imp::keep_freed_memory()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use super::{MMAP_MAX, MMAP_THRESHOLD, TOP_PAD, TRIM_THRESHOLD};

    pub fn keep_freed_memory() -> bool {
        [
            (libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (libc::M_TOP_PAD, TOP_PAD),
            (libc::M_MMAP_MAX, MMAP_MAX),
        ]
        .into_iter()
        .all(|(param, value)| {
            // SAFETY: mallopt only changes glibc's allocator parameters; it takes two
            // integers, touches no memory of ours, is thread-safe (it takes the arena locks)
            // and reports an invalid value by returning 0.
            #[allow(unsafe_code)]
            let accepted = unsafe { libc::mallopt(param, value) };
            accepted == 1
        })
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn keep_freed_memory() -> bool {
        false
    }
}

/// A global allocator that forwards to the system allocator and, once started by
/// [`LargestAllocation::reset`], remembers the largest single request: the fuzz targets' check
/// that no input makes a reader allocate beyond a stated budget. Until then it costs one
/// relaxed atomic load per allocation. Installed with `#[global_allocator]` in xtask only;
/// Aegis's own binaries do not use it.
#[derive(Debug, Default)]
pub struct LargestAllocation {
    largest: std::sync::atomic::AtomicUsize,
    tracking: std::sync::atomic::AtomicBool,
}

impl LargestAllocation {
    /// A tracker that has seen nothing yet.
    pub const fn new() -> Self {
        Self {
            largest: std::sync::atomic::AtomicUsize::new(0),
            tracking: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Bytes of the largest single request since the last reset.
    pub fn largest(&self) -> usize {
        self.largest.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the requests seen so far and tracks from now on.
    pub fn reset(&self) {
        self.largest.store(0, std::sync::atomic::Ordering::Relaxed);
        self.tracking
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn note(&self, size: usize) {
        if self.tracking.load(std::sync::atomic::Ordering::Relaxed) {
            self.largest
                .fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards the caller's arguments unchanged to `System`, which upholds
// `GlobalAlloc`'s contract; the bookkeeping is one relaxed atomic and never allocates.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        self.note(layout.size());
        // SAFETY: forwarded as received (see the impl).
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        self.note(layout.size());
        // SAFETY: forwarded as received (see the impl).
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded as received (see the impl).
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        self.note(new_size);
        // SAFETY: forwarded as received (see the impl).
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_every_setting() {
        assert!(super::keep_freed_memory());
        assert!(super::keep_freed_memory(), "idempotent");
    }
}
