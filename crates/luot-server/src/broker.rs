//! The broker: one task owns the live queue state of every site. Everything else sends it
//! messages. It decides commands on a speculative copy of the state, hands the events to the
//! store's group-commit writer, and only when they are durable applies them to the visible copy,
//! replies, and publishes them, in sequence order. It never waits on a client.

mod boundary;
pub use boundary::next_boundary_minute;

use crate::clock::{Clock, site_now};
use crate::error::ApiError;
use crate::estimates::{ESTIMATE_TICK, EstimateJob, Estimator, SiteEstimates};
use crate::hub::{Hub, Outgoing};
use crate::metrics::Metrics;
use crate::webhooks::{AwaySeen, Hooks};
use jiff::tz::TimeZone;
use luot_core::{Code, Command, Event, Now, Site};
use luot_proto::config::SiteSettings;
use luot_proto::{
    CommandResult, ErrorDto, PROTOCOL_VERSION, ServerMessage, ServiceStatsDto, TicketView, Wire,
};
use luot_store::{Job, Record, Store, StoreError, Writer};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Commands waiting for the broker. Past this, clients are told the server is busy.
pub const COMMAND_QUEUE_MAX: usize = 8_192;
/// Commands decided but not yet durable. Past this the broker stops taking commands until the
/// disk catches up, which bounds memory when storage is slow.
pub const INFLIGHT_JOBS_MAX: usize = 8_192;
/// How often the broker looks at the clock for a new day even when nothing happens.
const ROLLOVER_CHECK: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest the broker sleeps towards the next session boundary before it looks again: a
/// new configuration (other hours) or a stepped wall clock is picked up within this, so every
/// client learns of an opening or closing within a second of it whatever the clock did. Waking
/// once a second to compare a few hundred minutes costs nothing measurable.
const BOUNDARY_SLEEP_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// A site as the server runs it: settings and time zone beside the core state.
#[derive(Debug)]
pub struct SiteRuntime {
    pub code: Code,
    pub settings: SiteSettings,
    pub tz: TimeZone,
}

pub type Reply = oneshot::Sender<Result<CommandResult, ApiError>>;
type ReadFn = Box<dyn FnOnce(&View<'_>) + Send>;

enum Msg {
    Command {
        site: usize,
        cmd: Command,
        reply: Reply,
        /// When the handler handed it over: the start of a call's way to the displays.
        received: Instant,
    },
    Read(ReadFn),
    Reconfigure {
        sites: Vec<SiteRuntime>,
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
}

/// What a read sees: the durable state only.
#[derive(Debug)]
pub struct View<'a> {
    pub sites: &'a [Site],
    pub runtime: &'a [SiteRuntime],
    /// Last durable (and published) sequence number.
    pub seq: u64,
    /// False while storage is failing: kiosks stop issuing.
    pub intake_open: bool,
    /// Why storage is failing (the last failed write or probe), while `intake_open` is false.
    pub intake_reason: Option<&'a ApiError>,
    pub hub: &'a Hub,
    pub clock: &'a dyn Clock,
    /// The broker's event time never runs backwards (see `Broker::last_at_ms`); reads agree.
    pub last_at_ms: i64,
}

impl View<'_> {
    pub fn now(&self, site: usize) -> Now {
        site_now(
            self.clock.now_ms().max(self.last_at_ms),
            &self.runtime[site].tz,
        )
    }
}

/// Cheap to clone; every connection holds one.
#[derive(Clone, Debug)]
pub struct BrokerHandle {
    tx: mpsc::Sender<Msg>,
    metrics: Arc<Metrics>,
    /// Swapped whole when the configuration changes; readers clone the inner `Arc`.
    runtime: Arc<std::sync::RwLock<Arc<Vec<SiteRuntime>>>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Command { site, cmd, .. } => write!(f, "Command({site}, {cmd:?})"),
            Msg::Read(_) => write!(f, "Read"),
            Msg::Reconfigure { .. } => write!(f, "Reconfigure"),
        }
    }
}

impl BrokerHandle {
    pub fn site_index(&self, code: &str) -> Option<usize> {
        self.runtime().iter().position(|s| s.code.as_str() == code)
    }

    /// The sites as configured now.
    pub fn runtime(&self) -> Arc<Vec<SiteRuntime>> {
        self.runtime.read().expect("runtime lock").clone()
    }

    /// Applies a new configuration live. Waits for every commit in flight, rebuilds each site
    /// from today's durable events under the new configuration, and refuses (changing nothing)
    /// when that would strand a citizen: a removed service or counter still holding tickets.
    pub async fn reconfigure(&self, sites: Vec<SiteRuntime>) -> Result<(), ApiError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .try_send(Msg::Reconfigure { sites, reply: tx })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::ServerBusy,
                mpsc::error::TrySendError::Closed(_) => ApiError::ServerStopping,
            })?;
        rx.await.map_err(|_| ApiError::ServerStopping)?
    }

    /// Runs a command; the reply comes once its events are durable (or with why not).
    pub async fn command(&self, site: usize, cmd: Command) -> Result<CommandResult, ApiError> {
        let (tx, rx) = oneshot::channel();
        let received = Instant::now();
        let kind = crate::metrics::command_kind(&cmd);
        self.tx
            .try_send(Msg::Command {
                site,
                cmd,
                reply: tx,
                received,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::ServerBusy,
                mpsc::error::TrySendError::Closed(_) => ApiError::ServerStopping,
            })?;
        let reply = rx.await.map_err(|_| ApiError::ServerStopping)?;
        self.metrics
            .reply_seconds
            .get_or_create(&crate::metrics::CommandLabels { command: kind })
            .observe(received.elapsed().as_secs_f64());
        reply
    }

    /// Reads the durable state inside the broker task.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&View<'_>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        let f: ReadFn = Box::new(move |v| {
            let _ = tx.send(f(v));
        });
        self.tx.try_send(Msg::Read(f)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ApiError::ServerBusy,
            mpsc::error::TrySendError::Closed(_) => ApiError::ServerStopping,
        })?;
        rx.await.map_err(|_| ApiError::ServerStopping)
    }
}

struct InFlight {
    job: u64,
    epoch: u64,
    site: usize,
    records: Vec<Record>,
    reply: Option<Reply>,
    /// For a call: when the command reached the broker, carried to the display sockets.
    call_received: Option<Instant>,
    /// The job carries webhook deliveries: wake the delivery task once durable.
    outbox: bool,
}

/// What the writer thread tells the broker.
enum Notice {
    Durable {
        job: u64,
        result: Result<(), StoreError>,
    },
    Probe(Result<(), StoreError>),
}

/// While storage is failing, how often the broker checks whether it takes writes again, so
/// issuing resumes by itself when the fault clears.
const PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

struct Broker {
    /// Per site, decides commands; includes events not yet durable.
    spec: Vec<Site>,
    /// Per site, only durable events; everything clients see comes from here.
    live: Vec<Site>,
    runtime: Arc<Vec<SiteRuntime>>,
    /// Shared with the handles, updated on reconfiguration.
    shared_runtime: Arc<std::sync::RwLock<Arc<Vec<SiteRuntime>>>>,
    /// A reconfiguration waiting for the commits in flight to finish.
    pending_config: Option<(Vec<SiteRuntime>, oneshot::Sender<Result<(), ApiError>>)>,
    db_path: std::path::PathBuf,
    writer: Writer,
    durable_tx: mpsc::UnboundedSender<Notice>,
    probing: bool,
    epoch: u64,
    next_seq: u64,
    durable_seq: u64,
    next_job: u64,
    inflight: VecDeque<InFlight>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    /// The latest time an event was stamped with, from the log at start. Event time never runs
    /// backwards: when the wall clock is stepped back, `now` stays here until the clock catches
    /// up. Otherwise a ticket taken after the step would be keyed before the people already
    /// waiting and called first, and a service in progress would end before it began.
    last_at_ms: i64,
    intake_open: bool,
    /// The next session boundary (a service opens or closes, `intake_close`), Unix ms: at it the
    /// broker sends every socket its site's fresh service stats (`stats` message).
    boundary_ms: i64,
    /// The latest storage failure while intake is closed: for `/healthz`.
    intake_reason: Option<ApiError>,
    metrics: Arc<Metrics>,
    /// The thread that computes wait estimates, and what the broker knows of each site's.
    estimator: Estimator,
    estimates: Vec<SiteEstimates>,
    /// Webhook endpoints, and which tickets each was told are near (`webhooks.rs`).
    hooks: Arc<Hooks>,
    away: AwaySeen,
}

/// Recovers every site from the store and starts the broker task.
pub fn start(
    store: Store,
    db_path: std::path::PathBuf,
    runtime: Vec<SiteRuntime>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    hooks: Arc<Hooks>,
    shutdown: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) -> Result<BrokerHandle, StoreError> {
    let mut live_sites = Vec::with_capacity(runtime.len());
    for rt in &runtime {
        let live = store.recover(rt.settings.core.clone())?;
        live.check_invariants()
            .map_err(|e| StoreError::Other(format!("recovered state of {}: {e}", rt.code)))?;
        tracing::info!(site = %rt.code, day = ?live.day(), tickets = live.tickets().len(), "recovered");
        live_sites.push(live);
    }
    let durable_seq = store.last_seq();
    let last_at_ms: i64 = store.connection().query_row(
        "SELECT coalesce((SELECT at_ms FROM events ORDER BY seq DESC LIMIT 1), 0)",
        [],
        |r| r.get(0),
    )?;
    let writer = Writer::spawn(store);
    metrics.set_writer(writer.stats.clone());
    let broker_metrics = metrics.clone();
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE_MAX);
    let (durable_tx, durable_rx) = mpsc::unbounded_channel();
    let runtime = Arc::new(runtime);
    let shared_runtime = Arc::new(std::sync::RwLock::new(runtime.clone()));
    let broker = Broker {
        shared_runtime: shared_runtime.clone(),
        pending_config: None,
        db_path,
        spec: live_sites.iter().map(Site::clone_for_the_day).collect(),
        live: live_sites,
        runtime: runtime.clone(),
        writer,
        durable_tx,
        epoch: 0,
        next_seq: durable_seq + 1,
        durable_seq,
        next_job: 0,
        inflight: VecDeque::new(),
        probing: false,
        hub,
        clock,
        last_at_ms,
        intake_open: true,
        boundary_ms: i64::MAX,
        intake_reason: None,
        metrics,
        estimator: Estimator::spawn(broker_metrics.estimating.clone()),
        estimates: runtime.iter().map(|_| SiteEstimates::new()).collect(),
        hooks,
        away: AwaySeen::default(),
    };
    tracker.spawn(broker.run(rx, durable_rx, shutdown));
    Ok(BrokerHandle {
        tx,
        metrics: broker_metrics,
        runtime: shared_runtime,
    })
}

impl Broker {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        mut durable_rx: mpsc::UnboundedReceiver<Notice>,
        shutdown: CancellationToken,
    ) {
        self.rollover_all();
        let mut tick = tokio::time::interval(ROLLOVER_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probe = tokio::time::interval(PROBE_INTERVAL);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let boundary = tokio::time::sleep(self.arm_boundary());
        tokio::pin!(boundary);
        let estimates_ready = self.estimator.ready();
        let mut estimate_tick = tokio::time::interval(ESTIMATE_TICK);
        estimate_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                Some(d) = durable_rx.recv() => self.on_notice(d),
                _ = shutdown.cancelled() => break,
                () = estimates_ready.notified() => self.on_estimates(),
                _ = estimate_tick.tick() => {
                    for site in 0..self.live.len() {
                        self.offer_estimate(site);
                    }
                }
                () = &mut boundary => {
                    if self.clock.now_ms().max(self.last_at_ms) >= self.boundary_ms {
                        self.rollover_all();
                        self.publish_boundary();
                    }
                    let sleep = self.arm_boundary();
                    boundary.as_mut().reset(tokio::time::Instant::now() + sleep);
                }
                _ = tick.tick() => self.rollover_all(),
                _ = probe.tick(), if !self.intake_open && !self.probing => self.probe(),
                msg = rx.recv(), if self.inflight.len() < INFLIGHT_JOBS_MAX && self.pending_config.is_none() => match msg {
                    Some(Msg::Command { site, cmd, reply, received }) => self.on_command(site, cmd, reply, received),
                    Some(Msg::Read(f)) => f(&self.view()),
                    Some(Msg::Reconfigure { sites, reply }) => {
                        self.pending_config = Some((sites, reply));
                        self.try_reconfigure();
                    }
                    None => break,
                },
            }
        }
        // Stop taking commands; finish what is in flight so every accepted command is answered.
        rx.close();
        while let Some(Msg::Command { reply, .. }) = rx.recv().await {
            let _ = reply.send(Err(ApiError::ServerStopping));
        }
        while !self.inflight.is_empty() {
            match durable_rx.recv().await {
                Some(d) => self.on_notice(d),
                None => break,
            }
        }
        if let Some(store) = self.writer.stop() {
            tracing::info!(last_seq = store.last_seq(), "storage closed");
        }
    }

    fn view(&self) -> View<'_> {
        View {
            sites: &self.live,
            runtime: &self.runtime,
            seq: self.durable_seq,
            intake_open: self.intake_open,
            intake_reason: self.intake_reason.as_ref(),
            hub: &self.hub,
            clock: self.clock.as_ref(),
            last_at_ms: self.last_at_ms,
        }
    }

    fn now(&self, site: usize) -> Now {
        site_now(
            self.clock.now_ms().max(self.last_at_ms),
            &self.runtime[site].tz,
        )
    }

    fn rollover_all(&mut self) {
        for site in 0..self.spec.len() {
            let now = self.now(site);
            self.rollover_if_due(site, &now);
        }
    }

    fn rollover_if_due(&mut self, site: usize, now: &Now) {
        if !self.spec[site].rollover_due(now) {
            return;
        }
        self.away.sync(&self.hooks, &self.spec);
        match self.spec[site].apply(Command::OpenDay { day: now.day }, now) {
            Ok(events) => {
                tracing::info!(site = %self.runtime[site].code, day = %now.day, "opening the day");
                self.submit(site, now, events, None, None);
            }
            Err(r) => tracing::error!(rejection = %r, "day rollover refused"),
        }
    }

    fn on_command(&mut self, site: usize, cmd: Command, reply: Reply, received: Instant) {
        if site >= self.spec.len() {
            let _ = reply.send(Err(ApiError::UnknownSite));
            return;
        }
        let is_issue = matches!(cmd, Command::Issue { .. });
        let call_received = matches!(
            cmd,
            Command::CallNext { .. } | Command::CallTicket { .. } | Command::Recall { .. }
        )
        .then_some(received);
        // While storage fails, a new ticket is refused at once (kiosks show the pause): no
        // citizen waits out a lock timeout for a ticket that cannot be saved. The probe reopens.
        if is_issue && !self.intake_open {
            let e = self
                .intake_reason
                .clone()
                .unwrap_or_else(|| ApiError::storage(&StoreError::Other("failing".into())));
            let _ = reply.send(Err(e));
            return;
        }
        let now = self.now(site);
        self.rollover_if_due(site, &now);
        // Before deciding: which tickets the endpoints were already told are near.
        self.away.sync(&self.hooks, &self.spec);
        match self.spec[site].apply(cmd, &now) {
            Ok(events) => self.submit(site, &now, events, Some(reply), call_received),
            Err(r) => {
                self.metrics
                    .commands_rejected
                    .fetch_add(1, Ordering::Relaxed);
                if is_issue {
                    tracing::debug!(rejection = %r, "issue refused");
                }
                let _ = reply.send(Err(ApiError::rejected(&r)));
            }
        }
    }

    fn submit(
        &mut self,
        site: usize,
        now: &Now,
        events: Vec<Event>,
        reply: Option<Reply>,
        call_received: Option<Instant>,
    ) {
        let code = self.runtime[site].code;
        self.last_at_ms = self.last_at_ms.max(now.at_ms);
        let open_day = self.spec[site].day().unwrap_or(now.day);
        let records: Vec<Record> = events
            .into_iter()
            .map(|event| {
                let day = match &event {
                    Event::DayClosed { day, .. } | Event::DayOpened { day, .. } => *day,
                    _ => open_day,
                };
                let seq = self.next_seq;
                self.next_seq += 1;
                Record {
                    seq,
                    site: code,
                    day,
                    at_ms: now.at_ms,
                    event,
                }
            })
            .collect();
        // Webhook deliveries, decided on the state after these events; they commit with them.
        let outbox = crate::webhooks::deliveries_for(
            &self.hooks,
            &mut self.away,
            site,
            &self.spec[site],
            &records,
        );
        let has_outbox = !outbox.is_empty();
        let job = self.next_job;
        self.next_job += 1;
        let tx = self.durable_tx.clone();
        self.writer.submit(Job {
            records: records.clone(),
            outbox,
            epoch: self.epoch,
            done: Box::new(move |result| {
                let _ = tx.send(Notice::Durable { job, result });
            }),
        });
        self.inflight.push_back(InFlight {
            job,
            epoch: self.epoch,
            site,
            records,
            reply,
            call_received,
            outbox: has_outbox,
        });
    }

    fn probe(&mut self) {
        self.probing = true;
        let tx = self.durable_tx.clone();
        self.writer.probe(Box::new(move |r| {
            let _ = tx.send(Notice::Probe(r));
        }));
    }

    fn on_notice(&mut self, n: Notice) {
        match n {
            Notice::Durable { job, result } => {
                self.on_durable(job, result);
                if self.pending_config.is_some() {
                    self.try_reconfigure();
                }
            }
            Notice::Probe(result) => {
                self.probing = false;
                match result {
                    Ok(()) if !self.intake_open => self.resume_intake(),
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "storage still failing");
                        self.intake_reason = Some(ApiError::storage(&e));
                    }
                }
            }
        }
    }

    /// Applies a pending configuration once nothing is in flight.
    fn try_reconfigure(&mut self) {
        if !self.inflight.is_empty() {
            return;
        }
        let Some((sites, reply)) = self.pending_config.take() else {
            return;
        };
        let _ = reply.send(self.reconfigure(sites));
    }

    fn reconfigure(&mut self, sites: Vec<SiteRuntime>) -> Result<(), ApiError> {
        let refuse = |vi: String, en: String| Err(ApiError::ConfigRefused { vi, en });
        let old: Vec<Code> = self.runtime.iter().map(|r| r.code).collect();
        let new: Vec<Code> = sites.iter().map(|r| r.code).collect();
        if old != new {
            return refuse(
                "Thêm, bớt hay đổi mã điểm tiếp nhận cần khởi động lại máy chủ".into(),
                "Adding, removing or renaming sites needs a server restart".into(),
            );
        }
        let conn = luot_store::open_reader(&self.db_path).map_err(|e| ApiError::storage(&e))?;
        let mut rebuilt = Vec::with_capacity(sites.len());
        for (i, rt) in sites.iter().enumerate() {
            let cfg = &rt.settings.core;
            // The admin page's check, shared with `serve --config` and `config import`.
            crate::config_in_force::check_fits(&self.live[i], cfg)?;
            let site =
                luot_store::recover_site(&conn, cfg.clone()).map_err(|e| ApiError::storage(&e))?;
            if let Err(e) = site.check_invariants() {
                return refuse(
                    format!("Cấu hình mới không khớp dữ liệu hôm nay: {e}"),
                    format!("The new configuration does not fit today's data: {e}"),
                );
            }
            rebuilt.push(site);
        }
        for (i, site) in rebuilt.iter_mut().enumerate() {
            // The tables are keyed by codes: shown until the new configuration's own.
            if let Some(t) = self.live[i].estimates() {
                site.set_estimates(t.clone());
            }
            self.estimates[i].stale = true;
        }
        self.spec = rebuilt.iter().map(Site::clone_for_the_day).collect();
        self.live = rebuilt;
        let runtime = Arc::new(sites);
        self.runtime = runtime.clone();
        *self.shared_runtime.write().expect("runtime lock") = runtime;
        tracing::info!("configuration applied live");
        let msg = ServerMessage::Config {
            v: PROTOCOL_VERSION,
            seq: self.durable_seq,
        };
        self.publish_outside_stream(0..self.live.len(), &msg);
        Ok(())
    }

    fn on_durable(&mut self, job: u64, result: Result<(), StoreError>) {
        let Some(f) = self.inflight.pop_front() else {
            tracing::error!(job, "durable notice for no job");
            return;
        };
        debug_assert_eq!(f.job, job, "jobs complete in submission order");
        match result {
            Ok(()) => {
                let mut result = CommandResult::default();
                let mut about = None;
                for r in &f.records {
                    let before = self.affected_services(f.site, &r.event);
                    let first_call = match &r.event {
                        Event::TicketCalled { ticket, .. } => self.live[f.site]
                            .ticket(*ticket)
                            .filter(|t| t.called_at_ms.is_none())
                            .map(|t| {
                                // In the hall from its check-in, for a number from home.
                                let arrived = t.checked_in_at_ms.unwrap_or(t.issued_at_ms);
                                (arrived, t.service.to_string())
                            }),
                        _ => None,
                    };
                    self.live[f.site].evolve(&r.event, r.at_ms);
                    if let Some((issued_at_ms, service)) = first_call {
                        let labels = crate::metrics::ServiceLabels {
                            site: self.runtime[f.site].code.to_string(),
                            service,
                        };
                        let wait_s = (r.at_ms - issued_at_ms).max(0) as f64 / 1000.0;
                        self.metrics
                            .wait_seconds
                            .get_or_create(&labels)
                            .observe(wait_s);
                    }
                    let (live, spec) = (&mut self.live[f.site], &self.spec[f.site]);
                    live.share_tickets(spec, &r.event);
                    self.durable_seq = r.seq;
                    self.count(&r.event);
                    self.publish_event(f.site, r, before, f.call_received);
                    if let Event::TicketIssued { token, .. } = &r.event {
                        result.token = Some(token.to_hex());
                    }
                    about = r.event.ticket().or(about);
                }
                result.seq = self.durable_seq;
                let live = &self.live[f.site];
                let at = f.records.last().map_or(self.last_at_ms, |r| r.at_ms);
                let now = site_now(at, &self.runtime[f.site].tz);
                result.ticket = about
                    .and_then(|id| live.ticket(id))
                    .map(|t| TicketView::of_at(t, live, &now));
                if let Some(reply) = f.reply {
                    let _ = reply.send(Ok(result));
                }
                self.estimates[f.site].changed_seq = self.durable_seq;
                self.offer_estimate(f.site);
                if f.outbox {
                    self.hooks.wake.notify_one();
                }
                if !self.intake_open {
                    self.resume_intake();
                }
            }
            Err(e) => {
                if let Some(reply) = f.reply {
                    let _ = reply.send(Err(ApiError::storage(&e)));
                }
                if f.epoch == self.epoch {
                    // The first failure of this epoch: forget everything not durable.
                    tracing::error!(error = %e, "storage failed: dropping undurable state, issuing paused");
                    self.epoch += 1;
                    self.spec = self.live.iter().map(Site::clone_for_the_day).collect();
                    self.next_seq = self.durable_seq + 1;
                    // The deliveries of the lost jobs were lost with them.
                    self.away.invalidate();
                    let reason = ApiError::storage(&e);
                    // Tell the clients when issuing stops, or when the cause changes.
                    let news = self.intake_open
                        || self.intake_reason.as_ref().map(ApiError::code) != Some(reason.code());
                    self.intake_open = false;
                    self.intake_reason = Some(reason.clone());
                    if news {
                        self.publish_intake(Some(reason.to_dto()));
                    }
                }
            }
        }
    }

    fn count(&self, e: &Event) {
        let m = &self.metrics;
        match e {
            Event::TicketIssued { .. } => m.tickets_issued.fetch_add(1, Ordering::Relaxed),
            Event::TicketCalled { .. } => m.tickets_called.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        m.events.fetch_add(1, Ordering::Relaxed);
    }

    /// Services whose waiting count or estimate an event changes (looked at before and after).
    fn affected_services(&self, site: usize, e: &Event) -> Vec<Code> {
        let live = &self.live[site];
        let cfg = live.config();
        let counter_services = |c: &Code| -> Vec<Code> {
            cfg.counter(*c)
                .map(|c| c.services.iter().map(|s| s.service).collect())
                .unwrap_or_default()
        };
        match e {
            Event::DayClosed { .. } | Event::DayOpened { .. } => {
                cfg.services.iter().map(|s| s.code).collect()
            }
            Event::TicketIssued { service, .. }
            | Event::ServicePaused { service, .. }
            | Event::ServiceResumed { service }
            | Event::DailyCapRaised { service, .. } => vec![*service],
            Event::CounterOpened { counter, .. }
            | Event::CounterPaused { counter, .. }
            | Event::CounterResumed { counter }
            | Event::CounterClosed { counter } => counter_services(counter),
            Event::TicketTransferred { ticket, to, .. } => {
                let mut v: Vec<Code> = live
                    .ticket(*ticket)
                    .map(|t| *t.service)
                    .into_iter()
                    .collect();
                if let luot_core::TransferTarget::Service(s) = to {
                    v.push(*s);
                }
                v
            }
            other => other
                .ticket()
                .and_then(|id| live.ticket(id))
                .map(|t| vec![*t.service])
                .unwrap_or_default(),
        }
    }

    fn publish_event(
        &self,
        site: usize,
        r: &Record,
        mut services: Vec<Code>,
        call_received: Option<Instant>,
    ) {
        services.sort();
        services.dedup();
        let live = &self.live[site];
        let now = site_now(r.at_ms, &self.runtime[site].tz);
        let stats = self.service_stats(site, &services, &now);
        let msg = ServerMessage::Event {
            v: PROTOCOL_VERSION,
            seq: r.seq,
            site: self.runtime[site].code.to_string(),
            at_ms: r.at_ms,
            event: r.event.to_wire().redacted(),
            ticket: r
                .event
                .ticket()
                .and_then(|id| live.ticket(id))
                .map(TicketView::brief),
            stats,
        };
        let json = serde_json::to_string(&msg).expect("server messages serialize");
        self.hub.publish(Outgoing {
            seq: r.seq,
            site,
            ticket: r.event.ticket().map(|t| t.0),
            json: json.into(),
            call_received: call_received.filter(|_| {
                matches!(
                    r.event,
                    Event::TicketCalled { .. } | Event::TicketRecalled { .. }
                )
            }),
        });
    }

    /// Sets `boundary_ms` to the next minute at which any site's intake may change (a service's
    /// hours start or end, `intake_close`, midnight) and returns how long to sleep towards it.
    fn arm_boundary(&mut self) -> std::time::Duration {
        let now_ms = self.clock.now_ms().max(self.last_at_ms);
        let mut next = i64::MAX;
        for (site, live) in self.live.iter().enumerate() {
            let now = site_now(now_ms, &self.runtime[site].tz);
            let minute = next_boundary_minute(live.config(), &now);
            // Zone offsets are whole minutes: local minutes start where UTC minutes do.
            let minute_start_ms = now_ms - now_ms.rem_euclid(60_000);
            let at = minute_start_ms + (minute as i64 - now.minute as i64) * 60_000;
            next = next.min(at);
        }
        self.boundary_ms = next;
        let wait_ms = next.saturating_sub(now_ms).max(0) as u64;
        std::time::Duration::from_millis(wait_ms).min(BOUNDARY_SLEEP_MAX)
    }

    /// At a session boundary: every socket gets its site's service stats as of now, so kiosks
    /// stop (or start) issuing within a second of it without watching the clock.
    fn publish_boundary(&self) {
        for (site, live) in self.live.iter().enumerate() {
            let now = self.now(site);
            let all: Vec<Code> = live.config().services.iter().map(|s| s.code).collect();
            let msg = ServerMessage::Stats {
                v: PROTOCOL_VERSION,
                site: self.runtime[site].code.to_string(),
                at_ms: now.at_ms,
                stats: self.service_stats(site, &all, &now),
            };
            self.publish_outside_stream(site..site + 1, &msg);
        }
        tracing::debug!("session boundary: service stats sent");
    }

    fn resume_intake(&mut self) {
        self.intake_open = true;
        self.intake_reason = None;
        tracing::info!("storage writable again: issuing resumed");
        self.publish_intake(None);
    }

    /// Hands the estimator a copy of the site's durable state if it is due one.
    fn offer_estimate(&mut self, site: usize) {
        let now = Instant::now();
        let live = &self.live[site];
        // With every counter closed the estimates are counts, read from the lines themselves
        // (`Site::estimate_ticket`): no copy, no pass.
        let any_open = live
            .counters()
            .iter()
            .any(|c| c.status == luot_core::CounterStatus::Open);
        if !any_open || !self.estimates[site].due(now, live.waiting_total() > 0) {
            return;
        }
        self.estimates[site].offered(self.durable_seq, now);
        self.estimator.submit(EstimateJob {
            site,
            code: self.runtime[site].code,
            seq: self.durable_seq,
            state: live.clone(),
            now: self.now(site),
        });
    }

    /// Publishes finished tables: the site answers from them, and every socket of the site gets
    /// the stats of the services whose newcomer estimate changed (`estimates` message; sent
    /// with no stats when only waiting tickets' estimates changed).
    fn on_estimates(&mut self) {
        for done in self.estimator.take_done() {
            let site = done.site;
            if site >= self.live.len() || self.runtime[site].code != done.code {
                continue;
            }
            self.estimates[site].finished(done.took, Instant::now());
            self.metrics
                .estimate_pass_seconds
                .observe(done.took.as_secs_f64());
            let live = &mut self.live[site];
            let old = live.estimates().cloned();
            live.set_estimates(done.table.clone());
            let changed: Vec<Code> = live
                .config()
                .services
                .iter()
                .map(|s| s.code)
                .filter(|c| {
                    old.as_ref().is_none_or(|o| {
                        o.newcomer.get(c) != done.table.newcomer.get(c)
                            || o.priority_newcomer.get(c) != done.table.priority_newcomer.get(c)
                    })
                })
                .collect();
            // A phone follows its own ticket: it asks again after any `estimates` message, so
            // one goes when only tickets' estimates changed (a transfer to a counter's line).
            let tickets_changed = old.as_ref().is_none_or(|o| o.tickets != done.table.tickets);
            if !changed.is_empty() || tickets_changed {
                self.publish_estimates(site, &changed, done.seq);
            }
            // What changed while the copy was with the thread goes when the rest is over.
            self.offer_estimate(site);
        }
    }

    fn publish_estimates(&self, site: usize, services: &[Code], as_of_seq: u64) {
        let now = self.now(site);
        let msg = ServerMessage::Estimates {
            v: PROTOCOL_VERSION,
            site: self.runtime[site].code.to_string(),
            at_ms: now.at_ms,
            as_of_seq,
            stats: self.service_stats(site, services, &now),
        };
        self.publish_outside_stream(site..site + 1, &msg);
    }

    /// The stats of these services of a site, as clients are shown them.
    fn service_stats(&self, site: usize, services: &[Code], now: &Now) -> Vec<ServiceStatsDto> {
        let live = &self.live[site];
        services
            .iter()
            .filter_map(|c| live.config().service(*c))
            .map(|s| ServiceStatsDto::of(live, s, now))
            .collect()
    }

    /// Sends every socket of these sites a message that is not part of the event stream (no
    /// `seq`, not replayed on resume), serialized once.
    fn publish_outside_stream(&self, sites: std::ops::Range<usize>, msg: &ServerMessage) {
        let json = serde_json::to_string(msg).expect("server messages serialize");
        for site in sites {
            self.hub.publish(Outgoing {
                seq: 0,
                site,
                ticket: None,
                json: json.clone().into(),
                call_received: None,
            });
        }
    }

    fn publish_intake(&self, reason: Option<ErrorDto>) {
        let msg = ServerMessage::Intake {
            v: PROTOCOL_VERSION,
            open: self.intake_open,
            reason,
        };
        self.publish_outside_stream(0..self.spec.len(), &msg);
    }
}
