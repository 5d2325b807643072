//! Wait estimates off the broker. The forward simulation behind every estimate
//! (`Site::estimate_table`: each service's newcomers, every waiting ticket) costs tens of
//! milliseconds in a full hall, so it runs on a thread of its own, on a copy of a site's durable
//! state; the broker hands it copies and looks the finished tables up (`Site::set_estimates`),
//! never computing one itself. A table is at most one pass old: in a busy hall that is the
//! pass's own length plus the rest below (about a second, BENCHMARKS.md), in a quiet one a few
//! milliseconds.
//!
//! The thread's share of a core is bounded: after a pass of `d` a site is not estimated again
//! for `ESTIMATE_REST_FACTOR × d` (and never within [`ESTIMATE_INTERVAL_MIN`]).

use luot_core::{Code, EstimateTable, Now, Site};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The shortest time between two passes over one site.
pub const ESTIMATE_INTERVAL_MIN: Duration = Duration::from_millis(1000);
/// A site rests this many times its last pass's length before the next: the estimator uses at
/// most 1 / (1 + this) of a core per site.
pub const ESTIMATE_REST_FACTOR: u32 = 3;
/// An unchanged state is estimated again after this long while someone waits (the services in
/// progress run on, so the futures change with the clock).
pub const ESTIMATE_REFRESH: Duration = Duration::from_secs(30);
/// How often the broker looks whether a site is due a pass (besides after each commit).
pub const ESTIMATE_TICK: Duration = Duration::from_millis(250);

/// One site's durable state to estimate.
#[derive(Debug)]
pub struct EstimateJob {
    pub site: usize,
    pub code: Code,
    /// The last durable sequence number the copy includes.
    pub seq: u64,
    pub state: Site,
    pub now: Now,
}

/// A finished table.
#[derive(Debug)]
pub struct Done {
    pub site: usize,
    pub code: Code,
    pub seq: u64,
    pub table: Arc<EstimateTable>,
    /// Wall time of the pass.
    pub took: Duration,
}

#[derive(Default)]
struct Queue {
    /// At most one job per site: a newer copy replaces one not started yet.
    jobs: VecDeque<EstimateJob>,
    done: Vec<Done>,
    stop: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    ready: Arc<Notify>,
}

/// The estimator thread; dropping it stops the thread after its current pass.
pub struct Estimator {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Estimator {
    /// `running` is 1 while a pass runs (the `luot_estimating` gauge).
    pub fn spawn(running: Arc<AtomicU64>) -> Estimator {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            ready: Arc::new(Notify::new()),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("luot-estimates".into())
            .spawn(move || run(&worker, &running))
            .expect("spawn the estimator thread");
        Estimator {
            shared,
            thread: Some(thread),
        }
    }

    /// Signalled whenever a table is finished (see [`Estimator::take_done`]).
    pub fn ready(&self) -> Arc<Notify> {
        self.shared.ready.clone()
    }

    /// Queues a copy to estimate, replacing a queued copy of the same site.
    pub fn submit(&self, job: EstimateJob) {
        let mut q = lock(&self.shared.queue);
        q.jobs.retain(|j| j.site != job.site);
        q.jobs.push_back(job);
        self.shared.wake.notify_one();
    }

    /// The tables finished since the last call.
    pub fn take_done(&self) -> Vec<Done> {
        std::mem::take(&mut lock(&self.shared.queue).done)
    }
}

impl Drop for Estimator {
    fn drop(&mut self) {
        lock(&self.shared.queue).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Estimator")
    }
}

fn lock(m: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(shared: &Shared, running: &AtomicU64) {
    loop {
        let job = {
            let mut q = lock(&shared.queue);
            loop {
                if q.stop {
                    return;
                }
                if let Some(j) = q.jobs.pop_front() {
                    break j;
                }
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        running.store(1, Ordering::Relaxed);
        let started = Instant::now();
        let table = job.state.estimate_table(&job.now);
        let took = started.elapsed();
        let EstimateJob {
            site, code, seq, ..
        } = job; // the copy of the site is dropped here, before the pass counts as over
        running.store(0, Ordering::Relaxed);
        tracing::trace!(site = %code, seq, ?took, "estimated");
        let mut q = lock(&shared.queue);
        q.done.retain(|d| d.site != site);
        q.done.push(Done {
            site,
            code,
            seq,
            table: Arc::new(table),
            took,
        });
        drop(q);
        shared.ready.notify_one();
    }
}

/// What the broker knows of one site's estimates.
#[derive(Debug)]
pub struct SiteEstimates {
    /// A copy is with the thread.
    pub busy: bool,
    /// The last sequence number offered, and when.
    pub offered_seq: u64,
    pub offered_at: Option<Instant>,
    /// The last sequence number of an event of this site.
    pub changed_seq: u64,
    /// No pass before this (the rest after the last one).
    pub not_before: Instant,
    /// The state changed under the sequence numbers (a new configuration): estimate again.
    pub stale: bool,
}

impl SiteEstimates {
    pub fn new() -> SiteEstimates {
        SiteEstimates {
            busy: false,
            offered_seq: 0,
            offered_at: None,
            // Changed since nothing was offered: the first pass goes at once.
            changed_seq: 1,
            not_before: Instant::now(),
            stale: false,
        }
    }

    /// Whether to hand the thread a copy now.
    pub fn due(&self, now: Instant, someone_waits: bool) -> bool {
        if self.busy || now < self.not_before {
            return false;
        }
        self.stale
            || self.changed_seq > self.offered_seq
            || self.offered_at.is_none()
            || (someone_waits
                && self
                    .offered_at
                    .is_some_and(|at| now.duration_since(at) >= ESTIMATE_REFRESH))
    }

    pub fn offered(&mut self, seq: u64, now: Instant) {
        self.busy = true;
        self.stale = false;
        self.offered_seq = seq;
        self.offered_at = Some(now);
    }

    /// A pass ended after `took`: rest before the next.
    pub fn finished(&mut self, took: Duration, now: Instant) {
        self.busy = false;
        self.not_before = now + ESTIMATE_INTERVAL_MIN.max(took * ESTIMATE_REST_FACTOR);
    }
}

impl Default for SiteEstimates {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_rests_after_a_pass_in_proportion_to_its_length() {
        let mut s = SiteEstimates::new();
        let t0 = s.not_before;
        assert!(s.due(t0, false), "the first pass goes at once");
        s.offered(5, t0);
        assert!(!s.due(t0, true), "not while a copy is with the thread");
        s.finished(Duration::from_millis(400), t0);
        s.changed_seq = 6;
        assert!(!s.due(t0 + Duration::from_millis(1199), true));
        assert!(s.due(t0 + Duration::from_millis(1200), true));
        s.offered(6, t0 + Duration::from_millis(1200));
        s.finished(Duration::from_millis(1), t0 + Duration::from_millis(1201));
        let rested = t0 + Duration::from_millis(1201) + ESTIMATE_INTERVAL_MIN;
        assert!(!s.due(rested, true), "nothing changed");
        assert!(!s.due(rested + ESTIMATE_REFRESH, false), "nobody waits");
        assert!(s.due(rested + ESTIMATE_REFRESH, true), "time ran on");
    }
}
