//! Reads bundle entries on several threads, each with its own reader of the bundle, and hands the results
//! back in the callers' order, so what is built from them does not depend on thread timing.
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bundle::Bundle;

/// Threads reading at once: one reader per core, a few at most (each holds a block of decompressed log).
const MAX_THREADS: usize = 4;

/// Runs `work` on every job, the largest (`size`) first, on as many threads as the machine has cores (at most
/// [`MAX_THREADS`]); returns what `first` gave and the jobs' results in the order of `jobs`. The calling thread
/// runs `first` while the others take jobs, then takes jobs too. A bundle that cannot be read twice at once (a
/// foreign archive) is read on this thread alone.
pub(crate) fn map_jobs<J, R, F>(
    bundle: &mut Bundle,
    jobs: &[J],
    size: impl Fn(&J) -> u64,
    first: impl FnOnce(&mut Bundle) -> F,
    work: impl Fn(&mut Bundle, &J) -> R + Sync,
) -> (F, Vec<R>)
where
    J: Sync,
    R: Send,
{
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    // Largest first: the last job to finish is then a small one, and the threads end together.
    order.sort_by_key(|&i| std::cmp::Reverse(size(&jobs[i])));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let wanted = cores.min(MAX_THREADS).min(jobs.len()).max(1);
    let mut readers: Vec<Bundle> = Vec::new();
    while readers.len() + 1 < wanted {
        match bundle.reopen() {
            Some(Ok(reader)) => readers.push(reader),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "bundle not reopened: read on fewer threads");
                break;
            }
            None => break,
        }
    }

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let take_jobs = |reader: &mut Bundle| {
        loop {
            let at = next.fetch_add(1, Ordering::Relaxed);
            let Some(&index) = order.get(at) else {
                break;
            };
            let result = work(reader, &jobs[index]);
            // A poisoned lock means another worker panicked; the scope re-raises that panic.
            if let Ok(mut results) = results.lock() {
                results[index] = Some(result);
            }
        }
    };
    let first_result = std::thread::scope(|scope| {
        for mut reader in readers {
            let take_jobs = &take_jobs;
            scope.spawn(move || take_jobs(&mut reader));
        }
        let first_result = first(bundle);
        take_jobs(bundle);
        first_result
    });
    // Every job ran: the scope ends after all workers, and a worker's panic is raised again by the scope.
    let results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect();
    (first_result, results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn results_keep_the_jobs_order_whatever_ran_first() {
        let dir = tempfile::tempdir().unwrap();
        // Under a folder of snapdoc's layout: a directory without one is not a bundle.
        std::fs::create_dir(dir.path().join("kots")).unwrap();
        for name in ["a.txt", "b.txt", "c.txt"] {
            std::fs::write(dir.path().join("kots").join(name), name.repeat(3)).unwrap();
        }
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let jobs: Vec<String> = ["c.txt", "a.txt", "b.txt", "a.txt"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (first, read) = map_jobs(
            &mut bundle,
            &jobs,
            |job| job.len() as u64,
            |_| "first",
            |reader, job| {
                let mut text = String::new();
                reader
                    .open_entry(&format!("kots/{job}"))
                    .unwrap()
                    .read_to_string(&mut text)
                    .unwrap();
                text
            },
        );
        assert_eq!(first, "first");
        assert_eq!(
            read,
            [
                "c.txtc.txtc.txt",
                "a.txta.txta.txt",
                "b.txtb.txtb.txt",
                "a.txta.txta.txt"
            ]
        );
    }
}
