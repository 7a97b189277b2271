//! Rendering a scenario for pods, before anything is created: each node
//! keeps its data under `/data`, listens on its container ports on every
//! interface, and reaches each peer by the peer's Service name (its one
//! address, resolved by the cluster's DNS to the peer's current pod, the
//! same name for every viewer).

use std::collections::BTreeMap;
use std::sync::Arc;

use deploykit::plan;
use scenario_core::{HostPort, LaunchSpec, NodeId, NodeKind, NodeSlot, PortSpec};

use crate::error::{Error, Result};
use crate::names;

/// Where a node's data directory is inside its pod.
pub(crate) const DATA_DIR: &str = "/data";

/// One node, rendered and checked, not yet created.
#[derive(Clone, Debug)]
pub(crate) struct NodePlan {
    pub(crate) slot: NodeSlot,
    /// Its StatefulSet's, Service's and ConfigMap's name; its host name.
    pub(crate) name: String,
    pub(crate) spec: LaunchSpec,
    pub(crate) image: String,
}

/// Render `slot` in a cluster of `slots`.
pub(crate) fn render_node(
    kind: &Arc<dyn NodeKind>,
    slot: &NodeSlot,
    slots: &[NodeSlot],
) -> Result<NodePlan> {
    let ports = kind.ports();
    let listen = ports
        .iter()
        .map(|port| {
            (
                port.name.clone(),
                HostPort::new("0.0.0.0", port.container_port),
            )
        })
        .collect();
    let by_service = |peer: &NodeSlot, port: &PortSpec| {
        HostPort::new(names::node_object(&peer.id), port.container_port)
    };
    let view = plan::view(slot, slots, &ports, listen, DATA_DIR, by_service);
    let spec = plan::render(kind.as_ref(), &view)?;
    let image = spec
        .require_image()
        .map_err(|problem| plan::unusable(&slot.id, problem))?
        .to_owned();
    Ok(NodePlan {
        name: names::node_object(&slot.id),
        slot: slot.clone(),
        spec,
        image,
    })
}

/// Render every node of `slots`; two ids that would share an object name
/// are refused.
pub(crate) fn render(kind: &Arc<dyn NodeKind>, slots: &[NodeSlot]) -> Result<Vec<NodePlan>> {
    let plans = slots
        .iter()
        .map(|slot| render_node(kind, slot, slots))
        .collect::<Result<Vec<_>>>()?;
    let mut seen: BTreeMap<&str, &NodeId> = BTreeMap::new();
    for plan in &plans {
        if let Some(first) = seen.insert(&plan.name, &plan.slot.id) {
            return Err(Error::NameClash {
                name: plan.name.clone(),
                first: first.clone(),
                second: plan.slot.id.clone(),
            });
        }
    }
    Ok(plans)
}
