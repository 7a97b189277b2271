//! Rendering a node's launch, the same on every backend: its view of the
//! cluster (where it listens, its data directory, every peer as it reaches
//! it), the node kind's render with the topology's overrides applied, and
//! the checks every launch must pass before anything starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use scenario_core::{
    BoxError, HostPort, LaunchProblem, LaunchSpec, NodeClient, NodeEndpoint, NodeId, NodeKind,
    NodeSlot, NodeView, PeerView, PortSpec,
};

/// Why a node's launch could not be planned, or its client not built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The node kind's `render` returned an error.
    #[error("could not render the launch of {node}: {source}")]
    RenderFailed {
        /// The node.
        node: NodeId,
        /// The node kind's error.
        #[source]
        source: BoxError,
    },
    /// The rendered launch cannot work on any backend, or not on this one.
    #[error("the launch of {node} is unusable: {problem}; nothing was started")]
    LaunchUnusable {
        /// The node.
        node: NodeId,
        /// What is wrong with it.
        #[source]
        problem: LaunchProblem,
    },
    /// The node kind's `client` returned an error for a running node.
    #[error("could not build a client for {node}: {source}")]
    ClientFailed {
        /// The node.
        node: NodeId,
        /// The node kind's error.
        #[source]
        source: BoxError,
    },
}

/// `slot`'s view of a cluster whose nodes are `members` (it may be one of
/// them): it listens at `listen`, keeps its data at `data_dir`, and reaches
/// each other member's port where `reach(peer, port)` says.
pub fn view(
    slot: &NodeSlot,
    members: &[NodeSlot],
    ports: &[PortSpec],
    listen: BTreeMap<String, HostPort>,
    data_dir: impl Into<String>,
    reach: impl Fn(&NodeSlot, &PortSpec) -> HostPort,
) -> NodeView {
    NodeView {
        slot: slot.clone(),
        listen,
        data_dir: data_dir.into(),
        peers: members
            .iter()
            .filter(|peer| peer.id != slot.id)
            .map(|peer| PeerView {
                id: peer.id.clone(),
                role: peer.role.clone(),
                addresses: ports
                    .iter()
                    .map(|port| (port.name.clone(), reach(peer, port)))
                    .collect(),
            })
            .collect(),
    }
}

/// The launch of the node `view` is about: the node kind's render, the
/// node's overrides applied, checked with [`LaunchSpec::check`].
pub fn render(kind: &dyn NodeKind, view: &NodeView) -> Result<LaunchSpec, PlanError> {
    let node = view.id();
    let spec = kind
        .render(view)
        .map_err(|source| PlanError::RenderFailed {
            node: node.clone(),
            source,
        })?
        .with_override(&view.slot.overrides);
    spec.check(&kind.ports())
        .map_err(|problem| unusable(node, problem))?;
    Ok(spec)
}

/// A [`PlanError::LaunchUnusable`] for `node`.
pub fn unusable(node: &NodeId, problem: LaunchProblem) -> PlanError {
    PlanError::LaunchUnusable {
        node: node.clone(),
        problem,
    }
}

/// A client for one running node, reached at `addresses` (per port name).
pub fn client(
    kind: &dyn NodeKind,
    slot: &NodeSlot,
    addresses: BTreeMap<String, HostPort>,
) -> Result<Arc<dyn NodeClient>, PlanError> {
    let endpoint = NodeEndpoint {
        id: slot.id.clone(),
        role: slot.role.clone(),
        addresses,
    };
    kind.client(&endpoint)
        .map_err(|source| PlanError::ClientFailed {
            node: slot.id.clone(),
            source,
        })
}

/// The error a join returns when adding `node` failed: the deployer's own
/// typed error, kept as the source (not flattened to text).
pub fn join_failed(
    node: &NodeId,
    source: impl std::error::Error + Send + Sync + 'static,
) -> scenario_core::ControlError {
    scenario_core::ControlError::ActionFailed {
        action: "add".to_owned(),
        target: node.to_string(),
        source: Box::new(source),
    }
}

/// A client for every node of `nodes`, reached where `addresses` says.
pub fn clients<'a>(
    kind: &dyn NodeKind,
    nodes: impl IntoIterator<Item = (&'a NodeSlot, BTreeMap<String, HostPort>)>,
) -> Result<BTreeMap<NodeId, Arc<dyn NodeClient>>, PlanError> {
    nodes
        .into_iter()
        .map(|(slot, addresses)| Ok((slot.id.clone(), client(kind, slot, addresses)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario_core::{Readiness, Topology};

    struct Echo;

    impl NodeKind for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn ports(&self) -> Vec<PortSpec> {
            vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
        }
        fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
            let mut spec = LaunchSpec::program("/bin/echo").arg(node.listen("p2p")?.to_string());
            for peer in &node.peers {
                spec = spec.arg(peer.address("p2p")?.to_string());
            }
            if node.id().as_str() == "validator-1" {
                spec = spec.file("../outside", "x");
            }
            if node.id().as_str() == "validator-2" {
                spec = spec.readiness(Readiness::tcp("rpc"));
            }
            Ok(spec)
        }
        fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
            Err(format!("no client for {}", node.id).into())
        }
    }

    fn plan(index: usize) -> Result<LaunchSpec, PlanError> {
        let members = Topology::new()
            .validators(3)
            .override_node(
                "validator-0",
                scenario_core::NodeOverride::new().arg("--extra"),
            )
            .slots();
        let slot = &members[index];
        let listen = BTreeMap::from([
            ("api".to_owned(), HostPort::new("10.0.0.1", 1)),
            ("p2p".to_owned(), HostPort::new("10.0.0.1", 2)),
        ]);
        let view = view(
            slot,
            &members,
            &Echo.ports(),
            listen,
            "/data",
            |peer, port| HostPort::new(peer.id.as_str(), port.container_port),
        );
        render(&Echo, &view)
    }

    #[test]
    fn a_view_lists_every_other_member_as_reached_and_overrides_apply() {
        let spec = plan(0).unwrap();
        assert_eq!(
            spec.args,
            [
                "10.0.0.1:2",
                "validator-1:9000",
                "validator-2:9000",
                "--extra"
            ]
        );
    }

    #[test]
    fn a_launch_file_outside_the_data_dir_or_an_undeclared_probe_port_is_refused() {
        let escaping = plan(1).unwrap_err().to_string();
        assert_eq!(
            escaping,
            "the launch of validator-1 is unusable: launch file \"../outside\" must be a relative path inside the data directory; nothing was started"
        );
        let probe = plan(2).unwrap_err().to_string();
        assert!(probe.contains("port 'rpc'"), "{probe}");
    }

    #[test]
    fn a_client_failure_is_not_a_render_failure() {
        let slot = &Topology::new().validators(1).slots()[0];
        let error = client(&Echo, slot, BTreeMap::new()).err().unwrap();
        assert!(matches!(error, PlanError::ClientFailed { .. }));
        assert_eq!(
            error.to_string(),
            "could not build a client for validator-0: no client for validator-0"
        );
    }
}
