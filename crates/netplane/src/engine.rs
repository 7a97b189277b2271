//! The fault engine: pure packet decisions, no kernel. Fed one packet at a
//! time as (source node, destination node, size, now), it answers forward,
//! forward later, or drop, and keeps every fault's counters.
//!
//! Stacking is that of the link proxies it replaces: a link is cut while any
//! active fault cuts it; shapes combine component-wise to the strongest
//! (largest latency, jitter and loss, smallest bandwidth).
//!
//! Randomness (loss, jitter) comes from one ChaCha8 stream per directed link,
//! keyed by the run seed and the two node ids, so the same seed and the same
//! packet sequence on a link give the same decisions, whatever other links
//! carry. Per packet the stream is drawn in a fixed order: one draw for loss
//! (only when the link has loss), one for jitter (only when it has jitter).

mod link;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use scenario_core::{ControlError, FaultId, LinkShape, NodeId};

use crate::fault::{Fault, FaultCounters, FaultReport};
use link::LinkRuntime;
pub use link::{burst_bytes, queue_limit_bytes};

/// A node's position in the engine; cheap to copy and compare per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIndex(u32);

/// What to do with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver it now.
    Forward,
    /// Deliver it at this instant (latency, jitter or a bandwidth queue).
    ForwardAt(Instant),
    /// Drop it.
    Drop(DropCause),
}

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// An active fault cuts the link.
    Cut,
    /// The link's loss draw said so.
    Loss,
    /// The link's bandwidth queue was full.
    QueueFull,
}

struct Entry {
    fault: Fault,
    active: bool,
    counters: FaultCounters,
}

/// The effective rule of one directed link, compiled from the active faults.
#[derive(Default)]
struct Rule {
    matched_by: Vec<FaultId>,
    cut_by: Vec<FaultId>,
    shape: LinkShape,
    loss_by: Vec<FaultId>,
    delay_by: Vec<FaultId>,
    rate_by: Vec<FaultId>,
}

/// The fault engine of one run.
pub struct Engine {
    seed: u64,
    nodes: Vec<NodeId>,
    index: HashMap<NodeId, NodeIndex>,
    faults: BTreeMap<FaultId, Entry>,
    next_id: u64,
    rules: HashMap<(NodeIndex, NodeIndex), Rule>,
    links: HashMap<(NodeIndex, NodeIndex), LinkRuntime>,
    epoch: Option<Instant>,
}

impl Engine {
    /// An engine with no node and no fault, drawing randomness from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            nodes: Vec::new(),
            index: HashMap::new(),
            faults: BTreeMap::new(),
            next_id: 1,
            rules: HashMap::new(),
            links: HashMap::new(),
            epoch: None,
        }
    }

    /// Register a node (faults may name it from now on, `Peer::Any` covers
    /// it at once). Registering a known node returns its index.
    pub fn add_node(&mut self, node: NodeId) -> NodeIndex {
        if let Some(index) = self.index.get(&node) {
            return *index;
        }
        let index = NodeIndex(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push(node.clone());
        self.index.insert(node, index);
        self.compile();
        index
    }

    /// The index of a registered node.
    pub fn index_of(&self, node: &NodeId) -> Option<NodeIndex> {
        self.index.get(node).copied()
    }

    /// Apply a fault on top of the active ones. Fails, changing nothing, if
    /// it names an unknown node or its shape is impossible.
    pub fn apply(&mut self, fault: Fault) -> Result<FaultId, ControlError> {
        let id = FaultId(self.next_id);
        self.apply_as(id, fault)?;
        Ok(id)
    }

    /// Apply a fault under an id chosen elsewhere (an engine mirroring
    /// another's faults, as a pod's agent mirrors the runner's). Fails,
    /// changing nothing, where [`Engine::apply`] would, or if the id is
    /// taken.
    pub fn apply_as(&mut self, id: FaultId, fault: Fault) -> Result<(), ControlError> {
        if self.faults.contains_key(&id) {
            return Err(ControlError::ActionFailed {
                action: "apply".to_owned(),
                target: fault.to_string(),
                source: format!("{id} is already taken").into(),
            });
        }
        for node in fault.named_nodes() {
            if !self.index.contains_key(node) {
                return Err(ControlError::UnknownNode(node.clone()));
            }
        }
        if let Some(shape) = fault.shape() {
            let problem = if !(0.0..=1.0).contains(&shape.loss) {
                Some(format!("loss must be between 0 and 1, not {}", shape.loss))
            } else if shape.bandwidth == Some(0) {
                Some("a bandwidth of 0 B/s is a cut; apply a cut instead".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ControlError::ActionFailed {
                    action: "shape".to_owned(),
                    target: fault.to_string(),
                    source: problem.into(),
                });
            }
        }
        self.next_id = self.next_id.max(id.0 + 1);
        self.faults.insert(
            id,
            Entry {
                fault,
                active: true,
                counters: FaultCounters::default(),
            },
        );
        self.compile();
        Ok(())
    }

    /// Heal one fault; its counters stay readable. Healing an unknown or
    /// healed fault does nothing.
    pub fn heal(&mut self, id: FaultId) {
        if let Some(entry) = self.faults.get_mut(&id) {
            entry.active = false;
        }
        self.compile();
    }

    /// Heal every fault.
    pub fn heal_all(&mut self) {
        for entry in self.faults.values_mut() {
            entry.active = false;
        }
        self.compile();
    }

    /// The ids of the faults in force.
    pub fn active(&self) -> Vec<FaultId> {
        self.faults
            .iter()
            .filter(|(_, entry)| entry.active)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The directed links `(from, to)` that some active fault cuts: what a
    /// mechanism that can only block (NetworkPolicy) has to enforce.
    pub fn cut_links(&self) -> BTreeSet<(NodeId, NodeId)> {
        self.rules
            .iter()
            .filter(|(_, rule)| !rule.cut_by.is_empty())
            .map(|((from, to), _)| {
                (
                    self.nodes[from.0 as usize].clone(),
                    self.nodes[to.0 as usize].clone(),
                )
            })
            .collect()
    }

    /// Whether any fault acts on any link (the packet path skips the engine
    /// when none does).
    pub fn is_faulted(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Decide one packet of `bytes` from `from` to `to` arriving at `now`
    /// (instants must not go backwards), counting it for every fault
    /// involved.
    pub fn decide(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        bytes: usize,
        now: Instant,
    ) -> Verdict {
        let Some(rule) = self.rules.get(&(from, to)) else {
            return Verdict::Forward;
        };
        let bytes = bytes as u64;
        let faults = &mut self.faults;
        let mut count = |ids: &[FaultId], what: fn(&mut FaultCounters, u64)| {
            for id in ids {
                if let Some(entry) = faults.get_mut(id) {
                    what(&mut entry.counters, bytes);
                }
            }
        };
        count(&rule.matched_by, crate::fault::matched);
        if !rule.cut_by.is_empty() {
            count(&rule.cut_by, crate::fault::dropped);
            return Verdict::Drop(DropCause::Cut);
        }
        let shape = &rule.shape;
        let (seed, nodes) = (self.seed, &self.nodes);
        let link = self.links.entry((from, to)).or_insert_with(|| {
            LinkRuntime::new(seed, &nodes[from.0 as usize], &nodes[to.0 as usize])
        });
        if shape.loss > 0.0 && link.lose(shape.loss) {
            count(&rule.loss_by, crate::fault::dropped);
            return Verdict::Drop(DropCause::Loss);
        }
        let epoch = *self.epoch.get_or_insert(now);
        let since = now.saturating_duration_since(epoch);
        let mut departure = since;
        if let Some(rate) = shape.bandwidth {
            match link.admit(since, bytes, rate) {
                Some(at) => departure = at,
                None => {
                    count(&rule.rate_by, crate::fault::dropped);
                    return Verdict::Drop(DropCause::QueueFull);
                }
            }
            if departure > since {
                count(&rule.rate_by, crate::fault::delayed);
            }
        }
        let delay = shape.latency + link.jitter(shape.jitter);
        if !delay.is_zero() {
            count(&rule.delay_by, crate::fault::delayed);
        }
        let at = departure + delay;
        if at > since {
            Verdict::ForwardAt(epoch + at)
        } else {
            Verdict::Forward
        }
    }

    /// What one fault did so far (also after it healed).
    pub fn report(&self, id: FaultId) -> Option<FaultReport> {
        self.faults.get(&id).map(|entry| FaultReport {
            id,
            fault: entry.fault.clone(),
            active: entry.active,
            counters: entry.counters,
        })
    }

    /// Every fault applied so far, in the order applied.
    pub fn reports(&self) -> Vec<FaultReport> {
        self.faults
            .keys()
            .filter_map(|id| self.report(*id))
            .collect()
    }

    /// Recompile every link's rule from the active faults.
    fn compile(&mut self) {
        let mut rules: HashMap<(NodeIndex, NodeIndex), Rule> = HashMap::new();
        let active: Vec<(FaultId, &Fault)> = self
            .faults
            .iter()
            .filter(|(_, entry)| entry.active)
            .map(|(id, entry)| (*id, &entry.fault))
            .collect();
        for (i, from) in self.nodes.iter().enumerate() {
            for (j, to) in self.nodes.iter().enumerate() {
                let covering: Vec<&(FaultId, &Fault)> =
                    active.iter().filter(|(_, f)| f.covers(from, to)).collect();
                if covering.is_empty() {
                    continue;
                }
                let mut rule = Rule::default();
                for (id, fault) in &covering {
                    rule.matched_by.push(*id);
                    match fault.shape() {
                        None => rule.cut_by.push(*id),
                        Some(shape) => merge(&mut rule.shape, shape),
                    }
                }
                for (id, fault) in &covering {
                    let Some(shape) = fault.shape() else { continue };
                    if shape.loss > 0.0 && shape.loss >= rule.shape.loss {
                        rule.loss_by.push(*id);
                    }
                    let delays = |mine: Duration, best: Duration| !mine.is_zero() && mine >= best;
                    if delays(shape.latency, rule.shape.latency)
                        || delays(shape.jitter, rule.shape.jitter)
                    {
                        rule.delay_by.push(*id);
                    }
                    if shape.bandwidth.is_some() && shape.bandwidth == rule.shape.bandwidth {
                        rule.rate_by.push(*id);
                    }
                }
                let index = |n: usize| NodeIndex(u32::try_from(n).unwrap_or(u32::MAX));
                rules.insert((index(i), index(j)), rule);
            }
        }
        self.rules = rules;
    }
}

/// The strongest of two shapes, component-wise (as the link proxies did).
fn merge(into: &mut LinkShape, shape: &LinkShape) {
    into.latency = into.latency.max(shape.latency);
    into.jitter = into.jitter.max(shape.jitter);
    into.loss = into.loss.max(shape.loss);
    into.bandwidth = match (into.bandwidth, shape.bandwidth) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

#[cfg(test)]
mod tests;
