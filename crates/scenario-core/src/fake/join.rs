//! The fake deployer's [`Membership`]: adds a fake node of any role to the
//! running network, rendering it with its peers like a real join would.

use std::sync::{Arc, Mutex};

use super::{FakeProbe, addresses, lock, start_node};
use crate::control::{ControlError, Joined, Membership};
use crate::launch::{NodeEndpoint, NodeKind, NodeView, PeerView};
use crate::runner::CleanupRegistry;
use crate::timeline::Timeline;
use crate::topology::{NodeId, NodeOverride, NodeSlot, Role};

pub(super) struct FakeMembership {
    pub(super) probe: FakeProbe,
    pub(super) node_kind: Arc<dyn NodeKind>,
    /// Every node so far, the topology's then the joined.
    pub(super) slots: Mutex<Vec<NodeSlot>>,
    /// The nodes node control acts on; a joined node is added.
    pub(super) known: Arc<Mutex<Vec<NodeId>>>,
    pub(super) cleanup: CleanupRegistry,
    pub(super) timeline: Timeline,
}

#[async_trait::async_trait]
impl Membership for FakeMembership {
    async fn add_node(&self, role: &Role) -> Result<Joined, ControlError> {
        let failed = |source: crate::BoxError| ControlError::ActionFailed {
            action: "add a node".to_owned(),
            target: role.to_string(),
            source,
        };
        let (slot, peers) = {
            let mut slots = lock(&self.slots);
            let index = slots.iter().filter(|slot| &slot.role == role).count();
            let slot = NodeSlot {
                id: NodeId::of(role, index),
                role: role.clone(),
                index,
                overrides: NodeOverride::new(),
            };
            let peers: Vec<PeerView> = slots
                .iter()
                .map(|peer| PeerView {
                    id: peer.id.clone(),
                    role: peer.role.clone(),
                    addresses: addresses(self.node_kind.as_ref(), &peer.id),
                })
                .collect();
            slots.push(slot.clone());
            (slot, peers)
        };
        let view = NodeView {
            slot: slot.clone(),
            listen: addresses(self.node_kind.as_ref(), &slot.id),
            data_dir: format!("/data/{}", slot.id),
            peers,
        };
        self.node_kind.render(&view).map_err(failed)?;
        let endpoint = NodeEndpoint {
            id: slot.id.clone(),
            role: slot.role.clone(),
            addresses: view.listen.clone(),
        };
        let client = start_node(
            &self.probe,
            self.node_kind.as_ref(),
            &endpoint,
            &self.cleanup,
            &self.timeline,
        )
        .map_err(failed)?;
        lock(&self.known).push(slot.id.clone());
        Ok(Joined { slot, client })
    }
}
