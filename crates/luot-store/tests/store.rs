//! The store against real SQLite files in temporary folders: schema and pragmas, the replay
//! property (the state rebuilt from the log equals the live state), the tickets projection, group
//! commit, a kill in the middle of writing, failed commits, files it must refuse, and accounts.
//!
//! Seeded tests name their seed on failure; `LUOT_STORE_SEED=<n>` replays one seed alone.

mod common;

use common::{Recorder, Rng, code, first_day, midnight_ms, now, site_config};
use luot_core::{
    Appointment, Channel, Code, Command, Day, Event, PersonKey, Site, SiteConfig, TicketNumber,
    TicketRef, TicketState, TransferTarget,
};
use luot_store::{
    APPLICATION_ID, Accounts, DeviceKind, Job, NewDevice, Record, Role, SCHEMA_VERSION, Store,
    StoreError, User, Writer,
};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("luot.db");
    (dir, path)
}

fn pragma_i64(store: &Store, name: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("PRAGMA {name}: {e}"))
}

fn integrity(store: &Store) -> String {
    store
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

fn all_seqs(store: &Store) -> Vec<u64> {
    let mut stmt = store
        .connection()
        .prepare("SELECT seq FROM events ORDER BY seq")
        .expect("select seqs");
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .expect("query seqs")
        .map(|s| s.expect("seq") as u64)
        .collect()
}

// ----- schema -----

#[test]
fn migrations_build_the_schema_in_an_empty_file() {
    let (_dir, path) = temp_db();
    // An empty file (as `touch` leaves it) is a new database, like a missing one.
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path).unwrap();
    let conn = store.connection();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(stmt);
    // Later migrations may add tables; these must be there.
    for table in [
        "audit",
        "config_versions",
        "devices",
        "events",
        "meta",
        "sessions",
        "tickets",
        "users",
    ] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    assert_eq!(pragma_i64(&store, "user_version"), SCHEMA_VERSION);
    assert_eq!(pragma_i64(&store, "application_id"), APPLICATION_ID);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(pragma_i64(&store, "synchronous"), 2, "synchronous=FULL");
    assert_eq!(pragma_i64(&store, "foreign_keys"), 1);
    assert_eq!(store.last_seq(), 0);
    assert_eq!(store.path(), path);
    drop(store);

    // Reopening applies nothing twice and keeps the durability settings.
    let store = Store::open(&path).unwrap();
    assert_eq!(pragma_i64(&store, "user_version"), SCHEMA_VERSION);
    assert_eq!(pragma_i64(&store, "synchronous"), 2);
    let count: i64 = store
        .connection()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count as usize, tables.len());
}

/// The migration files in order, as shipped.
fn migration_files() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn every_older_schema_upgrades_in_place_and_keeps_its_events() {
    let migrations = migration_files();
    assert_eq!(
        migrations.len() as i64,
        SCHEMA_VERSION,
        "one file per version"
    );
    let mut rng = Rng::new(4);
    let events: Vec<Record> = issued(1..=5, &mut rng);
    for version in 1..SCHEMA_VERSION {
        let (_dir, path) = temp_db();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        for sql in &migrations[..version as usize] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", version).unwrap();
        let mut day_opened = issued(6..=6, &mut rng).remove(0);
        day_opened.event = Event::DayOpened {
            day: first_day(),
            first_ticket_id: luot_core::TicketId(1),
            carried: Vec::new(),
            service_times: Vec::new(),
        };
        // Rows as that version wrote them (the events table has not changed since 0001).
        for r in std::iter::once(&day_opened).chain(&events) {
            use luot_proto::Wire;
            conn.execute(
                "INSERT INTO events (seq, site, day, at_ms, kind, ticket, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    if r.seq == 6 { 1 } else { r.seq as i64 + 1 },
                    r.site.as_str(),
                    r.day.to_string(),
                    r.at_ms,
                    r.event.kind(),
                    r.event.ticket().map(|t| t.0 as i64),
                    serde_json::to_string(&r.event.to_wire()).unwrap(),
                ],
            )
            .unwrap();
        }
        drop(conn);

        let mut store = Store::open(&path).unwrap();
        let context = format!("from version {version}");
        assert_eq!(
            pragma_i64(&store, "user_version"),
            SCHEMA_VERSION,
            "{context}"
        );
        assert_eq!(store.last_seq(), 6, "{context}");
        let loaded = store.load_site(code(common::SITE)).unwrap();
        assert_eq!(loaded.len(), 6, "{context}");
        assert!(
            matches!(loaded[0].event, Event::DayOpened { .. }),
            "{context}"
        );
        assert_eq!(loaded[1].event, events[0].event, "{context}");
        // And it takes new events.
        let mut next = issued(8..=8, &mut rng);
        next[0].seq = 7;
        store.append(&next).unwrap();
        assert_eq!(integrity(&store), "ok", "{context}");
    }
}

#[test]
fn recovery_finds_its_checkpoint_through_an_index() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let plan: Vec<String> = {
        let mut stmt = store
            .connection()
            .prepare(
                "EXPLAIN QUERY PLAN SELECT max(seq) FROM events WHERE site = ?1 AND kind = 'day_opened'",
            )
            .unwrap();
        stmt.query_map([common::SITE], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(
        plan.iter()
            .any(|p| p.contains("USING") && p.contains("INDEX")),
        "the checkpoint lookup scans the log: {plan:?}"
    );
}

#[test]
fn configuration_versions_change_only_with_the_digest() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.record_config("a = 1", "d1", 10).unwrap(), 1);
    assert_eq!(store.record_config("a = 1", "d1", 20).unwrap(), 1);
    assert_eq!(store.record_config("a = 2", "d2", 30).unwrap(), 2);
    // Going back to an older configuration is a change too.
    assert_eq!(store.record_config("a = 1", "d1", 40).unwrap(), 3);
    let rows: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM config_versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);
}

// ----- a seeded day at the center -----

/// Drives one live `Site` with random commands in virtual time, numbering the events of the
/// accepted ones as the broker would.
struct Sim {
    live: Site,
    rng: Rng,
    at_ms: i64,
    officials: Vec<Code>,
    /// A service the random commands leave alone (tests give it tickets of their own).
    reserved: Option<Code>,
    /// Check the live site's invariants after every command (costly on long days).
    check_each_step: bool,
}

impl Sim {
    fn new(cfg: SiteConfig, seed: u64) -> Sim {
        Sim {
            live: Site::new(cfg),
            rng: Rng::new(seed),
            at_ms: midnight_ms(first_day()) + 7 * 3_600_000,
            officials: ["an", "binh", "chi", "dung"].map(code).to_vec(),
            reserved: None,
            check_each_step: true,
        }
    }

    fn code(&self) -> Code {
        self.live.config().code
    }

    /// Applies a command at the current virtual time; the events as records when accepted.
    fn apply(&mut self, cmd: Command, rec: &mut Recorder) -> Option<Vec<Record>> {
        let before = self.live.day();
        let events = self.live.apply(cmd, &now(self.at_ms)).ok()?;
        if self.check_each_step
            && let Err(e) = self.live.check_invariants()
        {
            panic!("live site broke an invariant: {e}");
        }
        let open = before.or(self.live.day());
        Some(rec.records(self.code(), events, open, self.at_ms))
    }

    /// Opens `day` at 07:00 local time, closing the open one.
    fn open_day(&mut self, day: Day, rec: &mut Recorder) -> Vec<Record> {
        self.at_ms = midnight_ms(day) + 7 * 3_600_000 + self.rng.below(60_000) as i64;
        self.apply(Command::OpenDay { day }, rec)
            .expect("a later day always opens")
    }

    /// A ticket to name in a command: mostly one in the state the command wants, sometimes any
    /// ticket, now and then one that does not exist.
    fn random_ticket(&mut self, wanted: TicketState) -> TicketRef {
        let any = self.rng.chance(25);
        let tickets: Vec<&luot_core::Ticket> = self
            .live
            .tickets()
            .iter()
            .filter(|t| Some(*t.service) != self.reserved && (any || t.state == wanted))
            .collect();
        if tickets.is_empty() || self.rng.chance(3) {
            return TicketRef::Number(TicketNumber::parse("A999").unwrap());
        }
        let t = tickets[self.rng.below(tickets.len() as u64) as usize];
        let (number, token) = (t.number, t.token);
        if self.rng.chance(50) {
            TicketRef::Number(number)
        } else {
            TicketRef::Token(token)
        }
    }

    /// A counter: mostly one whose status has the wanted name.
    fn random_counter(&mut self, wanted: &str) -> Code {
        let all: Vec<Code> = self.live.counters().iter().map(|c| c.code).collect();
        let fit: Vec<Code> = self
            .live
            .counters()
            .iter()
            .filter(|c| c.status.as_str() == wanted)
            .map(|c| c.code)
            .collect();
        if fit.is_empty() || self.rng.chance(25) {
            *self.rng.pick(&all)
        } else {
            *self.rng.pick(&fit)
        }
    }

    fn random_command(&mut self) -> Command {
        let cfg = self.live.config();
        let services: Vec<Code> = cfg
            .services
            .iter()
            .map(|s| s.code)
            .filter(|&s| Some(s) != self.reserved)
            .collect();
        let counters: Vec<Code> = cfg.counters.iter().map(|c| c.code).collect();
        let priorities: Vec<Code> = cfg.priority_categories.iter().map(|p| p.code).collect();
        let counter = self.random_counter("open");
        match self.rng.below(100) {
            0..=27 => {
                let channel = *self.rng.pick(&Channel::ALL);
                let appointment = (channel == Channel::Appointment).then(|| {
                    let from_ms = self.at_ms + self.rng.range(0, 7_200_000) as i64 - 1_800_000;
                    // Now and then an empty window, which the core refuses.
                    let len = self.rng.range(0, 3_600_000) as i64;
                    Appointment {
                        from_ms,
                        to_ms: from_ms + len,
                    }
                });
                Command::Issue {
                    phone: None,
                    service: *self.rng.pick(&services),
                    channel,
                    priority: self.rng.chance(15).then(|| *self.rng.pick(&priorities)),
                    token: self.rng.token(),
                    appointment,
                    person: self.rng.chance(20).then(|| PersonKey(self.rng.below(6))),
                }
            }
            28..=43 => Command::CallNext { counter },
            44..=46 => Command::CallTicket {
                counter,
                ticket: self.random_ticket(TicketState::Waiting),
            },
            47..=49 => Command::Recall { counter },
            50..=57 => Command::Start { counter },
            58..=67 => Command::Complete { counter },
            68..=71 => Command::NoShow { counter },
            72..=74 => Command::Return {
                ticket: self.random_ticket(TicketState::NoShow),
            },
            75..=77 => Command::Transfer {
                counter,
                to: if self.rng.chance(50) {
                    TransferTarget::Service(*self.rng.pick(&services))
                } else {
                    TransferTarget::Counter(*self.rng.pick(&counters))
                },
                note: if self.rng.chance(50) {
                    "Hồ sơ thuộc lĩnh vực khác".into()
                } else {
                    String::new()
                },
            },
            78..=80 => Command::Cancel {
                ticket: self.random_ticket(TicketState::Waiting),
            },
            81..=86 => Command::Rate {
                ticket: self.random_ticket(TicketState::Done),
                score: self.rng.below(6) as u8,
                reason: self.rng.chance(30).then(|| "Chờ hơi lâu".to_string()),
            },
            87..=91 => Command::OpenCounter {
                counter: self.random_counter("closed"),
                official: *self.rng.pick(&self.officials),
            },
            92..=94 => Command::PauseCounter {
                counter,
                reason: "Nghỉ giải lao".into(),
            },
            95..=96 => Command::ResumeCounter {
                counter: self.random_counter("paused"),
            },
            _ => Command::CloseCounter { counter },
        }
    }

    /// One random step: time moves on (sometimes not at all), a random command is tried.
    fn step(&mut self, rec: &mut Recorder) -> Option<Vec<Record>> {
        self.at_ms += self.rng.range(0, 90_000) as i64;
        let cmd = self.random_command();
        self.apply(cmd, rec)
    }
}

/// Appends records in batches of random sizes (so a command's events may straddle two commits).
struct Batcher {
    pending: Vec<Record>,
    target: usize,
}

impl Batcher {
    fn new() -> Batcher {
        Batcher {
            pending: Vec::new(),
            target: 1,
        }
    }

    fn push(&mut self, records: Vec<Record>, store: &mut Store, rng: &mut Rng) {
        self.pending.extend(records);
        while self.pending.len() >= self.target {
            let batch: Vec<Record> = self.pending.drain(..self.target).collect();
            store.append(&batch).expect("append");
            self.target = rng.range(1, 24) as usize;
        }
    }

    fn flush(&mut self, store: &mut Store) {
        store.append(&self.pending).expect("append");
        self.pending.clear();
    }
}

/// The recovered site must be the live one: every ticket, every counter, the counts.
fn assert_same_site(live: &Site, recovered: &Site, context: &str) {
    assert_eq!(recovered.day(), live.day(), "{context}: day");
    assert_eq!(
        recovered.tickets().len(),
        live.tickets().len(),
        "{context}: ticket count"
    );
    for (r, l) in recovered.tickets().iter().zip(live.tickets()) {
        assert_eq!(r, l, "{context}: ticket {}", l.number);
    }
    for (r, l) in recovered.counters().iter().zip(live.counters()) {
        let c = l.code;
        assert_eq!(r.code, l.code, "{context}: counter order");
        assert_eq!(r.status, l.status, "{context}: {c} status");
        assert_eq!(r.official, l.official, "{context}: {c} official");
        assert_eq!(r.current, l.current, "{context}: {c} current");
        assert_eq!(
            r.priority_streak, l.priority_streak,
            "{context}: {c} streak"
        );
        assert_eq!(r.served_today, l.served_today, "{context}: {c} served");
        assert_eq!(
            r.service_s_today, l.service_s_today,
            "{context}: {c} service time"
        );
    }
    assert_eq!(recovered.counters().len(), live.counters().len());
    assert_eq!(
        recovered.waiting_total(),
        live.waiting_total(),
        "{context}: waiting"
    );
    assert_eq!(
        recovered.issued_today(),
        live.issued_today(),
        "{context}: issued"
    );
    for s in &live.config().services {
        let c = s.code;
        assert_eq!(
            recovered.issued_for(c),
            live.issued_for(c),
            "{context}: issued {c}"
        );
        assert_eq!(
            recovered.waiting_for(c),
            live.waiting_for(c),
            "{context}: waiting {c}"
        );
        // The day checkpoint stores learned service times in whole seconds, so a replay starts
        // up to half a second off and converges with every completion.
        let (r, l) = (
            recovered.service_time(c).unwrap(),
            live.service_time(c).unwrap(),
        );
        assert!(
            (r.mean_s - l.mean_s).abs() <= 1.0 && (r.dev_s - l.dev_s).abs() <= 1.0,
            "{context}: service time of {c}: recovered {r:?}, live {l:?}"
        );
    }
    if let Err(e) = recovered.check_invariants() {
        panic!("{context}: recovered site breaks an invariant: {e}");
    }
}

/// Both sites must answer the same commands with the same events: the hidden state (numbering,
/// per-person tallies, lanes, interleave streaks) was rebuilt too.
fn assert_same_answers(live: &mut Site, recovered: &mut Site, sim: &mut Sim, steps: usize) {
    for i in 0..steps {
        sim.at_ms += sim.rng.range(0, 30_000) as i64;
        let cmd = sim.random_command();
        let n = now(sim.at_ms);
        let a = live.apply(cmd.clone(), &n);
        let b = recovered.apply(cmd.clone(), &n);
        assert_eq!(b, a, "step {i} after recovery: {cmd:?}");
    }
}

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("LUOT_STORE_SEED") {
        Ok(s) => vec![s.parse().expect("LUOT_STORE_SEED is a number")],
        Err(_) => default.collect(),
    }
}

#[test]
fn replaying_the_log_rebuilds_the_live_site() {
    const DAYS: i32 = 3;
    const STEPS_PER_DAY: usize = 250;
    let mut accepted_total = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for seed in seeds(0..24) {
        let context = format!("seed {seed}");
        let (_dir, path) = temp_db();
        let mut store = Store::open(&path).unwrap();
        let cfg = site_config();
        let mut sim = Sim::new(cfg.clone(), seed);
        let mut rec = Recorder::default();
        let mut batcher = Batcher::new();
        let mut batch_rng = Rng::new(seed.wrapping_mul(31));
        for d in 0..DAYS {
            // Sometimes a day without service (a weekend) in between.
            let day = Day(first_day().0 + d * 2 + sim.rng.below(2) as i32);
            let records = sim.open_day(day, &mut rec);
            kinds.extend(records.iter().map(|r| r.event.kind()));
            batcher.push(records, &mut store, &mut batch_rng);
            for _ in 0..STEPS_PER_DAY {
                if let Some(records) = sim.step(&mut rec) {
                    accepted_total += 1;
                    kinds.extend(records.iter().map(|r| r.event.kind()));
                    batcher.push(records, &mut store, &mut batch_rng);
                }
            }
            batcher.flush(&mut store);
            let recovered = store.recover(cfg.clone()).unwrap();
            assert_same_site(&sim.live, &recovered, &format!("{context}, day {d}"));
        }
        assert_eq!(store.last_seq(), rec.next_seq - 1, "{context}");

        // A restart: the file alone must be enough.
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.last_seq(), rec.next_seq - 1, "{context}: reopened");
        let mut recovered = store.recover(cfg.clone()).unwrap();
        assert_same_site(&sim.live, &recovered, &format!("{context}, reopened"));
        let mut live = sim.live.clone();
        assert_same_answers(&mut live, &mut recovered, &mut sim, 150);
    }
    // The generator must keep exercising the core, not just collect rejections, and reach
    // every kind of event: otherwise this test proves less without failing.
    if std::env::var("LUOT_STORE_SEED").is_err() {
        assert!(
            accepted_total > 24 * 3 * 100,
            "only {accepted_total} commands accepted"
        );
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            [
                "counter_closed",
                "counter_opened",
                "counter_paused",
                "counter_resumed",
                "day_closed",
                "day_opened",
                "service_completed",
                "service_started",
                "ticket_called",
                "ticket_cancelled",
                "ticket_issued",
                "ticket_no_show",
                "ticket_rated",
                "ticket_recalled",
                "ticket_returned",
                "ticket_transferred",
            ]
        );
    }
}

#[test]
fn recovery_starts_at_the_last_day_opened_and_keeps_carried_tickets() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    // A carry-over service no counter serves: its tickets wait from day to day.
    let archive = code("luu-tru");
    let mut cfg = site_config();
    cfg.services
        .push(common::service("luu-tru", "tu-phap", "D", true));
    // A second site shares the log (and its sequence numbers) but not its events.
    let mut other_cfg = site_config();
    other_cfg.code = code("hcm-q3");
    let mut sim = Sim::new(cfg.clone(), 11);
    sim.reserved = Some(archive);
    let mut other = Sim::new(other_cfg.clone(), 12);
    let mut rec = Recorder::default();
    let mut written: Vec<Record> = Vec::new();
    let mut write = |records: Vec<Record>, store: &mut Store| {
        store.append(&records).unwrap();
        written.extend(records);
    };
    const DAYS: i32 = 4;
    const ARCHIVED_PER_DAY: usize = 3;
    let mut archived: Vec<TicketNumber> = Vec::new();
    for d in 0..DAYS {
        let day = Day(first_day().0 + d);
        write(sim.open_day(day, &mut rec), &mut store);
        write(other.open_day(day, &mut rec), &mut store);
        for i in 0..120 {
            if i % (120 / ARCHIVED_PER_DAY) == 0 {
                let cmd = Command::Issue {
                    phone: None,
                    service: archive,
                    channel: Channel::Staff,
                    priority: None,
                    token: sim.rng.token(),
                    appointment: None,
                    person: None,
                };
                let records = sim.apply(cmd, &mut rec).expect("issue");
                let Event::TicketIssued { number, .. } = records[0].event else {
                    panic!("issued {records:?}")
                };
                archived.push(number);
                write(records, &mut store);
            }
            if let Some(records) = sim.step(&mut rec) {
                write(records, &mut store);
            }
            if let Some(records) = other.step(&mut rec) {
                write(records, &mut store);
            }
        }
    }
    let last_day = Day(first_day().0 + DAYS - 1);
    let last_open = written
        .iter()
        .rposition(|r| r.site == cfg.code && matches!(r.event, Event::DayOpened { .. }))
        .unwrap();
    let expected: Vec<Record> = written[last_open..]
        .iter()
        .filter(|r| r.site == cfg.code)
        .cloned()
        .collect();
    let loaded = store.load_site(cfg.code).unwrap();
    assert!(
        matches!(loaded[0].event, Event::DayOpened { day, .. } if day == last_day),
        "{:?}",
        loaded[0]
    );
    assert_eq!(loaded, expected);
    assert!(loaded.len() < written.len() / 4, "older days are not read");

    let recovered = store.recover(cfg.clone()).unwrap();
    assert_same_site(&sim.live, &recovered, "last day");
    // Every archive ticket is still waiting, under its first number and issue day.
    assert_eq!(archived.len(), DAYS as usize * ARCHIVED_PER_DAY);
    for (i, number) in archived.iter().enumerate() {
        let t = recovered
            .resolve(TicketRef::Number(*number))
            .unwrap_or_else(|| panic!("{number} was not carried"));
        assert_eq!(t.state, TicketState::Waiting, "{number}");
        assert_eq!(
            t.issued_day,
            Day(first_day().0 + (i / ARCHIVED_PER_DAY) as i32),
            "{number}"
        );
    }
    assert_eq!(recovered.waiting_for(archive), archived.len() as u32);

    let recovered_other = store.recover(other_cfg).unwrap();
    assert_same_site(&other.live, &recovered_other, "other site");
    // A site with no events recovers to a site with no day.
    let mut lonely = site_config();
    lonely.code = code("hcm-q9");
    assert!(store.load_site(lonely.code).unwrap().is_empty());
    assert_eq!(store.recover(lonely).unwrap().day(), None);
}

/// A busy day of `steps` random commands a second or two apart, written in batches of 100.
fn busy_day(store: &mut Store, seed: u64, steps: usize) -> Sim {
    let mut sim = Sim::new(site_config(), seed);
    sim.check_each_step = false;
    let mut rec = Recorder::default();
    let mut pending = sim.open_day(first_day(), &mut rec);
    for _ in 0..steps {
        sim.at_ms += sim.rng.range(0, 2_000) as i64;
        let cmd = sim.random_command();
        if let Some(records) = sim.apply(cmd, &mut rec) {
            pending.extend(records);
        }
        if pending.len() >= 100 {
            store.append(&pending).unwrap();
            pending.clear();
        }
    }
    store.append(&pending).unwrap();
    sim
}

#[test]
fn recovery_of_a_long_day_matches_and_reports_a_damaged_event() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let sim = busy_day(&mut store, 21, 24_000);
    // Long enough for recovery to hand many chunks between its threads.
    assert!(store.last_seq() > 10_000, "{} events", store.last_seq());
    let recovered = store.recover(site_config()).unwrap();
    assert_same_site(&sim.live, &recovered, "long day");

    // A damaged event in the middle fails recovery by its seq (and does not hang it).
    let seq = store.last_seq() / 2;
    store
        .connection()
        .execute(
            "UPDATE events SET body = '{\"type\":' WHERE seq = ?1",
            [seq as i64],
        )
        .unwrap();
    match store.recover(site_config()) {
        Err(StoreError::BadEvent { seq: s, .. }) => assert_eq!(s, seq),
        other => panic!(
            "expected a bad event at {seq}, got {:?}",
            other.map(|s| s.day())
        ),
    }
    assert!(matches!(
        store.load_site(code(common::SITE)),
        Err(StoreError::BadEvent { seq: s, .. }) if s == seq
    ));
}

// ----- the tickets projection -----

#[derive(Clone, Debug, PartialEq)]
struct Row {
    day: String,
    number: String,
    service: String,
    first_service: String,
    state: String,
    issued_day: String,
    issued_at: i64,
    called_at: Option<i64>,
    last_called_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    no_show_at: Option<i64>,
    service_s: Option<i64>,
    counter: Option<String>,
    official: Option<String>,
    call_reason: Option<String>,
    recalls: i64,
    transfers: i64,
    transfer_note: Option<String>,
    rating: Option<i64>,
    rating_reason: Option<String>,
    rated_at: Option<i64>,
}

fn row(store: &Store, id: u64) -> Row {
    store
        .connection()
        .query_row(
            "SELECT day, number, service, first_service, state, issued_day, issued_at, called_at,
                    last_called_at, started_at, finished_at, no_show_at, service_s, counter,
                    official, call_reason, recalls, transfers, transfer_note, rating,
                    rating_reason, rated_at
             FROM tickets WHERE site = ?1 AND id = ?2",
            rusqlite::params![common::SITE, id as i64],
            |r| {
                Ok(Row {
                    day: r.get(0)?,
                    number: r.get(1)?,
                    service: r.get(2)?,
                    first_service: r.get(3)?,
                    state: r.get(4)?,
                    issued_day: r.get(5)?,
                    issued_at: r.get(6)?,
                    called_at: r.get(7)?,
                    last_called_at: r.get(8)?,
                    started_at: r.get(9)?,
                    finished_at: r.get(10)?,
                    no_show_at: r.get(11)?,
                    service_s: r.get(12)?,
                    counter: r.get(13)?,
                    official: r.get(14)?,
                    call_reason: r.get(15)?,
                    recalls: r.get(16)?,
                    transfers: r.get(17)?,
                    transfer_note: r.get(18)?,
                    rating: r.get(19)?,
                    rating_reason: r.get(20)?,
                    rated_at: r.get(21)?,
                })
            },
        )
        .unwrap_or_else(|e| panic!("ticket row {id}: {e}"))
}

/// A day told step by step at fixed times; each step's events are written as they happen.
struct Script {
    site: Site,
    store: Store,
    rec: Recorder,
    day0: i64,
}

impl Script {
    /// Milliseconds of `hh:mm:ss` on the first day.
    fn at(&self, h: i64, m: i64, s: i64) -> i64 {
        self.day0 + ((h * 60 + m) * 60 + s) * 1000
    }

    fn run(&mut self, at_ms: i64, cmd: Command) -> Vec<Event> {
        let before = self.site.day();
        let events = self
            .site
            .apply(cmd.clone(), &now(at_ms))
            .unwrap_or_else(|r| panic!("{cmd:?} refused: {r:?}"));
        let records = self.rec.records(
            self.site.config().code,
            events.clone(),
            before.or(self.site.day()),
            at_ms,
        );
        self.store.append(&records).unwrap();
        events
    }

    fn issue(&mut self, at_ms: i64, service: &str) -> (u64, TicketNumber) {
        let token = luot_core::Token((at_ms as u128).to_le_bytes());
        let events = self.run(
            at_ms,
            Command::Issue {
                phone: None,
                service: code(service),
                channel: Channel::Kiosk,
                priority: None,
                token,
                appointment: None,
                person: None,
            },
        );
        match events[..] {
            [Event::TicketIssued { ticket, number, .. }] => (ticket.0, number),
            _ => panic!("issue gave {events:?}"),
        }
    }
}

fn n(s: &str) -> TicketRef {
    TicketRef::Number(TicketNumber::parse(s).unwrap())
}

#[test]
fn the_tickets_projection_records_each_tickets_life() {
    let (_dir, path) = temp_db();
    let mut s = Script {
        site: Site::new(site_config()),
        store: Store::open(&path).unwrap(),
        rec: Recorder::default(),
        day0: midnight_ms(first_day()),
    };
    let (q1, q2) = (code("q1"), code("q2"));
    s.run(s.at(7, 0, 0), Command::OpenDay { day: first_day() });
    s.run(
        s.at(7, 0, 0),
        Command::OpenCounter {
            counter: q1,
            official: code("an"),
        },
    );
    s.run(
        s.at(7, 0, 1),
        Command::OpenCounter {
            counter: q2,
            official: code("binh"),
        },
    );
    let (a1, _) = s.issue(s.at(7, 0, 10), "khai-sinh");
    let (b1, _) = s.issue(s.at(7, 0, 20), "so-do");
    let (c1, _) = s.issue(s.at(7, 0, 30), "chung-thuc");
    let (a2, _) = s.issue(s.at(7, 0, 40), "khai-sinh");
    let (a3, _) = s.issue(s.at(7, 0, 50), "ket-hon");
    let (b2, _) = s.issue(s.at(7, 1, 0), "so-do");
    let (b3, n_b3) = s.issue(s.at(7, 2, 0), "chuyen-nhuong");

    // In time order: A001 is called by the policy, recalled, served ten minutes and rated;
    // B001 does not come; C001 is called, started, sent to the birth registration queue and
    // served at counter 1; A002 gives up; A003 is at a counter and B002, B003 still wait when
    // the day closes.
    let e = s.run(s.at(7, 5, 0), Command::CallNext { counter: q1 });
    assert!(
        matches!(e[..], [Event::TicketCalled { ticket, .. }] if ticket.0 == a1),
        "{e:?}"
    );
    s.run(
        s.at(7, 5, 30),
        Command::CallTicket {
            counter: q2,
            ticket: n("B001"),
        },
    );
    s.run(s.at(7, 6, 0), Command::Recall { counter: q1 });
    s.run(s.at(7, 7, 0), Command::Start { counter: q1 });
    s.run(s.at(7, 8, 0), Command::NoShow { counter: q2 });
    s.run(
        s.at(7, 9, 0),
        Command::CallTicket {
            counter: q2,
            ticket: n("C001"),
        },
    );
    s.run(s.at(7, 10, 0), Command::Start { counter: q2 });
    s.run(
        s.at(7, 12, 0),
        Command::Transfer {
            counter: q2,
            to: TransferTarget::Service(code("khai-sinh")),
            note: "Nhầm thủ tục".into(),
        },
    );
    let transferred = row(&s.store, c1);
    assert_eq!(
        (
            transferred.state.as_str(),
            transferred.service.as_str(),
            transferred.started_at
        ),
        ("waiting", "khai-sinh", None)
    );
    s.run(s.at(7, 17, 0), Command::Complete { counter: q1 });
    s.run(
        s.at(7, 18, 0),
        Command::Rate {
            ticket: n("A001"),
            score: 2,
            reason: Some("Cán bộ nhiệt tình".into()),
        },
    );
    s.run(
        s.at(7, 20, 0),
        Command::CallTicket {
            counter: q1,
            ticket: n("C001"),
        },
    );
    s.run(s.at(7, 21, 0), Command::Start { counter: q1 });
    s.run(s.at(7, 25, 0), Command::Cancel { ticket: n("A002") });
    s.run(s.at(7, 31, 30), Command::Complete { counter: q1 });
    s.run(
        s.at(7, 40, 0),
        Command::CallTicket {
            counter: q1,
            ticket: n("A003"),
        },
    );
    let day1 = first_day().to_string();
    let close = midnight_ms(first_day().next()) + 7 * 3_600_000;
    let e = s.run(
        close,
        Command::OpenDay {
            day: first_day().next(),
        },
    );
    let next_id = match &e[..] {
        [
            Event::DayClosed {
                expired, carried, ..
            },
            Event::DayOpened {
                first_ticket_id, ..
            },
        ] => {
            assert_eq!(
                expired.iter().map(|t| t.0).collect::<Vec<_>>(),
                [a3, b2],
                "expired"
            );
            assert_eq!(carried.iter().map(|t| t.0).collect::<Vec<_>>(), [b3]);
            first_ticket_id.0
        }
        _ => panic!("open day gave {e:?}"),
    };

    let base = Row {
        day: day1.clone(),
        number: String::new(),
        service: String::new(),
        first_service: String::new(),
        state: String::new(),
        issued_day: day1.clone(),
        issued_at: 0,
        called_at: None,
        last_called_at: None,
        started_at: None,
        finished_at: None,
        no_show_at: None,
        service_s: None,
        counter: None,
        official: None,
        call_reason: None,
        recalls: 0,
        transfers: 0,
        transfer_note: None,
        rating: None,
        rating_reason: None,
        rated_at: None,
    };
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        row(&s.store, a1),
        Row {
            number: "A001".into(),
            service: "khai-sinh".into(),
            first_service: "khai-sinh".into(),
            state: "done".into(),
            issued_at: s.at(7, 0, 10),
            called_at: Some(s.at(7, 5, 0)),
            last_called_at: Some(s.at(7, 5, 0)),
            started_at: Some(s.at(7, 7, 0)),
            finished_at: Some(s.at(7, 17, 0)),
            service_s: Some(600),
            counter: some("q1"),
            official: some("an"),
            call_reason: some("next_in_line"),
            recalls: 1,
            rating: Some(2),
            rating_reason: some("Cán bộ nhiệt tình"),
            rated_at: Some(s.at(7, 18, 0)),
            ..base.clone()
        }
    );
    assert_eq!(
        row(&s.store, b1),
        Row {
            number: "B001".into(),
            service: "so-do".into(),
            first_service: "so-do".into(),
            state: "no_show".into(),
            issued_at: s.at(7, 0, 20),
            called_at: Some(s.at(7, 5, 30)),
            last_called_at: Some(s.at(7, 5, 30)),
            no_show_at: Some(s.at(7, 8, 0)),
            counter: some("q2"),
            official: some("binh"),
            call_reason: some("requested"),
            ..base.clone()
        }
    );
    assert_eq!(
        row(&s.store, c1),
        Row {
            number: "C001".into(),
            service: "khai-sinh".into(),
            first_service: "chung-thuc".into(),
            state: "done".into(),
            issued_at: s.at(7, 0, 30),
            // The first call, not the one after the transfer.
            called_at: Some(s.at(7, 9, 0)),
            last_called_at: Some(s.at(7, 20, 0)),
            started_at: Some(s.at(7, 21, 0)),
            finished_at: Some(s.at(7, 31, 30)),
            service_s: Some(630),
            counter: some("q1"),
            official: some("an"),
            call_reason: some("requested"),
            transfers: 1,
            transfer_note: some("Nhầm thủ tục"),
            ..base.clone()
        }
    );
    assert_eq!(
        row(&s.store, a2),
        Row {
            number: "A002".into(),
            service: "khai-sinh".into(),
            first_service: "khai-sinh".into(),
            state: "cancelled".into(),
            issued_at: s.at(7, 0, 40),
            finished_at: Some(s.at(7, 25, 0)),
            ..base.clone()
        }
    );
    assert_eq!(
        row(&s.store, a3),
        Row {
            number: "A003".into(),
            service: "ket-hon".into(),
            first_service: "ket-hon".into(),
            state: "expired".into(),
            issued_at: s.at(7, 0, 50),
            called_at: Some(s.at(7, 40, 0)),
            last_called_at: Some(s.at(7, 40, 0)),
            counter: some("q1"),
            official: some("an"),
            call_reason: some("requested"),
            ..base.clone()
        }
    );
    assert_eq!(row(&s.store, b2).state, "expired");
    assert_eq!(row(&s.store, b3).state, "carried");
    // The carried ticket lives on the next day under a new id, with its number and issue time.
    assert_eq!(
        row(&s.store, next_id),
        Row {
            day: first_day().next().to_string(),
            number: n_b3.to_string(),
            service: "chuyen-nhuong".into(),
            first_service: "chuyen-nhuong".into(),
            state: "waiting".into(),
            issued_at: s.at(7, 2, 0),
            ..base.clone()
        }
    );
    let rows: i64 = s
        .store
        .connection()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 8);
    // Reports read through their own connection and see the same rows.
    let reader = luot_store::open_reader(&path).unwrap();
    let done: i64 = reader
        .query_row(
            "SELECT count(*) FROM tickets WHERE day = ?1 AND state = 'done'",
            [&day1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(done, 2);
    assert!(
        reader.execute("DELETE FROM tickets", []).is_err(),
        "the report connection is read-only"
    );
}

// ----- group commit -----

/// Builds jobs with consecutive sequence numbers and submits them in that order, from any
/// thread: the broker's role (it alone numbers events).
struct Submitter {
    writer: Writer,
    /// Next seq and every record submitted, in order; the lock keeps numbering and submission
    /// in one order, as the single broker task does.
    state: Mutex<(u64, Vec<Record>, Rng)>,
}

impl Submitter {
    fn submit(
        &self,
        records: usize,
        epoch: u64,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) -> u64 {
        let mut st = self.state.lock().unwrap();
        let (next, all, rng) = &mut *st;
        let batch: Vec<Record> = (0..records as u64)
            .map(|i| common::issued_record(*next + i, rng))
            .collect();
        *next += records as u64;
        all.extend(batch.iter().cloned());
        self.writer.submit(Job {
            records: batch,
            outbox: vec![],
            epoch,
            done: Box::new(done),
        });
        *next - 1
    }
}

#[test]
fn the_writer_commits_jobs_from_many_threads_in_batches() {
    const THREADS: usize = 8;
    const JOBS_PER_THREAD: usize = 250;
    let (_dir, path) = temp_db();
    let writer = Writer::spawn(Store::open(&path).unwrap());
    let stats = writer.stats.clone();
    let sub = Arc::new(Submitter {
        writer,
        state: Mutex::new((1, Vec::new(), Rng::new(3))),
    });

    // Phase 1: the first job's acknowledgement holds the writer until every thread has queued
    // its jobs, so the rest must go in few, large commits.
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (first_tx, first_rx) = mpsc::channel();
    sub.submit(1, 0, move |r| {
        first_tx.send(r).unwrap();
        gate_rx.recv().unwrap();
    });
    let (ack_tx, ack_rx) = mpsc::channel();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let sub = sub.clone();
            let ack_tx = ack_tx.clone();
            std::thread::spawn(move || {
                for j in 0..JOBS_PER_THREAD {
                    let ack_tx = ack_tx.clone();
                    sub.submit(1 + (t + j) % 3, 0, move |r| ack_tx.send((t, j, r)).unwrap());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(first_rx.recv().unwrap(), Ok(()));
    gate_tx.send(()).unwrap();
    let mut next_ack = [0usize; THREADS];
    for _ in 0..THREADS * JOBS_PER_THREAD {
        let (t, j, r) = ack_rx.recv().unwrap();
        assert_eq!(r, Ok(()), "thread {t} job {j}");
        assert_eq!(j, next_ack[t], "thread {t} is told in submission order");
        next_ack[t] += 1;
    }
    let jobs = 1 + THREADS * JOBS_PER_THREAD;
    let records = sub.state.lock().unwrap().0 - 1;
    let commits = stats.commits.load(std::sync::atomic::Ordering::Relaxed);
    // A batch stops growing once it holds `BATCH_RECORDS_MAX` records.
    let bound = 1 + records.div_ceil(luot_store::BATCH_RECORDS_MAX as u64);
    assert!(
        commits <= bound,
        "{commits} commits for {jobs} jobs ({records} records), at most {bound} expected"
    );

    // Phase 2: kiosks that wait for each ticket before asking for the next.
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let sub = sub.clone();
            std::thread::spawn(move || {
                for j in 0..50 {
                    let (tx, rx) = mpsc::channel();
                    let last = sub.submit(1, 0, move |r| tx.send(r).unwrap());
                    assert_eq!(
                        rx.recv().unwrap(),
                        Ok(()),
                        "thread {t} job {j} (seq {last})"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let jobs = jobs + THREADS * 50;
    let sub = Arc::into_inner(sub).expect("threads are done");
    let (next, submitted, _) = sub.state.into_inner().unwrap();
    let store = sub.writer.stop().expect("the writer gives the store back");
    let commits = stats.commits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(commits < jobs as u64, "{commits} commits for {jobs} jobs");
    assert_eq!(
        stats.records.load(std::sync::atomic::Ordering::Relaxed),
        next - 1
    );
    assert_eq!(stats.failures.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(store.last_seq(), next - 1);
    let stored = store.events_after(0, u64::MAX).unwrap();
    assert_eq!(stored.len(), submitted.len());
    assert!(stored == submitted, "the log holds every record, in order");
    // Catching a client up from disk pages through the same log.
    let page = store.events_after(100, 50).unwrap();
    assert_eq!(page, submitted[100..150]);
    drop(store);
    assert_eq!(Store::open(&path).unwrap().last_seq(), next - 1);
}

// ----- a kill in the middle of writing -----

const CHILD_ENV: &str = "LUOT_STORE_WRITER_CHILD";
/// The parent kills the child after this many acknowledged jobs.
const KILL_AFTER_ACKS: usize = 1_500;
/// The child stops by itself past this many records, should the parent never kill it.
const CHILD_RECORDS_MAX: u64 = 500_000;

#[test]
fn a_kill_loses_only_unacknowledged_events() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        writer_child(Path::new(&path));
    }
    let (_dir, path) = temp_db();
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_kill_loses_only_unacknowledged_events",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the writer child");
    let mut acked: Vec<u64> = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < KILL_AFTER_ACKS {
        let line = match lines.next() {
            Some(l) => l.unwrap(),
            None => panic!("the child ended after {} acks", acked.len()),
        };
        if let Some(seq) = line.strip_prefix("ack ") {
            acked.push(seq.parse().unwrap());
        } else {
            assert!(!line.starts_with("error"), "child: {line}");
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");

    let store = Store::open(&path).unwrap();
    assert_eq!(integrity(&store), "ok");
    let seqs = all_seqs(&store);
    let max = *seqs.last().expect("events survived");
    assert_eq!(
        seqs,
        (1..=max).collect::<Vec<_>>(),
        "the log is gap-free from 1"
    );
    assert_eq!(store.last_seq(), max);
    let max_acked = *acked.iter().max().unwrap();
    assert!(
        max_acked <= max,
        "acknowledged up to {max_acked}, only {max} in the log"
    );
    // Every stored event is whole and readable, and its projection row exists.
    let events = store.events_after(0, u64::MAX).unwrap();
    assert_eq!(events.len() as u64, max);
    let tickets: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tickets as u64, max);
}

/// The child: a writer fed with jobs, printing `ack <last seq>` once a job is durable.
fn writer_child(path: &Path) -> ! {
    const IN_FLIGHT_MAX: usize = 64;
    let writer = Writer::spawn(Store::open(path).expect("child opens the store"));
    let (tx, rx) = mpsc::channel();
    let mut rng = Rng::new(99);
    let mut next = 1u64;
    let mut in_flight = 0;
    let mut out = std::io::stdout().lock();
    while next < CHILD_RECORDS_MAX {
        while in_flight < IN_FLIGHT_MAX {
            let n = rng.range(1, 4);
            let records: Vec<Record> = (next..next + n)
                .map(|s| common::issued_record(s, &mut rng))
                .collect();
            next += n;
            let last = next - 1;
            let tx = tx.clone();
            writer.submit(Job {
                records,
                outbox: vec![],
                epoch: 0,
                done: Box::new(move |r| tx.send((last, r)).unwrap()),
            });
            in_flight += 1;
        }
        let (last, r) = rx.recv().unwrap();
        in_flight -= 1;
        let line = match r {
            Ok(()) => format!("ack {last}"),
            Err(e) => format!("error {e}"),
        };
        // A closed pipe means the parent is gone: stop.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            std::process::exit(2);
        }
    }
    std::process::exit(3);
}

// ----- failed commits -----

fn wait(writer: &Writer, records: Vec<Record>, epoch: u64) -> Result<(), StoreError> {
    let (tx, rx) = mpsc::channel();
    writer.submit(Job {
        records,
        outbox: vec![],
        epoch,
        done: Box::new(move |r| tx.send(r).unwrap()),
    });
    rx.recv().unwrap()
}

fn issued(range: std::ops::RangeInclusive<u64>, rng: &mut Rng) -> Vec<Record> {
    range.map(|s| common::issued_record(s, rng)).collect()
}

#[test]
fn a_failed_commit_refuses_the_rest_of_its_epoch() {
    let (_dir, path) = temp_db();
    let mut rng = Rng::new(5);
    let writer = Writer::spawn(Store::open(&path).unwrap());
    assert_eq!(wait(&writer, issued(1..=3, &mut rng), 1), Ok(()));
    // A gap: the whole job fails and writes nothing.
    assert_eq!(
        wait(&writer, issued(5..=6, &mut rng), 1),
        Err(StoreError::Sequence {
            expected: 4,
            got: 5
        })
    );
    // Decided on top of the lost job: refused unwritten, even though its numbers fit.
    let refused = wait(&writer, issued(4..=4, &mut rng), 1);
    assert_eq!(refused, Err(StoreError::Aborted));
    assert_eq!(refused.unwrap_err().code(), "storage_aborted");
    // The owner reloaded and moved on.
    assert_eq!(wait(&writer, issued(4..=5, &mut rng), 2), Ok(()));
    assert_eq!(wait(&writer, issued(6..=6, &mut rng), 2), Ok(()));
    assert_eq!(
        writer
            .stats
            .failures
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let store = writer.stop().unwrap();
    assert_eq!(all_seqs(&store), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_full_database_fails_whole_commits_and_recovers_when_space_returns() {
    let (_dir, path) = temp_db();
    let mut rng = Rng::new(6);
    let mut store = Store::open(&path).unwrap();
    store.append(&issued(1..=100, &mut rng)).unwrap();
    let pages = pragma_i64(&store, "page_count");
    // Room for a few small commits, not for a large one.
    let limit: i64 = store
        .connection()
        .query_row(
            &format!("PRAGMA max_page_count = {}", pages + 24),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(limit, pages + 24);

    let writer = Writer::spawn(store);
    let full = wait(&writer, issued(101..=3_000, &mut rng), 1);
    assert!(
        matches!(&full, Err(StoreError::Full(_))),
        "expected a full database, got {full:?}"
    );
    assert_eq!(full.unwrap_err().code(), "storage_full");
    assert_eq!(
        wait(&writer, issued(101..=101, &mut rng), 1),
        Err(StoreError::Aborted)
    );
    // A new epoch, numbered after the last durable event, fits in the space left.
    assert_eq!(wait(&writer, issued(101..=102, &mut rng), 2), Ok(()));
    let full = wait(&writer, issued(103..=3_000, &mut rng), 2);
    assert!(matches!(full, Err(StoreError::Full(_))), "{full:?}");
    let mut store = writer.stop().unwrap();

    // Nothing of the failed commits was written, neither events nor projection rows.
    assert_eq!(store.last_seq(), 102);
    assert_eq!(all_seqs(&store), (1..=102).collect::<Vec<_>>());
    let tickets: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tickets, 102);
    assert_eq!(integrity(&store), "ok");

    // The fault clears: the same records go in.
    store
        .connection()
        .query_row("PRAGMA max_page_count = 1000000", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    store.append(&issued(103..=3_000, &mut rng)).unwrap();
    assert_eq!(store.last_seq(), 3_000);
}

// ----- files the store must not touch -----

fn assert_refused(path: &Path, check: impl Fn(&StoreError) -> bool) {
    let before = std::fs::read(path).unwrap();
    let err = Store::open(path).expect_err("the file must be refused");
    assert!(check(&err), "wrong error: {err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the message names the file: {message}"
    );
    assert!(message.contains("not touched"), "{message}");
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "the file is unchanged"
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        assert!(!side.exists(), "{} was left behind", side.display());
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    store.append(&issued(1..=10, &mut Rng::new(1))).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert_refused(&path, |e| {
        matches!(e, StoreError::TooNew { found, known, .. }
            if *found == SCHEMA_VERSION + 1 && *known == SCHEMA_VERSION)
    });
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    let (_dir, path) = temp_db();
    let mut rng = Rng::new(2);
    let garbage: Vec<u8> = (0..8192).map(|_| rng.next_u64() as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    assert_refused(&path, |e| matches!(e, StoreError::Corrupt { .. }));
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let (dir, path) = temp_db();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO notes (body) VALUES ('mua gạo'), ('đóng tiền điện');",
    )
    .unwrap();
    drop(conn);
    assert_refused(
        &path,
        |e| matches!(e, StoreError::Corrupt { reason, .. } if reason.contains("another program")),
    );

    // Marked as someone else's, even when still empty.
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "application_id", 0x1234_5678)
        .unwrap();
    drop(conn);
    assert_refused(&path, |e| matches!(e, StoreError::Corrupt { .. }));
}

// ----- accounts -----

fn user(login: &str, role: Role, counters: &[&str]) -> User {
    User {
        login: login.into(),
        display_name: format!("Cán bộ {login}"),
        role,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${login}"),
        counters: counters.iter().map(|c| c.to_string()).collect(),
        disabled: false,
        created_at: 1_000,
    }
}

#[test]
fn accounts_sessions_and_devices() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.user_count().unwrap(), 0);
    let an = user("an", Role::Official, &["q1", "q2"]);
    let binh = user("binh", Role::Manager, &[]);
    store.add_user(&an).unwrap();
    store.add_user(&binh).unwrap();
    assert!(store.add_user(&an).is_err(), "logins are unique");
    // An unknown role cannot be built (`Role`); the table's CHECK refuses one written by hand.
    assert!(
        store
            .connection()
            .execute(
                "INSERT INTO users (login, display_name, role, password_hash, counters, disabled, created_at) VALUES ('root', 'root', 'root', 'x', '', 0, 0)",
                [],
            )
            .is_err(),
        "unknown roles are refused"
    );
    assert_eq!(store.user("an").unwrap(), Some(an.clone()));
    assert_eq!(store.user("nobody").unwrap(), None);
    assert_eq!(store.users().unwrap(), [an.clone(), binh.clone()]);
    assert!(store.set_user_counters("an", &["q3".to_string()]).unwrap());
    assert_eq!(store.user("an").unwrap().unwrap().counters, ["q3"]);

    store.add_session("hash-an-1", "an", 5_000).unwrap();
    store.add_session("hash-an-2", "an", 6_000).unwrap();
    store.add_session("hash-binh", "binh", 7_000).unwrap();
    let (u, created) = store.session("hash-an-1").unwrap().unwrap();
    assert_eq!((u.login.as_str(), created), ("an", 5_000));
    assert_eq!(store.session("an").unwrap(), None, "looked up by hash only");

    // A new password ends the user's sessions, nobody else's.
    assert!(store.set_password("an", "$argon2id$new").unwrap());
    assert_eq!(store.session("hash-an-1").unwrap(), None);
    assert_eq!(store.session("hash-an-2").unwrap(), None);
    assert!(store.session("hash-binh").unwrap().is_some());
    assert_eq!(
        store.user("an").unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert!(!store.set_password("nobody", "x").unwrap());

    store.add_session("hash-an-3", "an", 9_000).unwrap();
    assert_eq!(store.delete_sessions_before(8_000).unwrap(), 1);
    assert!(store.session("hash-binh").unwrap().is_none());
    store.delete_session("hash-an-3").unwrap();
    assert!(store.session("hash-an-3").unwrap().is_none());
    // Sessions belong to a user that exists (foreign keys are on).
    assert!(store.add_session("hash-ghost", "ghost", 1).is_err());

    let kiosk = NewDevice {
        kind: DeviceKind::Kiosk,
        name: "Kiosk sảnh A",
        site: common::SITE,
        counter: None,
        token_hash: "dev-hash-1",
    };
    let tablet = NewDevice {
        kind: DeviceKind::Rating,
        name: "Máy đánh giá quầy 1",
        site: common::SITE,
        counter: Some("q1"),
        token_hash: "dev-hash-2",
    };
    let k = store.add_device(&kiosk, 10_000).unwrap();
    let t = store.add_device(&tablet, 11_000).unwrap();
    // An unknown kind cannot be built (`DeviceKind`); the table's CHECK refuses one written by
    // hand.
    assert!(
        store
            .connection()
            .execute(
                "INSERT INTO devices (kind, name, site, token_hash, created_at) VALUES ('toaster', 'x', 'x', 'dev-hash-3', 1)",
                [],
            )
            .is_err(),
        "unknown device kinds are refused"
    );
    assert!(
        store.add_device(&kiosk, 12_000).is_err(),
        "a token belongs to one device"
    );
    let found = store.device_by_token("dev-hash-2").unwrap().unwrap();
    assert_eq!(
        (
            found.id,
            found.kind,
            found.counter.as_deref(),
            found.revoked_at
        ),
        (t, DeviceKind::Rating, Some("q1"), None)
    );
    assert_eq!(store.device_by_token("nope").unwrap(), None);
    assert!(store.revoke_device(k, 13_000).unwrap());
    assert!(!store.revoke_device(k, 14_000).unwrap(), "revoked once");
    assert_eq!(store.device_by_token("dev-hash-1").unwrap(), None);
    let devices = store.devices().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].revoked_at, Some(13_000));
    assert!(store.device_by_token("dev-hash-2").unwrap().is_some());

    store.audit(15_000, "an", "login", "{}").unwrap();
    // The same operations work on a plain connection (the CLI's).
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(conn.user_count().unwrap(), 2);
}

#[test]
fn a_password_change_that_cannot_end_the_sessions_changes_nothing() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store.add_user(&user("an", Role::Official, &[])).unwrap();
    store.add_session("hash-an", "an", 1).unwrap();
    // Fault injection: ending the sessions fails.
    store
        .connection()
        .execute_batch(
            "CREATE TRIGGER keep_sessions BEFORE DELETE ON sessions
             BEGIN SELECT RAISE(ABORT, 'sessions are pinned'); END;",
        )
        .unwrap();
    assert!(store.set_password("an", "$argon2id$new").is_err());
    // The old password must not be replaced while sessions opened with it live on.
    let an = store.user("an").unwrap().unwrap();
    assert_eq!(
        an.password_hash,
        user("an", Role::Official, &[]).password_hash
    );
    assert!(store.session("hash-an").unwrap().is_some());
}

// ----- the webhook outbox -----

fn outbox_row(webhook: i64, event_id: &str, ticket: u64) -> luot_store::OutboxRow {
    luot_store::OutboxRow {
        webhook,
        event_id: event_id.into(),
        kind: "ticket.issued".into(),
        ticket_key: format!("{}/{ticket}", common::SITE),
        body: format!(r#"{{"id":"{event_id}"}}"#),
        created_at: 1,
    }
}

/// Deliveries commit with their events or not at all, stop at the limit (counted on the
/// endpoint), and one ticket's wait for its older pending one.
#[test]
fn outbox_rows_commit_with_their_events_and_stop_at_the_limit() {
    use luot_store::Integrations;
    let (_dir, path) = temp_db();
    let mut rng = Rng::new(8);
    let mut store = Store::open(&path).unwrap();
    store.set_outbox_max(3);
    let hook = store
        .connection()
        .add_webhook(
            "http://127.0.0.1:9/",
            &["ticket.issued".into()],
            3,
            "whsec_x",
            1,
        )
        .unwrap();
    // A job that fails (a gap in the sequence) writes neither its events nor its deliveries.
    let gap = issued(2..=2, &mut rng);
    assert!(
        store
            .append_with_outbox(&gap, &[outbox_row(hook, "2", 2)])
            .is_err()
    );
    assert_eq!(store.connection().pending_deliveries().unwrap(), 0);
    // Five deliveries for a limit of three: three queued, two counted as dropped.
    let rows: Vec<_> = [(1, 1), (2, 1), (3, 2), (4, 3), (5, 4)]
        .iter()
        .map(|(e, t)| outbox_row(hook, &e.to_string(), *t))
        .collect();
    store
        .append_with_outbox(&issued(1..=2, &mut rng), &rows)
        .unwrap();
    let conn = store.connection();
    assert_eq!(conn.pending_deliveries().unwrap(), 3);
    assert_eq!(conn.webhooks().unwrap()[0].dropped, 2);
    assert_eq!(all_seqs(&store), [1, 2]);
    // Ticket 1's second delivery waits for its first; ticket 2's goes alongside.
    let due: Vec<String> = conn
        .due_deliveries(i64::MAX, 10)
        .unwrap()
        .into_iter()
        .map(|d| d.event_id)
        .collect();
    assert_eq!(due, ["1", "3"]);
    let first = conn.due_deliveries(i64::MAX, 10).unwrap()[0].id;
    conn.record_attempt(first, "delivered", 5, Some(200), None, 5)
        .unwrap();
    let due: Vec<String> = conn
        .due_deliveries(i64::MAX, 10)
        .unwrap()
        .into_iter()
        .map(|d| d.event_id)
        .collect();
    assert_eq!(due, ["2", "3"]);
    // A disabled endpoint's deliveries wait.
    conn.set_webhook_enabled(hook, false).unwrap();
    assert!(conn.due_deliveries(i64::MAX, 10).unwrap().is_empty());
}
