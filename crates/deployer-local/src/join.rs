//! Dynamic join: one more node in a running local network, built from the
//! same steps as deploy. It is put on the run's network (its own address on
//! the plane; reserved ports and link proxies both ways on the fallback),
//! its launch is planned and checked like every other node's, and it is
//! started, supervised, cleaned up and audited like the nodes deployed at
//! first; faults can name it from then on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use deploykit::plan;
use deploykit::ready::wait_ready;
use scenario_core::{
    ControlError, HostPort, Joined, Membership, NodeId, NodeKind, NodeSlot, PortSpec, Role,
};

use crate::control::LocalNodeControl;
use crate::error::Error;
use crate::launcher::Launcher;
use crate::network::RunNetwork;
use crate::plan::plan_node;
use crate::readiness::PROBE_EVERY;

pub(crate) struct LocalMembership {
    pub(crate) kind: Arc<dyn NodeKind>,
    pub(crate) run_dir: PathBuf,
    /// Every node so far with where it listens; joins are serialized here.
    pub(crate) members: tokio::sync::Mutex<Vec<(NodeSlot, BTreeMap<String, HostPort>)>>,
    pub(crate) net: Arc<RunNetwork>,
    pub(crate) launcher: Launcher,
    pub(crate) control: Arc<LocalNodeControl>,
}

fn failed(node: &NodeId, source: impl Into<Error>) -> ControlError {
    plan::join_failed(node, source.into())
}

#[async_trait::async_trait]
impl Membership for LocalMembership {
    async fn add_node(&self, role: &Role) -> Result<Joined, ControlError> {
        let mut members = self.members.lock().await;
        let mut slots: Vec<NodeSlot> = members.iter().map(|(slot, _)| slot.clone()).collect();
        let slot = NodeSlot::next_of(role, &slots);
        let id = slot.id.clone();
        let (net, ports) = (&self.net, self.kind.ports());
        let placed = net.place(&id, &ports).await.map_err(|e| failed(&id, e))?;
        let listen = placed.listen.clone();

        // Where the new node reaches every member (and, on the proxies,
        // the way back from each member to it).
        let mut reaches: BTreeMap<(&NodeId, &str), HostPort> = BTreeMap::new();
        for (member, member_listen) in members.iter() {
            for port in &ports {
                let at = &member_listen[&port.name];
                let address = if port.peer {
                    net.peer_address(&member.id, &id, &listen[&port.name])
                        .map_err(|e| failed(&id, e))?;
                    net.peer_address(&id, &member.id, at)
                        .map_err(|e| failed(&id, e))?
                } else {
                    at.clone()
                };
                reaches.insert((&member.id, port.name.as_str()), address);
            }
        }
        slots.push(slot.clone());
        let reach =
            |peer: &NodeSlot, port: &PortSpec| reaches[&(&peer.id, port.name.as_str())].clone();
        let mut planned = plan_node(
            self.kind.as_ref(),
            &self.run_dir,
            &slot,
            &slots,
            listen.clone(),
            &reach,
        )
        .map_err(|e| failed(&id, e))?;
        planned.namespace = placed.namespace;
        let endpoints = net
            .runner_endpoints(&id, &ports, &listen)
            .await
            .map_err(|e| failed(&id, e))?;
        if let Some(held) = placed.held {
            held.release();
        }
        let node = self
            .launcher
            .start(&planned, endpoints.clone(), &ports)
            .map_err(|e| failed(&id, e))?;
        wait_ready(&node, self.control.ready_timeout, PROBE_EVERY)
            .await
            .map_err(|e| failed(&id, e))?;
        net.admit(&id);
        self.control.add(id.clone(), node);
        let client =
            plan::client(self.kind.as_ref(), &slot, endpoints).map_err(|e| failed(&id, e))?;
        members.push((slot.clone(), listen));
        Ok(Joined { slot, client })
    }
}
