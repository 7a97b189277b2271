//! The link-proxy fallback on Docker (for runners without root, or an
//! engine on another machine): it still deploys, partitions and heals
//! containers, says that it counts no packets, and refuses node software
//! that needs one address per node before anything starts.

use std::time::Duration;

use deployer_compose::{ComposeDeployer, NetworkMode};
use expectations::{Agreement, Recovery};
use scenario_core::RunError;
use scenario_core::prelude::*;
use workloads::{Chaos, Selector};

use crate::support::{assert_nothing_left, demo_node, engine_with_image, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_proxy_fallback_still_partitions_containers_but_counts_nothing() {
    let Some(docker) = engine_with_image("fallback").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-proxies", 3, 0, 6, root.path())
        .workload(Chaos::new().partition_at(
            Duration::from_secs(1),
            Duration::from_secs(2),
            Selector::One(NodeId::new("validator-0")),
        ))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(10)))
        .build()
        .unwrap();
    let deployer = ComposeDeployer::new().network(NetworkMode::LinkProxies);
    let report = plan.run(&deployer).await.unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.faults.len(), 1);
    assert_eq!(report.faults[0].effect, None, "proxies count no packets");
    assert_nothing_left(&docker, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_refuses_software_that_needs_one_address_before_anything_starts() {
    let Some(_docker) = engine_with_image("fallback refuses").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-needs", 2, 0, 2, root.path())
        .node_kind(demo_node().strict_membership())
        .build()
        .unwrap();
    let deployer = ComposeDeployer::new().network(NetworkMode::LinkProxies);
    let error = plan.run(&deployer).await.unwrap_err();
    assert!(
        matches!(&error, RunError::CapabilitiesMissing { missing, .. } if missing == &[Capability::OneAddressPerNode]),
        "{error}"
    );
    assert!(
        std::fs::read_dir(root.path()).unwrap().next().is_none(),
        "nothing was started or written"
    );
}
