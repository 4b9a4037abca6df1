//! Running independent jobs on every core: templates render, objects are checked against
//! their schemas and written out independently of each other, and the platform's largest
//! (the CRDs, the dashboards) dominate each step. The results keep the jobs' order, so that
//! output and the first reported error stay deterministic.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;

/// `f` applied to every job, results in the jobs' order. Workers take the next job as they
/// finish one, so a long job does not hold up the short ones behind it.
pub fn map<J, R, F>(jobs: &[J], f: F) -> Vec<R>
where
    J: Sync,
    R: Send,
    F: Fn(&J) -> R + Sync,
{
    let order: Vec<usize> = (0..jobs.len()).collect();
    run(jobs, &order, f)
}

/// As [`map`], starting the jobs of greatest `weight` first, so that the longest are not
/// left to run alone at the end while the other cores idle.
pub fn map_heaviest_first<J, R, F>(jobs: &[J], weight: impl Fn(&J) -> usize, f: F) -> Vec<R>
where
    J: Sync,
    R: Send,
    F: Fn(&J) -> R + Sync,
{
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(weight(&jobs[index])));
    run(jobs, &order, f)
}

/// The cores this process may use. Asked once: the answer reads the cgroup's CPU quota from
/// /proc and /sys, a dozen system calls, and a render runs several steps on every core.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Runs the jobs in `order` (a permutation of their indices); results in the jobs' order.
fn run<J, R, F>(jobs: &[J], order: &[usize], f: F) -> Vec<R>
where
    J: Sync,
    R: Send,
    F: Fn(&J) -> R + Sync,
{
    let workers = cores().min(jobs.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let work = || {
        while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let result = f(&jobs[index]);
            if let Ok(mut results) = results.lock() {
                results[index] = Some(result);
            }
        }
    };
    if workers <= 1 {
        work();
    } else {
        thread::scope(|scope| {
            for _ in 1..workers {
                scope.spawn(work);
            }
            work();
        });
    }
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_of_the_jobs() {
        let jobs: Vec<u64> = (0..100).collect();
        let squares = map(&jobs, |n| {
            // Uneven work, so that workers finish out of order.
            if n % 7 == 0 {
                thread::sleep(std::time::Duration::from_millis(2));
            }
            n * n
        });
        assert_eq!(squares, jobs.iter().map(|n| n * n).collect::<Vec<_>>());
    }

    #[test]
    fn heaviest_first_still_returns_the_jobs_order() {
        let jobs: Vec<u64> = (0..50).collect();
        let started = Mutex::new(Vec::new());
        let doubled = map_heaviest_first(
            &jobs,
            |&n| usize::try_from(n % 10).unwrap_or_default(),
            |&n| {
                if let Ok(mut started) = started.lock() {
                    started.push(n);
                }
                n * 2
            },
        );
        assert_eq!(doubled, jobs.iter().map(|n| n * 2).collect::<Vec<_>>());
        let started = started.into_inner().unwrap_or_default();
        // The first jobs started are among the heaviest (weight 9).
        assert!(started.iter().take(2).all(|n| n % 10 == 9), "{started:?}");
    }

    #[test]
    fn no_jobs_no_results() {
        let none: Vec<u8> = map(&[], |n: &u8| *n);
        assert!(none.is_empty());
    }
}
