//! How the analysis holds its memory with glibc's allocator: which blocks it maps on their own and when it gives
//! freed pages back. Both the analysis's stages (analyze/run.rs) and the log engine (engine::finish) call these.

/// Large allocations (log blocks, lazy DFA caches, inflate windows, list buffers) mapped on their own and
/// unmapped when freed. glibc raises its mapping threshold each time such a block is freed, up to 32 MiB, and
/// then serves the next ones from its arenas, where they leave holes no trim can give back: measured on the
/// 1 GiB scale bundle, peak RSS 103.3 MB with glibc's moving threshold, 98.1-99.6 MB with it fixed at
/// 128 KiB, wall time within the runs' spread (BENCHMARKS.md, "Analysis memory (#20)").
pub(crate) fn keep_large_blocks_off_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is safe to call at any time from any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

/// Gives the pages of memory freed so far back to the OS. The object lists were parsed on two threads, so
/// their memory is free in two of glibc's arenas; the log scan's threads allocate from arenas of their own and
/// would not reuse it, and the process would hold both (BENCHMARKS.md, "Analysis memory (#20)"). The same
/// once the log scan's blocks and scanners are freed (engine::finish), and the projections after the facts
/// (analyze/run.rs).
pub(crate) fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of every arena (madvise); live allocations are untouched.
    unsafe {
        libc::malloc_trim(0);
    }
}
