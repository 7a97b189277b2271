//! Ctrl-C to the process running a scenario on Docker: it exits by that
//! signal once cleanup ran, and nothing labelled with its run is left in
//! the engine; the failed run keeps its node logs.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use deployer_compose::ComposeDeployer;
use e2e_support::runner_process::{self, Announce, wait_exit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::prelude::*;

use crate::support::{assert_nothing_left, engine_with_image, scenario};

const CHILD_ENV: &str = "TESTBED_TEST_COMPOSE_SIGINT_ROOT";

fn run_child(root: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario("compose-interrupted", 3, 0, 3600, root)
            .workload(Announce)
            .build()
            .unwrap();
        let _ = plan.run(&ComposeDeployer::new()).await;
    });
    unreachable!("the signal ends this process once cleanup is done");
}

#[test]
fn sigint_to_the_runner_removes_every_container_and_volume() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(interrupt_a_runner());
}

async fn interrupt_a_runner() {
    let Some(docker) = engine_with_image("sigint").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let test = "interrupt::sigint_to_the_runner_removes_every_container_and_volume";
    let (mut child, dir) = runner_process::start(test, CHILD_ENV, root.path());
    let run_id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    let running = deployer_compose::leftovers(&docker, &run_id).await.unwrap();
    // On the network plane: a node container and a holder container (its
    // namespace) per node, a volume per node, no Docker network.
    assert_eq!(
        running.len(),
        3 + 3 + 3,
        "3 node containers, 3 holders, 3 volumes: {running:?}"
    );

    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child))
        .await
        .unwrap();

    assert_eq!(
        status.signal(),
        Some(Signal::SIGINT as i32),
        "ended with {status}"
    );
    let report = Report::read(&dir.join("report.json")).unwrap();
    assert_eq!(
        report.failures,
        ["the run was interrupted by SIGINT during execute"]
    );
    assert_nothing_left(&docker, &report).await;
    assert!(
        dir.join("nodes/validator-0/node.log").exists(),
        "logs are kept"
    );
}
