//! The switch's own counters: what crossed it, what it held back, and what
//! it dropped and why.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of the switch's counters, over all ports and all faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchCounters {
    /// Packets written to their destination's TUN device.
    pub forwarded_packets: u64,
    /// Their bytes.
    pub forwarded_bytes: u64,
    /// Packets a fault held back (they count as forwarded once released).
    pub delayed_packets: u64,
    /// Packets a fault dropped.
    pub dropped_by_faults: u64,
    /// Packets to an address no port has (outside the run, or a node that
    /// is gone).
    pub dropped_no_route: u64,
    /// Packets that are not IPv4.
    pub dropped_not_ipv4: u64,
    /// Writes to a TUN device that failed.
    pub write_errors: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    forwarded_packets: AtomicU64,
    forwarded_bytes: AtomicU64,
    delayed_packets: AtomicU64,
    dropped_by_faults: AtomicU64,
    dropped_no_route: AtomicU64,
    dropped_not_ipv4: AtomicU64,
    write_errors: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn forwarded(&self, bytes: usize) {
        bump(&self.forwarded_packets, 1);
        bump(&self.forwarded_bytes, bytes as u64);
    }
    pub(crate) fn delayed(&self) {
        bump(&self.delayed_packets, 1);
    }
    pub(crate) fn dropped_by_fault(&self) {
        bump(&self.dropped_by_faults, 1);
    }
    pub(crate) fn no_route(&self) {
        bump(&self.dropped_no_route, 1);
    }
    pub(crate) fn not_ipv4(&self) {
        bump(&self.dropped_not_ipv4, 1);
    }
    pub(crate) fn write_error(&self) {
        bump(&self.write_errors, 1);
    }

    pub(crate) fn snapshot(&self) -> SwitchCounters {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SwitchCounters {
            forwarded_packets: read(&self.forwarded_packets),
            forwarded_bytes: read(&self.forwarded_bytes),
            delayed_packets: read(&self.delayed_packets),
            dropped_by_faults: read(&self.dropped_by_faults),
            dropped_no_route: read(&self.dropped_no_route),
            dropped_not_ipv4: read(&self.dropped_not_ipv4),
            write_errors: read(&self.write_errors),
        }
    }
}
