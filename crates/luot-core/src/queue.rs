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

    /// Entries strictly before `(key, id)`. Walks from both sides of it at once, so the cost is
    /// the distance to the nearer end: a ticket just issued (the reply, the broadcast) or about
    /// to be called is cheap however long the lane. Counting only from the front cost a quarter
    /// of the server's CPU under a stream of issues.
    pub fn count_before(&self, key: i64, id: TicketId) -> usize {
        let mut before = self.set.range(..(key, id));
        let mut from = self.set.range((key, id)..);
        let mut counted = 0;
        loop {
            if before.next().is_none() {
                return counted;
            }
            if from.next_back().is_none() {
                // `counted` entries from `(key, id)` to the end: the rest are before it.
                return self.set.len() - counted;
            }
            counted += 1;
        }
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
    /// Numbers taken from home, not checked in yet, keyed by issue time: they count in the
    /// line but no counter calls them.
    pub away: Lane,
}

impl ServiceQueue {
    pub fn len(&self) -> usize {
        self.normal.len() + self.priority.len() + self.appointments.len() + self.away.len()
    }
}

/// Which lane a waiting ticket is in, and under what key: enough to remove it in O(log n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Normal { service: usize, key: i64 },
    Priority { service: usize, key: i64 },
    Appointment { service: usize, key: i64 },
    Away { service: usize, key: i64 },
    Counter { counter: usize, key: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Rng;

    #[test]
    fn count_before_matches_a_plain_count_anywhere_in_the_lane() {
        let mut rng = Rng::new(7);
        for size in [0usize, 1, 2, 3, 10, 257] {
            let mut lane = Lane::default();
            for i in 0..size {
                // Few distinct keys, so that equal keys are ordered by id.
                lane.insert(rng.below(40) as i64, TicketId(i as u64 * 2));
            }
            let all: Vec<(i64, TicketId)> = lane.iter().collect();
            // Every entry, and probes between and beyond them (absent odd ids).
            let mut probes = all.clone();
            probes.extend((0..50).map(|_| {
                (
                    rng.below(42) as i64 - 1,
                    TicketId(rng.below(600) as u64 * 2 + 1),
                )
            }));
            for (key, id) in probes {
                let plain = all.iter().filter(|&&e| e < (key, id)).count();
                assert_eq!(
                    lane.count_before(key, id),
                    plain,
                    "size {size}, ({key}, {id:?})"
                );
            }
        }
    }
}
