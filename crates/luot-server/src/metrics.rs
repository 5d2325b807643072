//! Counters for `/metrics` (Prometheus text format).

use luot_store::WriterStats;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Default)]
pub struct Metrics {
    pub tickets_issued: AtomicU64,
    pub tickets_called: AtomicU64,
    pub events: AtomicU64,
    pub commands_rejected: AtomicU64,
    pub ws_clients: AtomicU64,
    pub ws_anonymous: AtomicU64,
    pub ws_resyncs: AtomicU64,
    pub ws_refused: AtomicU64,
    pub rate_limited: AtomicU64,
    writer: OnceLock<Arc<WriterStats>>,
}

impl Metrics {
    pub fn set_writer(&self, stats: Arc<WriterStats>) {
        let _ = self.writer.set(stats);
    }

    /// Renders every counter; `queues` are (site, service, waiting) gauges read from the broker.
    pub fn render(&self, queues: &[(String, String, u32)]) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            "luot_tickets_issued_total",
            "Tickets issued (durable).",
            get(&self.tickets_issued),
        );
        counter(
            "luot_tickets_called_total",
            "Calls made (durable).",
            get(&self.tickets_called),
        );
        counter(
            "luot_events_total",
            "Events made durable.",
            get(&self.events),
        );
        counter(
            "luot_commands_rejected_total",
            "Commands refused by the queue rules.",
            get(&self.commands_rejected),
        );
        counter(
            "luot_ws_resyncs_total",
            "Sockets resynced with a snapshot after falling behind.",
            get(&self.ws_resyncs),
        );
        counter(
            "luot_ws_refused_total",
            "Websocket connections refused at a limit.",
            get(&self.ws_refused),
        );
        counter(
            "luot_rate_limited_total",
            "Requests refused by a rate limit.",
            get(&self.rate_limited),
        );
        if let Some(w) = self.writer.get() {
            counter(
                "luot_store_commits_total",
                "Group commits.",
                get(&w.commits),
            );
            counter(
                "luot_store_records_total",
                "Events written.",
                get(&w.records),
            );
            counter(
                "luot_store_failures_total",
                "Failed commits.",
                get(&w.failures),
            );
            let commits = get(&w.commits).max(1);
            let _ = writeln!(
                out,
                "# HELP luot_store_commit_seconds_mean Mean commit latency.\n# TYPE luot_store_commit_seconds_mean gauge\nluot_store_commit_seconds_mean {:.6}",
                get(&w.commit_us_total) as f64 / commits as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "# HELP luot_store_commit_seconds_max Slowest commit.\n# TYPE luot_store_commit_seconds_max gauge\nluot_store_commit_seconds_max {:.6}",
                get(&w.commit_us_max) as f64 / 1e6
            );
        }
        let _ = writeln!(
            out,
            "# HELP luot_ws_clients Connected websocket clients.\n# TYPE luot_ws_clients gauge\nluot_ws_clients {}",
            get(&self.ws_clients)
        );
        let _ = writeln!(
            out,
            "# HELP luot_queue_waiting Tickets waiting per service.\n# TYPE luot_queue_waiting gauge"
        );
        for (site, service, n) in queues {
            let _ = writeln!(
                out,
                "luot_queue_waiting{{site=\"{site}\",service=\"{service}\"}} {n}"
            );
        }
        out
    }
}
