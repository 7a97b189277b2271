//! Which nodes a workload sends to.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use scenario_core::{NodeId, Role, RunContext};

/// Where a workload sends its traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Every node in turn.
    RoundRobin,
    /// A node drawn at random (from the run's seed) for each send.
    Random,
    /// Always this node.
    One(NodeId),
    /// The nodes of this role, in turn.
    Role(Role),
}

impl Targets {
    /// The candidate nodes.
    pub(crate) fn candidates(&self, ctx: &RunContext) -> Vec<NodeId> {
        match self {
            Self::RoundRobin | Self::Random => ctx.nodes().iter().map(|s| s.id.clone()).collect(),
            Self::One(node) => vec![node.clone()],
            Self::Role(role) => ctx.nodes_with_role(role),
        }
    }

    /// The target of the `n`-th send.
    pub(crate) fn pick<'a>(
        &self,
        candidates: &'a [NodeId],
        n: u64,
        rng: &mut ChaCha8Rng,
    ) -> Option<&'a NodeId> {
        if candidates.is_empty() {
            return None;
        }
        let index = match self {
            Self::Random => rng.random_range(0..candidates.len()),
            _ => usize::try_from(n % candidates.len() as u64).unwrap_or(0),
        };
        candidates.get(index)
    }
}
