//! The run-time state of one directed link: its seeded random stream and its
//! token bucket (kept across fault changes, so a link's stream is one
//! sequence for the whole run).

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scenario_core::NodeId;

/// The bucket depth for a rate: 10 ms worth of bytes, at least two full
/// 1500-byte packets. Packets within it pass at once.
pub fn burst_bytes(rate: u64) -> u64 {
    (rate / 100).max(3_000)
}

/// The bound of a link's bandwidth queue: 100 ms worth of bytes, at least
/// sixteen full packets. A packet that would queue beyond it is dropped
/// (tail drop, as tbf does), so TCP backs off instead of queueing forever.
pub fn queue_limit_bytes(rate: u64) -> u64 {
    (rate / 10).max(24_000)
}

pub(crate) struct LinkRuntime {
    rng: ChaCha8Rng,
    /// Virtual time (nanoseconds since the engine's epoch, may be negative)
    /// at which every byte admitted so far has been paid for at the link's
    /// rate; `None` while the bucket has never been used (it starts full).
    paid_until: Option<i128>,
}

impl LinkRuntime {
    pub(crate) fn new(seed: u64, from: &NodeId, to: &NodeId) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(link_key(from, to));
        Self {
            rng,
            paid_until: None,
        }
    }

    /// One loss draw.
    pub(crate) fn lose(&mut self, loss: f64) -> bool {
        self.rng.random_bool(loss)
    }

    /// One jitter draw, uniform in `0..=jitter` (no draw without jitter).
    pub(crate) fn jitter(&mut self, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(0..=nanos))
    }

    /// Admit `bytes` at `now` into a bucket of `rate` bytes per second:
    /// when it leaves (`now` if tokens were there), or `None` if the queue
    /// is full (the packet is dropped and charges nothing). Integer
    /// nanoseconds, so pacing is exact.
    pub(crate) fn admit(&mut self, now: Duration, bytes: u64, rate: u64) -> Option<Duration> {
        const NANOS: i128 = 1_000_000_000;
        let rate = i128::from(rate.max(1));
        let now = i128::try_from(now.as_nanos()).unwrap_or(i128::MAX);
        let burst = i128::from(burst_bytes(rate as u64)) * NANOS / rate;
        let full = now - burst;
        let start = self.paid_until.map_or(full, |paid| paid.max(full));
        let paid = start + i128::from(bytes) * NANOS / rate;
        let queued = (paid - now).max(0) * rate / NANOS;
        if queued > i128::from(queue_limit_bytes(rate as u64)) {
            return None;
        }
        self.paid_until = Some(paid);
        let leaves = u64::try_from(paid.max(now)).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(leaves))
    }
}

/// A stable key for the directed link (FNV-1a over both ids), so a link's
/// random stream does not depend on the order nodes were added.
fn link_key(from: &NodeId, to: &NodeId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in from
        .as_str()
        .bytes()
        .chain([0u8])
        .chain(to.as_str().bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
