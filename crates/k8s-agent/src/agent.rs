//! The agent's state: the fault engine mirroring the runner's faults, the
//! pod addresses of the run's nodes, the packets held until the first
//! sync, and the lease after which every fault heals by itself.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netplane::agent::{PacketCounters, Status, Sync};
use netplane::engine::{Engine, NodeIndex, Verdict};
use scenario_core::NodeId;

use crate::sender::destination;

/// Packets held for the first sync at most; more are dropped.
const MAX_HELD: usize = 4096;

/// What to do with a packet, decided under the lock and done outside it.
pub(crate) enum Step {
    Send(Vec<u8>),
    SendAt(Instant, Vec<u8>),
    Nothing,
}

/// Why a call was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error(
        "the lease lapsed {0:?} ago: the agent healed every fault because the runner stopped renewing"
    )]
    Lapsed(Duration),
    #[error("not synced yet: nothing to renew")]
    NotSynced,
    #[error("{0}")]
    Invalid(String),
}

#[derive(Default)]
struct Inner {
    engine: Option<Engine>,
    node: Option<NodeId>,
    own: Option<NodeIndex>,
    by_address: HashMap<Ipv4Addr, NodeIndex>,
    synced: bool,
    released: bool,
    held: VecDeque<Vec<u8>>,
    lease: Duration,
    deadline: Option<Instant>,
    lapsed_at: Option<Instant>,
    paused: bool,
    counters: PacketCounters,
}

/// The agent of one pod.
pub(crate) struct Agent {
    address: Ipv4Addr,
    hold_until: Instant,
    inner: Mutex<Inner>,
}

impl Agent {
    /// An agent for the pod at `address`, holding packets for the first
    /// sync for at most `hold`.
    pub(crate) fn new(address: Ipv4Addr, hold: Duration) -> Self {
        Self {
            address,
            hold_until: Instant::now() + hold,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decide one outgoing packet.
    pub(crate) fn on_packet(&self, packet: &[u8]) -> Step {
        // Only IPv4 is routed here; what else comes out of the device (the
        // kernel's own IPv6 router solicitations) goes nowhere.
        if destination(packet).is_none() {
            return Step::Nothing;
        }
        let mut inner = self.lock();
        if !inner.synced && !inner.released {
            if inner.held.len() < MAX_HELD {
                inner.held.push_back(packet.to_vec());
                inner.counters.delayed += 1;
            } else {
                inner.counters.dropped += 1;
            }
            return Step::Nothing;
        }
        inner.decide(packet.to_vec(), Instant::now())
    }

    /// Count a packet sent on, or one the kernel refused.
    pub(crate) fn sent(&self, result: nix::Result<()>) {
        let mut inner = self.lock();
        match result {
            Ok(()) => inner.counters.forwarded += 1,
            Err(_) => inner.counters.send_errors += 1,
        }
    }

    /// Take the runner's state; returns the held packets' steps.
    pub(crate) fn sync(&self, sync: Sync) -> Result<Vec<Step>, Refused> {
        let mut inner = self.lock();
        if let Some(at) = inner.lapsed_at {
            return Err(Refused::Lapsed(at.elapsed()));
        }
        let engine = inner.engine.get_or_insert_with(|| Engine::new(sync.seed));
        let mut by_address = HashMap::new();
        for member in &sync.members {
            by_address.insert(member.address, engine.add_node(member.id.clone()));
        }
        let own = engine.add_node(sync.node.clone());
        let known = engine.active();
        for active in &sync.faults {
            if engine.report(active.id).is_none() {
                engine
                    .apply_as(active.id, active.fault.clone())
                    .map_err(|error| Refused::Invalid(error.to_string()))?;
            }
        }
        for id in known {
            if !sync.faults.iter().any(|active| active.id == id) {
                engine.heal(id);
            }
        }
        inner.by_address = by_address;
        inner.own = Some(own);
        inner.node = Some(sync.node);
        inner.lease = Duration::from_millis(sync.lease_ms);
        inner.deadline = Some(Instant::now() + inner.lease);
        inner.synced = true;
        Ok(inner.release_held())
    }

    /// Renew the lease.
    pub(crate) fn renew(&self) -> Result<(), Refused> {
        let mut inner = self.lock();
        if let Some(at) = inner.lapsed_at {
            return Err(Refused::Lapsed(at.elapsed()));
        }
        if !inner.synced {
            return Err(Refused::NotSynced);
        }
        inner.deadline = Some(Instant::now() + inner.lease);
        Ok(())
    }

    /// Check the lease and the hold: heals every fault once the lease
    /// lapsed (returns whether the node must be resumed), releases held
    /// packets once nobody synced in time.
    pub(crate) fn tick(&self, now: Instant) -> (bool, Vec<Step>) {
        let mut inner = self.lock();
        if !inner.synced && !inner.released && now >= self.hold_until {
            tracing::warn!("no sync arrived in time: sending held packets on unjudged");
            inner.released = true;
            return (false, inner.release_held());
        }
        let lapsed = inner.lapsed_at.is_none() && inner.deadline.is_some_and(|at| now >= at);
        if !lapsed {
            return (false, Vec::new());
        }
        tracing::warn!("the runner stopped renewing: healing every fault");
        inner.lapsed_at = Some(now);
        if let Some(engine) = inner.engine.as_mut() {
            engine.heal_all();
        }
        let resume = std::mem::take(&mut inner.paused);
        (resume, Vec::new())
    }

    /// Note that the node was paused or resumed.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
    }

    /// What the agent holds and did.
    pub(crate) fn status(&self) -> Status {
        let inner = self.lock();
        Status {
            node: inner.node.clone(),
            address: self.address,
            synced: inner.synced,
            lapsed: inner.lapsed_at.is_some(),
            paused: inner.paused,
            held_packets: inner.held.len() as u64,
            faults: inner
                .engine
                .as_ref()
                .map(Engine::reports)
                .unwrap_or_default(),
            packets: inner.counters,
        }
    }
}

impl Inner {
    fn decide(&mut self, packet: Vec<u8>, now: Instant) -> Step {
        let to = destination(&packet).and_then(|address| self.by_address.get(&address));
        let verdict = match (self.engine.as_mut(), self.own, to) {
            (Some(engine), Some(own), Some(to)) if engine.is_faulted() => {
                engine.decide(own, *to, packet.len(), now)
            }
            _ => Verdict::Forward,
        };
        match verdict {
            Verdict::Forward => Step::Send(packet),
            Verdict::ForwardAt(at) => {
                self.counters.delayed += 1;
                Step::SendAt(at, packet)
            }
            Verdict::Drop(_) => {
                self.counters.dropped += 1;
                Step::Nothing
            }
        }
    }

    fn release_held(&mut self) -> Vec<Step> {
        let now = Instant::now();
        let held = std::mem::take(&mut self.held);
        held.into_iter()
            .map(|packet| self.decide(packet, now))
            .collect()
    }
}
