//! Fan-out. The broker publishes each durable event once, already serialized; every socket
//! reads it from a bounded broadcast channel. A socket that falls behind finds out (`Lagged`)
//! and is resynced with a snapshot; nobody ever waits for it.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// One message for many sockets.
#[derive(Debug)]
pub struct Outgoing {
    /// The event's sequence number; 0 for messages outside the event stream (intake state,
    /// printer state).
    pub seq: u64,
    /// Index of the site it belongs to.
    pub site: usize,
    /// The ticket an event is about, so a phone socket can pick out its own.
    pub ticket: Option<u64>,
    /// The serialized `ServerMessage`, shared by every socket.
    pub json: Utf8Bytes,
    /// For a call or recall: when the command reached the broker, so display sockets can
    /// measure the call's way to the screen (`luot_call_to_display_seconds`).
    pub call_received: Option<std::time::Instant>,
}

#[derive(Debug)]
pub struct Hub {
    tx: broadcast::Sender<std::sync::Arc<Outgoing>>,
    /// The last events, for clients that resume after a short disconnect.
    ring: Mutex<VecDeque<std::sync::Arc<Outgoing>>>,
    ring_max: usize,
}

/// What a resuming client gets.
#[derive(Debug)]
pub enum Resume {
    /// Everything after its last seq (possibly nothing).
    Replay(Vec<std::sync::Arc<Outgoing>>),
    /// Its last seq is older than the buffer or unknown: it needs a snapshot.
    TooOld,
}

impl Hub {
    pub fn new(broadcast_capacity: usize, ring_max: usize) -> Hub {
        let (tx, _) = broadcast::channel(broadcast_capacity);
        Hub {
            tx,
            ring: Mutex::new(VecDeque::with_capacity(ring_max)),
            ring_max,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<std::sync::Arc<Outgoing>> {
        self.tx.subscribe()
    }

    /// Events (`seq > 0`) come from the broker only, in sequence order; messages outside the
    /// event stream (`seq` 0) also from the printer tasks.
    pub fn publish(&self, out: Outgoing) {
        let out = std::sync::Arc::new(out);
        if out.seq > 0 {
            let mut ring = self.ring.lock().expect("hub ring lock");
            if ring.len() == self.ring_max {
                ring.pop_front();
            }
            ring.push_back(out.clone());
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(out);
    }

    /// Events after `seq` for a client that was at `seq`, if the buffer still holds them all.
    /// `current` is the last durable seq the caller knows of.
    pub fn resume(&self, seq: u64, current: u64) -> Resume {
        if seq > current {
            return Resume::TooOld;
        }
        let ring = self.ring.lock().expect("hub ring lock");
        if seq == current {
            return Resume::Replay(Vec::new());
        }
        match ring.front() {
            Some(first) if first.seq <= seq + 1 => {
                Resume::Replay(ring.iter().filter(|o| o.seq > seq).cloned().collect())
            }
            _ => Resume::TooOld,
        }
    }

    pub fn receivers(&self) -> usize {
        self.tx.receiver_count()
    }
}
