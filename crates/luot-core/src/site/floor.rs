//! What the floor page adds to a site: issuing stopped for a service, today's raised caps, and,
//! per counter, since when it has been idle and its no-shows in a row. Everything here comes from
//! events alone, so recovery rebuilds it exactly; all of it ends with the day.

use super::{Site, check_note};
use crate::command::Command;
use crate::event::Event;
use crate::ids::Code;
use crate::rejection::Rejection;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Floor {
    /// Per service: the manager's reason while issuing is stopped.
    paused: Vec<Option<String>>,
    /// Per service: today's cap when a manager raised it.
    cap: Vec<Option<u32>>,
    /// Per counter: when it last had nothing to do (opened, or its ticket ended), while it has
    /// nothing; `None` while it holds a ticket or is closed.
    idle_since_ms: Vec<Option<i64>>,
    /// Per counter: no-shows in a row since it last started or completed a service.
    no_show_streak: Vec<u32>,
}

impl Floor {
    pub(super) fn new(services: usize, counters: usize) -> Floor {
        Floor {
            paused: vec![None; services],
            cap: vec![None; services],
            idle_since_ms: vec![None; counters],
            no_show_streak: vec![0; counters],
        }
    }
}

impl Site {
    /// The reason issuing for `service` is stopped, while it is.
    pub fn service_paused(&self, service: Code) -> Option<&str> {
        let si = *self.service_ix.get(&service)?;
        self.floor.paused[si].as_deref()
    }

    /// Today's daily cap of `service`: the configured one, or the one a manager raised it to.
    pub fn daily_cap(&self, service: Code) -> Option<u32> {
        self.service_ix.get(&service).map(|&si| self.cap_of(si))
    }

    /// When the counter last had nothing to do, while it is open or paused with no ticket.
    pub fn idle_since_ms(&self, counter: Code) -> Option<i64> {
        let ci = *self.counter_ix.get(&counter)?;
        self.floor.idle_since_ms[ci]
    }

    /// No-shows in a row at the counter since it last started or completed a service.
    pub fn no_show_streak(&self, counter: Code) -> u32 {
        self.counter_ix
            .get(&counter)
            .map_or(0, |&ci| self.floor.no_show_streak[ci])
    }

    pub(super) fn cap_of(&self, si: usize) -> u32 {
        self.floor.cap[si].unwrap_or(self.cfg.services[si].daily_cap)
    }

    pub(super) fn check_not_paused(&self, si: usize) -> Result<(), Rejection> {
        match &self.floor.paused[si] {
            Some(reason) => Err(Rejection::ServicePaused {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(super) fn decide_floor(&self, cmd: &Command) -> Result<Vec<Event>, Rejection> {
        let service_index = |s: &Code| {
            self.service_ix
                .get(s)
                .copied()
                .ok_or(Rejection::UnknownService(*s))
        };
        match cmd {
            Command::PauseService { service, reason } => {
                let si = service_index(service)?;
                check_note(reason, true)?;
                if self.floor.paused[si].is_some() {
                    return Err(Rejection::ServiceAlreadyPaused);
                }
                Ok(vec![Event::ServicePaused {
                    service: *service,
                    reason: reason.trim().to_string(),
                }])
            }
            Command::ResumeService { service } => {
                let si = service_index(service)?;
                if self.floor.paused[si].is_none() {
                    return Err(Rejection::ServiceNotPaused);
                }
                Ok(vec![Event::ServiceResumed { service: *service }])
            }
            Command::RaiseDailyCap { service, cap } => {
                let si = service_index(service)?;
                let now = self.cap_of(si);
                // More than the whole site may issue in a day would promise nothing.
                let max = self.cfg.policy.tickets_per_day_max;
                if *cap <= now || *cap > max {
                    return Err(Rejection::CapInvalid { cap: now, max });
                }
                Ok(vec![Event::DailyCapRaised {
                    service: *service,
                    cap: *cap,
                }])
            }
            _ => unreachable!("decide_floor takes the floor's commands only"),
        }
    }

    /// Called by `evolve` before it applies `event`; reads nothing but the event.
    pub(super) fn evolve_floor(&mut self, event: &Event, at_ms: i64) {
        let f = &mut self.floor;
        let counter = |c: &Code| self.counter_ix.get(c).copied();
        match event {
            Event::DayOpened { .. } | Event::DayClosed { .. } => {
                *f = Floor::new(f.paused.len(), f.idle_since_ms.len());
            }
            Event::ServicePaused { service, reason } => {
                if let Some(&si) = self.service_ix.get(service) {
                    f.paused[si] = Some(reason.clone());
                }
            }
            Event::ServiceResumed { service } => {
                if let Some(&si) = self.service_ix.get(service) {
                    f.paused[si] = None;
                }
            }
            Event::DailyCapRaised { service, cap } => {
                if let Some(&si) = self.service_ix.get(service) {
                    f.cap[si] = Some(*cap);
                }
            }
            Event::CounterOpened { counter: c, .. } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = Some(at_ms);
                    f.no_show_streak[ci] = 0;
                }
            }
            Event::CounterClosed { counter: c } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = None;
                }
            }
            Event::TicketCalled { counter: c, .. } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = None;
                }
            }
            Event::ServiceStarted { counter: c, .. } => {
                if let Some(ci) = counter(c) {
                    f.no_show_streak[ci] = 0;
                }
            }
            Event::ServiceCompleted { counter: c, .. } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = Some(at_ms);
                    f.no_show_streak[ci] = 0;
                }
            }
            Event::TicketNoShow { counter: c, .. } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = Some(at_ms);
                    f.no_show_streak[ci] = f.no_show_streak[ci].saturating_add(1);
                }
            }
            Event::TicketTransferred {
                from_counter: c, ..
            }
            | Event::CounterPaused {
                counter: c,
                requeued: Some(_),
                ..
            } => {
                if let Some(ci) = counter(c) {
                    f.idle_since_ms[ci] = Some(at_ms);
                }
            }
            _ => {}
        }
    }
}
