//! What workloads and expectations see during a run: the topology, a client
//! per node, optional control handles, the block feed, the timeline and the
//! seeded randomness.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::client::NodeClient;
use crate::control::{NetworkControl, NodeControl};
use crate::feed::BlockFeed;
use crate::timeline::Timeline;
use crate::topology::{NodeId, NodeSlot, Role, Topology};

/// The shared state of one run. Cheap to clone.
#[derive(Clone)]
pub struct RunContext {
    inner: Arc<Inner>,
}

struct Inner {
    run_id: String,
    scenario: String,
    seed: u64,
    topology: Topology,
    slots: RwLock<Vec<NodeSlot>>,
    clients: RwLock<BTreeMap<NodeId, Arc<dyn NodeClient>>>,
    node_control: Option<Arc<dyn NodeControl>>,
    network_control: Option<Arc<dyn NetworkControl>>,
    membership: Option<Arc<dyn crate::control::Membership>>,
    feed: Option<Arc<dyn BlockFeed>>,
    timeline: Timeline,
    window: Duration,
    artifacts_dir: PathBuf,
}

/// Everything a [`RunContext`] is made of; assembled by the runner.
pub(crate) struct ContextParts {
    pub(crate) run_id: String,
    pub(crate) scenario: String,
    pub(crate) seed: u64,
    pub(crate) topology: Topology,
    pub(crate) nodes: Vec<NodeSlot>,
    pub(crate) clients: BTreeMap<NodeId, Arc<dyn NodeClient>>,
    pub(crate) node_control: Option<Arc<dyn NodeControl>>,
    pub(crate) network_control: Option<Arc<dyn NetworkControl>>,
    pub(crate) membership: Option<Arc<dyn crate::control::Membership>>,
    pub(crate) feed: Option<Arc<dyn BlockFeed>>,
    pub(crate) timeline: Timeline,
    pub(crate) window: Duration,
    pub(crate) artifacts_dir: PathBuf,
}

impl RunContext {
    pub(crate) fn new(parts: ContextParts) -> Self {
        let slots = parts.nodes;
        Self {
            inner: Arc::new(Inner {
                run_id: parts.run_id,
                scenario: parts.scenario,
                seed: parts.seed,
                topology: parts.topology,
                slots: RwLock::new(slots),
                clients: RwLock::new(parts.clients),
                node_control: parts.node_control,
                network_control: parts.network_control,
                membership: parts.membership,
                feed: parts.feed,
                timeline: parts.timeline,
                window: parts.window,
                artifacts_dir: parts.artifacts_dir,
            }),
        }
    }

    /// The run's id, e.g. `smoke-20261127T070124-3fa2`.
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// The scenario's name.
    pub fn scenario(&self) -> &str {
        &self.inner.scenario
    }

    /// The run's seed; every random choice derives from it.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The topology that was deployed.
    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    /// Every node, in declaration order, then those that joined.
    pub fn nodes(&self) -> Vec<NodeSlot> {
        self.inner
            .slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The ids of the nodes that have `role`, in order.
    pub fn nodes_with_role(&self, role: &Role) -> Vec<NodeId> {
        self.nodes()
            .into_iter()
            .filter(|slot| &slot.role == role)
            .map(|slot| slot.id)
            .collect()
    }

    /// The client of one node.
    pub fn client(&self, node: &NodeId) -> Option<Arc<dyn NodeClient>> {
        self.inner
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(node)
            .cloned()
    }

    /// Every node's client (a snapshot: nodes joining later are not in it).
    pub fn clients(&self) -> BTreeMap<NodeId, Arc<dyn NodeClient>> {
        self.inner
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Add a node of `role` to the running network: the deployer starts it
    /// (its peers rendered by the node kind) and, once it is ready, it is
    /// visible to clients, the block feed and expectations. On the timeline.
    pub async fn add_node(&self, role: &Role) -> Result<NodeId, crate::control::ControlError> {
        let membership =
            self.inner
                .membership
                .as_ref()
                .ok_or(crate::control::ControlError::Unsupported(
                    crate::control::Capability::DynamicJoin,
                ))?;
        let joined = membership.add_node(role).await?;
        let id = joined.slot.id.clone();
        self.inner
            .clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), Arc::clone(&joined.client));
        self.inner
            .slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(joined.slot);
        if let Some(feed) = &self.inner.feed {
            feed.add_node(id.clone(), joined.client);
        }
        let cause = crate::timeline::NodeCause::Joined { role: role.clone() };
        let detail = cause.to_string();
        self.inner.timeline.record_node(&id, cause, detail);
        Ok(id)
    }

    /// Node faults, when the deployer supports them. Every action is
    /// recorded on the timeline.
    pub fn node_control(&self) -> Option<&Arc<dyn NodeControl>> {
        self.inner.node_control.as_ref()
    }

    /// Network faults, when the deployer supports them. Every fault is
    /// recorded on the timeline.
    pub fn network_control(&self) -> Option<&Arc<dyn NetworkControl>> {
        self.inner.network_control.as_ref()
    }

    /// Apply a network fault and, with a duration, heal it by itself once
    /// that much time passed. Both ends land on the timeline.
    pub async fn network_fault(
        &self,
        fault: &crate::control::NetworkFault,
        duration: Option<Duration>,
    ) -> Result<crate::control::FaultId, crate::control::ControlError> {
        let control = self.inner.network_control.as_ref().ok_or(
            crate::control::ControlError::Unsupported(crate::control::Capability::Partition),
        )?;
        let id = control.apply(fault).await?;
        if let Some(duration) = duration {
            let control = Arc::clone(control);
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                if let Err(error) = control.heal(id).await {
                    tracing::warn!(%error, %id, "could not heal a timed fault");
                }
            });
        }
        Ok(id)
    }

    /// The live block feed, when the scenario has one.
    pub fn block_feed(&self) -> Option<&Arc<dyn BlockFeed>> {
        self.inner.feed.as_ref()
    }

    /// The run's event timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.inner.timeline
    }

    /// The length of the run window.
    pub fn window(&self) -> Duration {
        self.inner.window
    }

    /// The run's artifact directory (logs, reports, block history).
    pub fn artifacts_dir(&self) -> &Path {
        &self.inner.artifacts_dir
    }

    /// Where a node's log is, by the convention every deployer follows:
    /// `<artifacts dir>/nodes/<id>/node.log`.
    pub fn node_log(&self, node: &NodeId) -> PathBuf {
        crate::layout::NodeFiles::of(&self.inner.artifacts_dir, node).log
    }

    /// A random number generator for `stream` (use the workload's or
    /// expectation's name), derived from the run's seed: the same seed and
    /// stream name give the same numbers on every machine.
    pub fn rng(&self, stream: &str) -> ChaCha8Rng {
        rng_for(self.inner.seed, stream)
    }
}

/// The generator for one named stream of a seed: what [`RunContext::rng`]
/// returns, available before a run (e.g. to show a planned fault schedule).
pub fn seeded_rng(seed: u64, stream: &str) -> ChaCha8Rng {
    rng_for(seed, stream)
}

fn rng_for(seed: u64, stream: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a(stream.as_bytes()));
    rng
}

/// FNV-1a, 64-bit: a fixed, portable hash of the stream name (std's hasher
/// is neither fixed across releases nor meant for this).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn the_same_seed_and_stream_give_the_same_numbers() {
        let draw = |seed, stream| -> Vec<u32> {
            let mut rng = rng_for(seed, stream);
            (0..8).map(|_| rng.random()).collect()
        };
        assert_eq!(draw(7, "chaos"), draw(7, "chaos"));
        assert_ne!(draw(7, "chaos"), draw(7, "txs"));
        assert_ne!(draw(7, "chaos"), draw(8, "chaos"));
    }

    #[test]
    fn fnv1a_matches_its_published_test_vector() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
