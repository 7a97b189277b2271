//! What cannot work is refused clearly and before anything starts: a
//! missing image names the command that builds it; an engine nobody
//! answers at is named.

use deployer_compose::ComposeDeployer;
use scenario_core::{EventKind, NodeOverride, Topology};

use crate::support::{assert_nothing_left, engine, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_names_the_command_that_builds_it_and_starts_nothing() {
    let Some(docker) = engine("missing image").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let topology = Topology::new().validators(3).override_node(
        "validator-2",
        NodeOverride::new().image("testbed/demo-node:absent"),
    );
    let plan = scenario("compose-missing", 3, 0, 2, root.path())
        .topology(topology)
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        [
            "deploy on compose failed: image testbed/demo-node:absent (for validator-2) is not in the Docker engine, and testbed never pulls from a registry; build it first: run `cargo xtask image`; nothing was started"
        ]
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeStarted)
    );
    assert_nothing_left(&docker, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_is_named_before_anything_starts() {
    let root = tempfile::tempdir().unwrap();
    // A port on loopback where nothing listens.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = unused.local_addr().unwrap();
    drop(unused);
    let plan = scenario("compose-no-engine", 3, 0, 2, root.path())
        .build()
        .unwrap();
    let deployer = ComposeDeployer::new().host(format!("tcp://{address}"));
    let report = plan.run(&deployer).await.unwrap();

    assert!(!report.passed);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert!(
        failure.starts_with(&format!(
            "deploy on compose failed: no Docker engine answers at tcp://{address}: "
        )),
        "{failure}"
    );
    assert!(
        failure.ends_with("nothing was started (start the engine, or point DOCKER_HOST at one)"),
        "{failure}"
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeStarted)
    );
}
