//! Rendering a scenario for containers, before anything starts: each node
//! keeps its data under `/data` and listens on its container ports; on the
//! network plane at its one address, which is where every peer reaches it
//! too; on the link-proxy fallback on every interface, reaching each peer
//! through the proxy the runner owns for that directed link. A second
//! rendering, peers by service name, feeds the docker-compose file.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use deploykit::plan;
use scenario_core::{HostPort, LaunchSpec, NodeId, NodeKind, NodeSlot, NodeView, PortSpec};

use crate::error::Result;

/// Where a node's data directory is inside its container.
pub(crate) const DATA_DIR: &str = "/data";

/// One node, rendered and checked, not yet created.
#[derive(Clone, Debug)]
pub(crate) struct NodePlan {
    pub(crate) slot: NodeSlot,
    /// The launch as the run starts it (peers through the link proxies).
    pub(crate) spec: LaunchSpec,
    /// The launch for the docker-compose file (peers by service name).
    pub(crate) compose_spec: LaunchSpec,
    pub(crate) image: String,
}

/// Where nodes listen and reach each other.
#[derive(Clone, Debug)]
pub(crate) enum Addressing {
    /// The network plane: each node's one address.
    Plane(BTreeMap<NodeId, Ipv4Addr>),
    /// Link proxies: `(from, to, port)` is where `from` reaches `to`'s
    /// peer port.
    Proxies(BTreeMap<(NodeId, NodeId, String), HostPort>),
}

/// The container-side port key, e.g. `8080/tcp`.
pub(crate) fn port_key(port: &PortSpec) -> String {
    format!("{}/tcp", port.container_port)
}

/// `slot`'s view in a cluster of `slots`: it listens on its container ports
/// at `host` and reaches each peer's port where `reach` says.
fn view(
    slot: &NodeSlot,
    slots: &[NodeSlot],
    ports: &[PortSpec],
    host: &str,
    reach: &dyn Fn(&NodeSlot, &PortSpec) -> HostPort,
) -> NodeView {
    let listen = ports
        .iter()
        .map(|port| (port.name.clone(), HostPort::new(host, port.container_port)))
        .collect();
    plan::view(slot, slots, ports, listen, DATA_DIR, reach)
}

/// Render one node of `slots` as `addressing` places it. On the fallback,
/// API ports of peers are given as the peer's service name, since no node
/// talks to another's API through the proxies.
pub(crate) fn render_node(
    kind: &Arc<dyn NodeKind>,
    slot: &NodeSlot,
    slots: &[NodeSlot],
    addressing: &Addressing,
) -> Result<NodePlan> {
    let ports = kind.ports();
    let by_name =
        |peer: &NodeSlot, port: &PortSpec| HostPort::new(peer.id.as_str(), port.container_port);
    let spec = match addressing {
        Addressing::Plane(addresses) => {
            let at = |node: &NodeSlot| {
                addresses
                    .get(&node.id)
                    .map_or_else(|| node.id.to_string(), Ipv4Addr::to_string)
            };
            let by_address =
                |peer: &NodeSlot, port: &PortSpec| HostPort::new(at(peer), port.container_port);
            let own = view(slot, slots, &ports, &at(slot), &by_address);
            plan::render(kind.as_ref(), &own)?
        }
        Addressing::Proxies(via) => {
            let through_proxy = |peer: &NodeSlot, port: &PortSpec| {
                via.get(&(slot.id.clone(), peer.id.clone(), port.name.clone()))
                    .cloned()
                    .unwrap_or_else(|| by_name(peer, port))
            };
            let own = view(slot, slots, &ports, "0.0.0.0", &through_proxy);
            plan::render(kind.as_ref(), &own)?
        }
    };
    let by_service = view(slot, slots, &ports, "0.0.0.0", &by_name);
    let compose_spec = plan::render(kind.as_ref(), &by_service)?;
    let image = spec
        .require_image()
        .map_err(|problem| plan::unusable(&slot.id, problem))?
        .to_owned();
    Ok(NodePlan {
        slot: slot.clone(),
        spec,
        compose_spec,
        image,
    })
}

/// Render every node of `slots` (see [`render_node`]).
pub(crate) fn render(
    kind: &Arc<dyn NodeKind>,
    slots: &[NodeSlot],
    addressing: &Addressing,
) -> Result<Vec<NodePlan>> {
    slots
        .iter()
        .map(|slot| render_node(kind, slot, slots, addressing))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario_core::{BoxError, NodeClient, NodeEndpoint, Role, Topology};

    struct Echo;

    impl NodeKind for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn ports(&self) -> Vec<PortSpec> {
            vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
        }
        fn render(&self, node: &NodeView) -> std::result::Result<LaunchSpec, BoxError> {
            let mut spec = LaunchSpec::image_only("echo:dev")
                .arg(format!("--listen={}", node.listen("p2p")?))
                .arg(format!("--data={}", node.data_dir));
            for peer in &node.peers {
                spec = spec.arg(format!("--peer={}", peer.address("p2p")?));
            }
            Ok(spec)
        }
        fn client(&self, _: &NodeEndpoint) -> std::result::Result<Arc<dyn NodeClient>, BoxError> {
            Err("not used".into())
        }
    }

    #[test]
    fn peers_go_through_proxies_in_the_run_and_by_name_in_the_compose_file() {
        let slots = Topology::new().validators(2).slots();
        let (a, b) = (slots[0].id.clone(), slots[1].id.clone());
        let via = BTreeMap::from([
            (
                (a.clone(), b.clone(), "p2p".to_owned()),
                HostPort::new("172.30.0.1", 40001),
            ),
            (
                (b.clone(), a.clone(), "p2p".to_owned()),
                HostPort::new("172.30.0.1", 40002),
            ),
        ]);
        let kind: Arc<dyn NodeKind> = Arc::new(Echo);
        let plans = render(&kind, &slots, &Addressing::Proxies(via)).unwrap();
        assert_eq!(
            plans[0].spec.args,
            [
                "--listen=0.0.0.0:9000",
                "--data=/data",
                "--peer=172.30.0.1:40001"
            ]
        );
        assert_eq!(
            plans[0].compose_spec.args,
            [
                "--listen=0.0.0.0:9000",
                "--data=/data",
                "--peer=validator-1:9000"
            ]
        );
        assert_eq!(plans[1].image, "echo:dev");
        assert_eq!(plans[1].slot.role, Role::Validator);
    }

    #[test]
    fn on_the_plane_a_node_listens_where_every_peer_reaches_it() {
        let slots = Topology::new().validators(3).slots();
        let addresses: BTreeMap<NodeId, Ipv4Addr> = slots
            .iter()
            .zip(2u8..)
            .map(|(slot, host)| (slot.id.clone(), Ipv4Addr::new(198, 18, 4, host)))
            .collect();
        let kind: Arc<dyn NodeKind> = Arc::new(Echo);
        let plans = render(&kind, &slots, &Addressing::Plane(addresses)).unwrap();
        assert_eq!(
            plans[1].spec.args,
            [
                "--listen=198.18.4.3:9000",
                "--data=/data",
                "--peer=198.18.4.2:9000",
                "--peer=198.18.4.4:9000"
            ]
        );
        // Every viewer names validator-1 by the address it listens on.
        for plan in [&plans[0], &plans[2]] {
            assert!(
                plan.spec
                    .args
                    .contains(&"--peer=198.18.4.3:9000".to_owned())
            );
        }
        assert!(
            plans[1]
                .compose_spec
                .args
                .contains(&"--peer=validator-0:9000".to_owned())
        );
    }
}
