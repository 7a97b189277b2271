//! What cannot work is refused clearly and before anything starts: a
//! missing image names the command that builds it; an engine nobody
//! answers at, given to the deployer or in `DOCKER_HOST`, is named.

use deployer_compose::ComposeDeployer;
use scenario_core::{EventKind, NodeOverride, Topology};

use crate::support::{assert_nothing_left, engine_with_image, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_names_the_command_that_builds_it_and_starts_nothing() {
    // The other nodes' image must be there, so that the absent one is the
    // first missing (whichever test runs first).
    let Some(docker) = engine_with_image("missing image").await else {
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
            "deploy on compose failed: image testbed/demo-node:absent (for validator-2) is not in the Docker engine, and testbed never pulls from a registry; build it first: run `cargo xtask image --tag testbed/demo-node:absent`; nothing was started"
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
    let address = nowhere();
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

const CHILD_ENV: &str = "TESTBED_TEST_COMPOSE_NO_ENGINE_ROOT";
const FAILURE: &str = "TESTBED-TEST-FAILURE: ";

/// A port on loopback where nothing listens.
fn nowhere() -> std::net::SocketAddr {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    unused.local_addr().unwrap()
}

#[test]
fn docker_host_pointing_nowhere_is_named_before_anything_starts() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        // In a child process whose DOCKER_HOST points nowhere.
        let report = tokio::runtime::Runtime::new().unwrap().block_on(async {
            scenario("compose-docker-host", 3, 0, 2, std::path::Path::new(&root))
                .build()
                .unwrap()
                .run(&ComposeDeployer::new())
                .await
                .unwrap()
        });
        #[allow(clippy::print_stdout)] // The parent test reads this line.
        {
            println!("{FAILURE}{}", report.failures.join(" | "));
        }
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let host = format!("tcp://{}", nowhere());
    let test = "errors::docker_host_pointing_nowhere_is_named_before_anything_starts";
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture"])
        .env(CHILD_ENV, root.path())
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failure = stdout
        .lines()
        .find_map(|line| line.strip_prefix(FAILURE))
        .unwrap_or_else(|| panic!("the child printed no failure: {stdout}"));
    assert!(
        failure.starts_with(&format!(
            "deploy on compose failed: no Docker engine answers at {host}: "
        )),
        "{failure}"
    );
    assert!(failure.ends_with("point DOCKER_HOST at one)"), "{failure}");
    assert!(
        failure.contains("Connection refused"),
        "says why: {failure}"
    );
}
