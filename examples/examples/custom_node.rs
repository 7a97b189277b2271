//! A node integration written the way a downstream team writes one: a
//! `NodeKind` that says how to launch the node and how to reach it. The node
//! here is the demo-node binary, launched by hand-written flags rather than
//! through `demo_node::DemoNode`; since it serves testbed's node testing API,
//! the facade's `testbed::http` client is its client and no adapter is needed.
//! `cargo build -p demo-node && cargo run -p examples --example custom_node`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use testbed::expectations::{Agreement, Liveness};
use testbed::http::NodeHttpClient;
use testbed::local::LocalDeployer;
use testbed::prelude::*;

/// Our node: where its binary is.
struct MyChain {
    binary: PathBuf,
}

impl NodeKind for MyChain {
    fn name(&self) -> &str {
        "my-chain"
    }

    fn ports(&self) -> Vec<PortSpec> {
        vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
    }

    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        let mut launch = LaunchSpec::program(&self.binary)
            .arg(format!("--node-id={}", node.id()))
            .arg(format!("--role={}", node.role()))
            .arg(format!("--api-listen={}", node.listen("api")?))
            .arg(format!("--p2p-listen={}", node.listen("p2p")?))
            .arg(format!("--data-dir={}", node.data_dir))
            .readiness(Readiness::http("api", "/testing/v1/ready"));
        for peer in &node.peers {
            let address = peer.address("p2p")?;
            launch = launch.arg(format!("--peer={}={}@{address}", peer.id, peer.role));
        }
        Ok(launch)
    }

    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        NodeHttpClient::for_node(node, "api")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = demo_node::DemoNode::locate()?.program().to_path_buf();
    let report = Scenario::builder("custom-node")
        .topology(Topology::new().validators(3).executors(1))
        .node_kind(MyChain { binary })
        .window(Duration::from_secs(10))
        .expectation(Liveness::new(5, Duration::from_secs(5)))
        .expectation(Agreement)
        .build()?
        .run(&LocalDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
