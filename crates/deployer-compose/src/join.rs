//! Dynamic join on Docker: one more container in a running network. Link
//! proxies lead from it to every node (each following the published port
//! of the node it leads to), its launch is rendered by
//! the node kind, and it is created, started, followed, supervised, cleaned
//! up and audited like the nodes deployed at first. The run's
//! docker-compose file keeps the topology as deployed at first.

use std::collections::BTreeMap;
use std::sync::Arc;

use deploykit::plan::join_failed;
use deploykit::ready::wait_ready;
use scenario_core::{ControlError, Joined, Membership, NodeId, NodeKind, NodeSlot, Role};

use crate::control::ComposeNodeControl;
use crate::deploy::build_hint;
use crate::error::Error;
use crate::image::image_exists;
use crate::network::{RunNetwork, Wiring};
use crate::plan::{self, Addressing};
use crate::readiness::PROBE_EVERY;

pub(crate) struct ComposeMembership {
    pub(crate) net: RunNetwork,
    pub(crate) kind: Arc<dyn NodeKind>,
    /// Every node so far; joins are serialized here.
    pub(crate) members: tokio::sync::Mutex<Vec<NodeSlot>>,
    /// Every node's one address (network plane only).
    pub(crate) addresses: tokio::sync::Mutex<BTreeMap<NodeId, std::net::Ipv4Addr>>,
    pub(crate) control: Arc<ComposeNodeControl>,
}

fn failed(node: &NodeId, source: impl Into<Error>) -> ControlError {
    join_failed(node, source.into())
}

#[async_trait::async_trait]
impl Membership for ComposeMembership {
    async fn add_node(&self, role: &Role) -> Result<Joined, ControlError> {
        let mut members = self.members.lock().await;
        let slot = NodeSlot::next_of(role, &members);
        let id = slot.id.clone();
        let net = &self.net;

        // The new node reaches every member at its one address (or through
        // a link proxy). Members were rendered before it existed; they learn
        // of it the way the node software lets them (demo-node: its inbound
        // connections). Its image is checked before anything is made.
        let mut slots = members.clone();
        slots.push(slot.clone());
        let unwired = Addressing::Proxies(BTreeMap::new());
        let image = plan::render_node(&self.kind, &slot, &slots, &unwired)
            .map_err(|e| failed(&id, e))?
            .image;
        if !image_exists(&net.docker, &image)
            .await
            .map_err(|e| failed(&id, e))?
        {
            return Err(failed(
                &id,
                Error::ImageMissing {
                    hint: build_hint(&image),
                    image,
                    node: id.clone(),
                },
            ));
        }
        let mut into_new = Vec::new();
        let mut endpoints = BTreeMap::new();
        let addressing = match &net.wiring {
            Wiring::Plane(run_plane) => {
                let (address, fronts) = net
                    .place(run_plane, &id)
                    .await
                    .map_err(|e| failed(&id, e))?;
                endpoints = fronts;
                let mut addresses = self.addresses.lock().await;
                addresses.insert(id.clone(), address);
                Addressing::Plane(addresses.clone())
            }
            Wiring::Proxies(proxied) => {
                let mut via = BTreeMap::new();
                for member in members.iter() {
                    for port in net.ports.iter().filter(|port| port.peer) {
                        let (target, address) = net
                            .link(proxied, &id, &member.id)
                            .await
                            .map_err(|e| failed(&id, e))?;
                        self.control
                            .node(&member.id)?
                            .follow_with(&port.name, target);
                        via.insert((id.clone(), member.id.clone(), port.name.clone()), address);
                    }
                }
                for port in &net.ports {
                    let (target, address) =
                        net.front(proxied, &id).await.map_err(|e| failed(&id, e))?;
                    endpoints.insert(port.name.clone(), address);
                    into_new.push((port.name.clone(), target));
                }
                Addressing::Proxies(via)
            }
        };
        let plan = plan::render_node(&self.kind, &slot, &slots, &addressing)
            .map_err(|e| failed(&id, e))?;
        let node = net
            .create_node(&plan, endpoints)
            .await
            .map_err(|e| failed(&id, e))?;
        for (port, target) in into_new {
            node.follow_with(&port, target);
        }
        node.start().await.map_err(|e| failed(&id, e))?;
        net.resources.follow_logs(Arc::clone(&node));
        wait_ready(node.as_ref(), self.control.ready_timeout, PROBE_EVERY)
            .await
            .map_err(|e| failed(&id, e))?;
        net.admit(&id);
        self.control.add(Arc::clone(&node));
        let client = deploykit::plan::client(self.kind.as_ref(), &slot, node.endpoints.clone())
            .map_err(|e| failed(&id, e))?;
        members.push(slot.clone());
        Ok(Joined { slot, client })
    }
}
