//! Rendering a scenario for containers, before anything starts: each node
//! listens on its container ports, keeps its data under `/data`, and reaches
//! every peer through the link proxy the runner owns for that directed link.
//! A second rendering, peers by service name, feeds the docker-compose file.

use std::collections::BTreeMap;
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

/// The container-side port key, e.g. `8080/tcp`.
pub(crate) fn port_key(port: &PortSpec) -> String {
    format!("{}/tcp", port.container_port)
}

/// `slot`'s view in a cluster of `slots`: it listens on its container ports
/// on every interface and reaches each peer's port where `reach` says.
fn view(
    slot: &NodeSlot,
    slots: &[NodeSlot],
    ports: &[PortSpec],
    reach: &dyn Fn(&NodeSlot, &PortSpec) -> HostPort,
) -> NodeView {
    let listen = ports
        .iter()
        .map(|port| {
            (
                port.name.clone(),
                HostPort::new("0.0.0.0", port.container_port),
            )
        })
        .collect();
    plan::view(slot, slots, ports, listen, DATA_DIR, reach)
}

/// Render one node of `slots`. `via[(from, to, port)]` is where `from`
/// reaches `to`'s peer port `port` (a link proxy); API ports of peers are
/// given as the peer's service name, since no node talks to another's API
/// through them.
pub(crate) fn render_node(
    kind: &Arc<dyn NodeKind>,
    slot: &NodeSlot,
    slots: &[NodeSlot],
    via: &BTreeMap<(NodeId, NodeId, String), HostPort>,
) -> Result<NodePlan> {
    let ports = kind.ports();
    let by_name =
        |peer: &NodeSlot, port: &PortSpec| HostPort::new(peer.id.as_str(), port.container_port);
    let through_proxy = |peer: &NodeSlot, port: &PortSpec| {
        via.get(&(slot.id.clone(), peer.id.clone(), port.name.clone()))
            .cloned()
            .unwrap_or_else(|| by_name(peer, port))
    };
    let spec = plan::render(kind.as_ref(), &view(slot, slots, &ports, &through_proxy))?;
    let compose_spec = plan::render(kind.as_ref(), &view(slot, slots, &ports, &by_name))?;
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
    via: &BTreeMap<(NodeId, NodeId, String), HostPort>,
) -> Result<Vec<NodePlan>> {
    slots
        .iter()
        .map(|slot| render_node(kind, slot, slots, via))
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
        let plans = render(&kind, &slots, &via).unwrap();
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
}
