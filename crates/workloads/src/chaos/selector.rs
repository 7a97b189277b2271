//! Which nodes a chaos fault hits: the [`Selector`]s, in the style of
//! Jepsen's nemeses, and how the seed resolves them to node ids.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use scenario_core::{NodeId, NodeSlot, Role};

/// Which nodes a fault hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// This node.
    One(NodeId),
    /// One node of this role, drawn from the seed.
    AnyOf(Role),
    /// Any one node, drawn from the seed.
    Any,
    /// For partitions: the largest minority of validators (fewer than half),
    /// drawn from the seed, cut off from everyone else.
    Minority,
    /// For partitions: a majority of validators (drawn from the seed) on one
    /// side, everyone else on the other.
    Majority,
    /// For partitions: the nodes split into two halves, drawn from the seed.
    Halves,
    /// For partitions: the nodes of this role cut off from the others.
    Role(Role),
}

impl Selector {
    /// The role every candidate must have, if the selector names one.
    pub(super) fn role(&self) -> Option<&Role> {
        match self {
            Self::AnyOf(role) | Self::Role(role) => Some(role),
            Self::One(_) | Self::Any | Self::Minority | Self::Majority | Self::Halves => None,
        }
    }

    /// The node the selector names, if it names one.
    pub(super) fn node(&self) -> Option<&NodeId> {
        match self {
            Self::One(node) => Some(node),
            _ => None,
        }
    }
}

impl From<NodeId> for Selector {
    fn from(node: NodeId) -> Self {
        Self::One(node)
    }
}

impl From<&str> for Selector {
    fn from(node: &str) -> Self {
        Self::One(NodeId::new(node))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::One(node) => write!(f, "{node}"),
            Self::AnyOf(role) => write!(f, "any {role}"),
            Self::Any => f.write_str("any node"),
            Self::Minority => f.write_str("a minority of validators"),
            Self::Majority => f.write_str("a majority of validators"),
            Self::Halves => f.write_str("half of the nodes"),
            Self::Role(role) => write!(f, "every {role}"),
        }
    }
}

/// Resolves selectors to node ids with the plan's generator, keeping the
/// per-node restart cooldown.
pub(super) struct Picker<'a> {
    nodes: &'a [NodeSlot],
    ids: Vec<NodeId>,
    cooldown: Duration,
    last_restart: BTreeMap<NodeId, Duration>,
}

impl<'a> Picker<'a> {
    pub(super) fn new(nodes: &'a [NodeSlot], cooldown: Duration) -> Self {
        Self {
            nodes,
            ids: nodes.iter().map(|slot| slot.id.clone()).collect(),
            cooldown,
            last_restart: BTreeMap::new(),
        }
    }

    fn with_role(&self, role: &Role) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|slot| &slot.role == role)
            .map(|slot| slot.id.clone())
            .collect()
    }

    /// One node for a node action `at` into the window; a restart skips
    /// nodes restarted less than the cooldown ago. `None` when no candidate
    /// is left.
    pub(super) fn node(
        &mut self,
        who: &Selector,
        at: Duration,
        rng: &mut ChaCha8Rng,
        restart: bool,
    ) -> Option<NodeId> {
        let mut pool = match who {
            Selector::One(node) => vec![node.clone()],
            Selector::AnyOf(role) | Selector::Role(role) => self.with_role(role),
            Selector::Any | Selector::Minority | Selector::Majority | Selector::Halves => {
                self.ids.clone()
            }
        };
        pool.shuffle(rng);
        let cooldown = self.cooldown;
        let chosen = pool.into_iter().find(|node| {
            !restart
                || self
                    .last_restart
                    .get(node)
                    .is_none_or(|last| at >= *last + cooldown)
        })?;
        if restart {
            self.last_restart.insert(chosen.clone(), at);
        }
        Some(chosen)
    }

    /// The two sides of a partition: the nodes chosen, and everyone else.
    pub(super) fn partition(&self, who: &Selector, rng: &mut ChaCha8Rng) -> Vec<Vec<NodeId>> {
        let drawn = |mut pool: Vec<NodeId>, size: usize, rng: &mut ChaCha8Rng| {
            pool.shuffle(rng);
            pool.into_iter().take(size).collect::<Vec<_>>()
        };
        let cut_off: Vec<NodeId> = match who {
            Selector::One(node) => vec![node.clone()],
            Selector::AnyOf(role) => drawn(self.with_role(role), 1, rng),
            Selector::Any => drawn(self.ids.clone(), 1, rng),
            Selector::Minority => {
                let validators = self.with_role(&Role::Validator);
                let size = validators.len().saturating_sub(1) / 2;
                drawn(validators, size.max(1), rng)
            }
            Selector::Majority => {
                let validators = self.with_role(&Role::Validator);
                let size = validators.len() / 2 + 1;
                drawn(validators, size, rng)
            }
            Selector::Halves => drawn(self.ids.clone(), self.ids.len() / 2, rng),
            Selector::Role(role) => self.with_role(role),
        };
        let rest: Vec<NodeId> = self
            .ids
            .iter()
            .filter(|id| !cut_off.contains(id))
            .cloned()
            .collect();
        vec![cut_off, rest]
    }

    /// Two distinct nodes, sender first, drawn from the seed.
    pub(super) fn link(&self, rng: &mut ChaCha8Rng) -> Option<(NodeId, NodeId)> {
        let mut pair = self.ids.clone();
        pair.shuffle(rng);
        match pair.as_slice() {
            [from, to, ..] => Some((from.clone(), to.clone())),
            _ => None,
        }
    }
}
