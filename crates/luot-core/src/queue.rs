//! Waiting lines. Each service has three lanes (normal, priority, appointments) and each counter
//! one lane for tickets transferred to it. A lane is an ordered set with its head cached, so the
//! assignment policy reads one value per lane instead of walking a tree.

use crate::ids::TicketId;
use std::collections::BTreeSet;

/// Ordered by sort key (milliseconds), then by id so that equal keys stay first-come-first-served.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lane {
    set: BTreeSet<(i64, TicketId)>,
    head: Option<(i64, TicketId)>,
}

impl Lane {
    pub fn insert(&mut self, key: i64, id: TicketId) {
        self.set.insert((key, id));
        if self.head.is_none_or(|h| (key, id) < h) {
            self.head = Some((key, id));
        }
    }

    pub fn remove(&mut self, key: i64, id: TicketId) -> bool {
        let removed = self.set.remove(&(key, id));
        if removed && self.head == Some((key, id)) {
            self.head = self.set.first().copied();
        }
        removed
    }

    #[inline]
    pub fn head(&self) -> Option<(i64, TicketId)> {
        self.head
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn contains(&self, key: i64, id: TicketId) -> bool {
        self.set.contains(&(key, id))
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Entries strictly before `(key, id)`.
    pub fn count_before(&self, key: i64, id: TicketId) -> usize {
        self.set.range(..(key, id)).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = (i64, TicketId)> + '_ {
        self.set.iter().copied()
    }
}

/// The lanes of one service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceQueue {
    pub normal: Lane,
    pub priority: Lane,
    /// Keyed by the appointment window's start.
    pub appointments: Lane,
}

impl ServiceQueue {
    pub fn len(&self) -> usize {
        self.normal.len() + self.priority.len() + self.appointments.len()
    }
}

/// Which lane a waiting ticket is in, and under what key: enough to remove it in O(log n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Normal { service: usize, key: i64 },
    Priority { service: usize, key: i64 },
    Appointment { service: usize, key: i64 },
    Counter { counter: usize, key: i64 },
}
