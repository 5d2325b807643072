//! Group commit: one thread owns the writing connection. Callers hand it jobs; it drains every
//! job waiting, writes them in one transaction, commits once (one fsync), then tells each caller,
//! in submission order, that its events are durable, or why they are not.

use crate::{OutboxRow, Record, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most records in one transaction. Bounds the time one commit holds the write lock and the
/// memory of a batch; under load, batches of a few hundred are plenty to amortize the fsync.
pub const BATCH_RECORDS_MAX: usize = 4_096;

/// Called on the writer thread once the job's records are durable (or failed). Keep it short:
/// send on a channel, nothing more.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Records to make durable, and whom to tell.
pub struct Job {
    pub records: Vec<Record>,
    /// Webhook deliveries these records cause: committed in the same transaction.
    pub outbox: Vec<OutboxRow>,
    /// After a failed commit every later job of the same epoch is refused unwritten (its events
    /// were decided on top of the lost ones); the owner reloads its state and moves to a new epoch.
    pub epoch: u64,
    pub done: Done,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("records", &self.records.len())
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// Told each commit's duration on the writer thread (for a latency histogram). Keep it short.
pub type CommitObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// Counters for `/metrics` and benchmarks.
#[derive(Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub records: AtomicU64,
    pub failures: AtomicU64,
    /// Sum of commit durations, microseconds.
    pub commit_us_total: AtomicU64,
    pub commit_us_max: AtomicU64,
    observer: OnceLock<CommitObserver>,
}

impl WriterStats {
    /// Sets who is told each commit's duration (once; later calls are ignored). Commits made
    /// before it is set are only counted.
    pub fn on_commit(&self, observer: CommitObserver) {
        let _ = self.observer.set(observer);
    }
}

impl std::fmt::Debug for WriterStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterStats")
            .field("commits", &self.commits)
            .field("records", &self.records)
            .field("failures", &self.failures)
            .field("commit_us_total", &self.commit_us_total)
            .field("commit_us_max", &self.commit_us_max)
            .field("observer", &self.observer.get().is_some())
            .finish()
    }
}

enum Msg {
    Job(Job),
    Probe(Done),
    Stop,
}

/// Handle to the writer thread. Dropping it stops the thread after the jobs already sent.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<Store>>,
    pub stats: Arc<WriterStats>,
}

impl Writer {
    pub fn spawn(store: Store) -> Writer {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("luot-store-writer".into())
            .spawn(move || run(store, rx, &thread_stats))
            .expect("spawn the store writer thread");
        Writer {
            tx,
            thread: Some(thread),
            stats,
        }
    }

    /// Queues a job. The caller bounds how many jobs it has in flight; this never blocks.
    pub fn submit(&self, job: Job) {
        if let Err(mpsc::SendError(Msg::Job(job))) = self.tx.send(Msg::Job(job)) {
            (job.done)(Err(StoreError::WriterGone));
        }
    }

    /// Asks whether the database takes writes (after a failure); see [`Store::probe`].
    pub fn probe(&self, done: Done) {
        if let Err(mpsc::SendError(Msg::Probe(done))) = self.tx.send(Msg::Probe(done)) {
            done(Err(StoreError::WriterGone));
        }
    }

    /// Finishes the jobs already queued, stops the thread and gives the store back.
    pub fn stop(mut self) -> Option<Store> {
        let _ = self.tx.send(Msg::Stop);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.tx.send(Msg::Stop);
            let _ = t.join();
        }
    }
}

fn run(mut store: Store, rx: mpsc::Receiver<Msg>, stats: &WriterStats) -> Store {
    let mut failed_epoch: Option<u64> = None;
    let mut batch: Vec<Job> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut outbox: Vec<OutboxRow> = Vec::new();
    loop {
        let mut stop = false;
        let mut probes: Vec<Done> = Vec::new();
        match rx.recv() {
            Ok(Msg::Job(job)) => batch.push(job),
            Ok(Msg::Probe(done)) => {
                done(store.probe());
                continue;
            }
            Ok(Msg::Stop) | Err(_) => return store,
        }
        let mut n = batch[0].records.len();
        while n < BATCH_RECORDS_MAX {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => {
                    n += job.records.len();
                    batch.push(job);
                }
                Ok(Msg::Probe(done)) => probes.push(done),
                Ok(Msg::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        // Jobs decided on top of a failed write are refused without touching the disk.
        let (refused, jobs): (Vec<Job>, Vec<Job>) =
            batch.drain(..).partition(|j| failed_epoch == Some(j.epoch));
        for j in refused {
            (j.done)(Err(StoreError::Aborted));
        }
        if !jobs.is_empty() {
            records.clear();
            outbox.clear();
            for j in &jobs {
                records.extend(j.records.iter().cloned());
                outbox.extend(j.outbox.iter().cloned());
            }
            let started = Instant::now();
            let result = store.append_with_outbox(&records, &outbox);
            let took = started.elapsed();
            if let Some(observe) = stats.observer.get() {
                observe(took);
            }
            let us = took.as_micros() as u64;
            stats.commit_us_total.fetch_add(us, Ordering::Relaxed);
            stats.commit_us_max.fetch_max(us, Ordering::Relaxed);
            match &result {
                Ok(()) => {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .records
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, records = records.len(), "commit failed");
                    failed_epoch = Some(jobs[0].epoch);
                }
            }
            for j in jobs {
                (j.done)(result.clone());
            }
        }
        for done in probes {
            done(store.probe());
        }
        if stop {
            return store;
        }
    }
}
