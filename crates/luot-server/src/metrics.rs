//! `/metrics` in the OpenMetrics text format, through `prometheus-client`: counters and gauges
//! read at scrape time, and histograms of what a center cares about — how long citizens wait,
//! how long a call takes to reach the hall display, how long a commit and a reply take.

use luot_core::Command;
use luot_store::WriterStats;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The content type of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of a citizen's wait, issue to first call, seconds: half a minute to two hours.
pub const WAIT_BUCKETS_S: [f64; 12] = [
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0,
];
/// Buckets of the server's own latencies, seconds: a millisecond to five seconds.
pub const LATENCY_BUCKETS_S: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

fn wait_histogram() -> Histogram {
    Histogram::new(WAIT_BUCKETS_S)
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_S)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    pub site: String,
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// `issue`, `call` (call next, call by number) or `other`: few series, the ones that matter.
    pub command: &'static str,
}

/// The label of a command in `luot_command_reply_seconds`.
pub fn command_kind(cmd: &Command) -> &'static str {
    match cmd {
        Command::Issue { .. } => "issue",
        Command::CallNext { .. } | Command::CallTicket { .. } => "call",
        _ => "other",
    }
}

/// Reads the heap bytes the process holds, when the binary counts them (the `luot` binary does,
/// through its global allocator). Set once at start; `/metrics` then shows `luot_heap_bytes`.
pub static HEAP_BYTES: OnceLock<fn() -> usize> = OnceLock::new();

#[derive(Debug)]
pub struct Metrics {
    pub tickets_issued: AtomicU64,
    pub tickets_called: AtomicU64,
    pub events: AtomicU64,
    pub commands_rejected: AtomicU64,
    pub ws_clients: AtomicU64,
    pub ws_anonymous: AtomicU64,
    /// 1 while the wait estimator computes a pass (`estimates.rs`), which holds copies of a site.
    pub estimating: Arc<AtomicU64>,
    pub ws_resyncs: AtomicU64,
    pub ws_refused: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Webhook delivery attempts, and those answered with a 2xx (`webhooks.rs`).
    pub webhook_attempts: AtomicU64,
    pub webhook_delivered: AtomicU64,
    writer: OnceLock<Arc<WriterStats>>,
    /// Issue to first call, per service (the report's "wait").
    pub wait_seconds: Family<ServiceLabels, Histogram, fn() -> Histogram>,
    /// A call command reaching the broker to its event written to a display's socket, once per
    /// display socket.
    pub call_to_display_seconds: Histogram,
    /// One group commit (one transaction, one fsync), on the writer thread.
    pub commit_seconds: Histogram,
    /// One pass of the estimator thread over a site (`estimates.rs`): the whole table.
    pub estimate_pass_seconds: Histogram,
    /// A command handed to the broker to its reply (decided, durable, applied).
    pub reply_seconds: Family<CommandLabels, Histogram, fn() -> Histogram>,
    /// The histograms; the counters and gauges are read into a second registry at each scrape.
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let wait_seconds: Family<ServiceLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(wait_histogram);
        let reply_seconds: Family<CommandLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let call_to_display_seconds = latency_histogram();
        let commit_seconds = latency_histogram();
        let estimate_pass_seconds = latency_histogram();
        let mut registry = Registry::default();
        registry.register(
            "luot_wait_seconds",
            "Waits from issue to first call, per service",
            wait_seconds.clone(),
        );
        registry.register(
            "luot_call_to_display_seconds",
            "From a call reaching the server to its event written to each display's socket",
            call_to_display_seconds.clone(),
        );
        registry.register(
            "luot_store_commit_seconds",
            "Group commit latency (one transaction, one fsync)",
            commit_seconds.clone(),
        );
        registry.register(
            "luot_estimate_pass_seconds",
            "One pass of the wait estimator over a site (every procedure and waiting ticket), off the broker",
            estimate_pass_seconds.clone(),
        );
        registry.register(
            "luot_command_reply_seconds",
            "From a command handed to the broker to its reply, once durable",
            reply_seconds.clone(),
        );
        Metrics {
            tickets_issued: AtomicU64::new(0),
            tickets_called: AtomicU64::new(0),
            events: AtomicU64::new(0),
            commands_rejected: AtomicU64::new(0),
            ws_clients: AtomicU64::new(0),
            estimating: Arc::new(AtomicU64::new(0)),
            ws_anonymous: AtomicU64::new(0),
            ws_resyncs: AtomicU64::new(0),
            ws_refused: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            webhook_attempts: AtomicU64::new(0),
            webhook_delivered: AtomicU64::new(0),
            writer: OnceLock::new(),
            wait_seconds,
            call_to_display_seconds,
            commit_seconds,
            estimate_pass_seconds,
            reply_seconds,
            registry,
        }
    }
}

/// A printer's figures at scrape time (from `printer/`).
#[derive(Debug, Clone)]
pub struct PrinterSample {
    pub name: String,
    /// Every state's code, with 1 for the current one.
    pub states: Vec<(&'static str, i64)>,
    pub printed: u64,
    pub failed: u64,
    pub dropped: u64,
}

/// What is read at scrape time: counters, gauges, queues, printers.
#[derive(Debug)]
struct Snapshot {
    counters: Vec<(&'static str, &'static str, u64)>,
    gauges: Vec<(&'static str, &'static str, i64)>,
    queues: Vec<(String, String, u32)>,
    printers: Vec<PrinterSample>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrinterLabels {
    printer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrinterStateLabels {
    printer: String,
    state: &'static str,
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        for (name, help, v) in &self.counters {
            let c = ConstCounter::new(*v);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        for (name, help, v) in &self.gauges {
            let g = ConstGauge::new(*v);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        let mut family = encoder.encode_descriptor(
            "luot_queue_waiting",
            "Tickets waiting per service",
            None,
            MetricType::Gauge,
        )?;
        for (site, service, n) in &self.queues {
            let labels = ServiceLabels {
                site: site.clone(),
                service: service.clone(),
            };
            ConstGauge::new(i64::from(*n)).encode(family.encode_family(&labels)?)?;
        }
        if self.printers.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "luot_printer_state",
            "Network printer state (1 for the current one)",
            None,
            MetricType::Gauge,
        )?;
        for p in &self.printers {
            for (state, v) in &p.states {
                let labels = PrinterStateLabels {
                    printer: p.name.clone(),
                    state,
                };
                ConstGauge::new(*v).encode(family.encode_family(&labels)?)?;
            }
        }
        type Get = fn(&PrinterSample) -> u64;
        let counts: [(&str, &str, Get); 3] = [
            ("luot_printer_printed", "Tickets printed", |p| p.printed),
            (
                "luot_printer_failed",
                "Print jobs that failed (paper out, unreachable, …)",
                |p| p.failed,
            ),
            (
                "luot_printer_dropped",
                "Print jobs refused because the printer's queue was full",
                |p| p.dropped,
            ),
        ];
        for (name, help, get) in counts {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in &self.printers {
                let labels = PrinterLabels {
                    printer: p.name.clone(),
                };
                ConstCounter::new(get(p)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Metrics {
    pub fn set_writer(&self, stats: Arc<WriterStats>) {
        let commit_seconds = self.commit_seconds.clone();
        stats.on_commit(Box::new(move |d: Duration| {
            commit_seconds.observe(d.as_secs_f64())
        }));
        let _ = self.writer.set(stats);
    }

    /// Renders every metric; `queues` are (site, service, waiting) gauges read from the broker.
    pub fn render(
        &self,
        queues: Vec<(String, String, u32)>,
        printers: Vec<PrinterSample>,
    ) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut counters = vec![
            (
                "luot_tickets_issued",
                "Tickets issued (durable)",
                get(&self.tickets_issued),
            ),
            (
                "luot_tickets_called",
                "Calls made (durable)",
                get(&self.tickets_called),
            ),
            ("luot_events", "Events made durable", get(&self.events)),
            (
                "luot_commands_rejected",
                "Commands refused by the queue rules",
                get(&self.commands_rejected),
            ),
            (
                "luot_ws_resyncs",
                "Sockets resynced with a snapshot after falling behind",
                get(&self.ws_resyncs),
            ),
            (
                "luot_ws_refused",
                "Websocket connections refused at a limit",
                get(&self.ws_refused),
            ),
            (
                "luot_rate_limited",
                "Requests refused by a rate limit",
                get(&self.rate_limited),
            ),
            (
                "luot_webhook_attempts",
                "Webhook delivery attempts",
                get(&self.webhook_attempts),
            ),
            (
                "luot_webhook_delivered",
                "Webhook deliveries answered with a 2xx",
                get(&self.webhook_delivered),
            ),
        ];
        if let Some(w) = self.writer.get() {
            counters.extend([
                ("luot_store_commits", "Group commits", get(&w.commits)),
                ("luot_store_records", "Events written", get(&w.records)),
                ("luot_store_failures", "Failed commits", get(&w.failures)),
            ]);
        }
        let gauge = |a: &AtomicU64| i64::try_from(get(a)).unwrap_or(i64::MAX);
        let heap = HEAP_BYTES.get().map(|f| {
            (
                "luot_heap_bytes",
                "Heap bytes the server's own code holds now (SQLite's page cache is not counted)",
                i64::try_from(f()).unwrap_or(i64::MAX),
            )
        });
        let snapshot = Snapshot {
            counters,
            gauges: vec![
                (
                    "luot_ws_clients",
                    "Connected websocket clients",
                    gauge(&self.ws_clients),
                ),
                (
                    "luot_ws_anonymous",
                    "Connected websocket clients without an identity",
                    gauge(&self.ws_anonymous),
                ),
                (
                    "luot_estimating",
                    "1 while the wait estimator computes a pass (it holds copies of a site meanwhile)",
                    gauge(&self.estimating),
                ),
            ]
            .into_iter()
            .chain(heap)
            .collect(),
            queues,
            printers,
        };
        let mut scraped = Registry::default();
        scraped.register_collector(Box::new(snapshot));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &scraped);
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_eof(&mut out);
        out
    }
}
