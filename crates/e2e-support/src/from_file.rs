//! demo-node whose settings come from a launch file in its data directory,
//! for the deployers' tests that a launch file reaches the node.

use std::sync::Arc;

use scenario_core::prelude::*;
use scenario_core::{LaunchSpec, NodeEndpoint, NodeView, PortSpec};

use crate::demo_node;

/// demo-node reading `config.json` (these contents) from its data directory.
pub struct FromConfigFile(pub &'static str);

impl NodeKind for FromConfigFile {
    fn name(&self) -> &str {
        "demo-node-from-file"
    }
    fn ports(&self) -> Vec<PortSpec> {
        demo_node().ports()
    }
    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        Ok(demo_node()
            .render(node)?
            .file("config.json", self.0)
            .arg(format!("--config={}/config.json", node.data_dir)))
    }
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        demo_node().client(node)
    }
}
