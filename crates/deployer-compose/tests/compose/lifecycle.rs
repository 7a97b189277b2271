//! The container lifecycle around a run: launch files reach the data
//! directory, a container that stops before it is ready is named with its
//! output, one killed behind the framework's back fails the run, a node
//! joins a running network, and reaping removes what dead runners left and
//! nothing else.

use std::collections::HashMap;
use std::time::Duration;

use deployer_compose::ComposeDeployer;
use deployer_compose::bollard::Docker;
use deployer_compose::bollard::models::NetworkCreateRequest;
use deployer_compose::bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptionsBuilder,
};
use deployer_compose::labels::{HOST_LABEL, NODE_LABEL, RUN_LABEL, RUNNER_LABEL, host_name};
use e2e_support::FromConfigFile;
use scenario_core::EventKind;
use scenario_core::prelude::*;

use crate::support::{assert_nothing_left, engine_with_image, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_file_reaches_the_node_and_an_early_exit_is_named_with_its_output() {
    let Some(docker) = engine_with_image("launch file").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-file", 3, 0, 2, root.path())
        .node_kind(FromConfigFile(r#"{"mempool_limit": 0}"#))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    // Every node reads the same file: each is named.
    assert!(
        failure.starts_with("deploy on compose failed: 3 nodes did not become ready:"),
        "{failure}"
    );
    for node in ["validator-0", "validator-1", "validator-2"] {
        assert!(
            failure.contains(&format!("- {node} stopped (exit code 2)")),
            "{failure}"
        );
    }
    assert!(
        failure.contains("stopped (exit code 2) before it was ready"),
        "{failure}"
    );
    // Only the file sets the limit: the node read it from /data.
    assert!(
        failure.contains("--mempool-limit must be between"),
        "{failure}"
    );
    assert_nothing_left(&docker, &report).await;
}

/// Kills one node's container through the engine, not through the
/// framework, as a crash would.
struct CrashBehindTheBack(&'static str);

#[async_trait]
impl Workload for CrashBehindTheBack {
    fn name(&self) -> &str {
        "crash"
    }
    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let docker = deployer_compose::connect(None).await?;
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{RUN_LABEL}={}", ctx.run_id()),
                format!("{NODE_LABEL}={}", self.0),
            ],
        )]);
        let found = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        let id = found
            .first()
            .and_then(|c| c.id.clone())
            .ok_or("no container")?;
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        docker.kill_container(&id, Some(options)).await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_killed_behind_the_frameworks_back_fails_the_run_naming_it() {
    let Some(docker) = engine_with_image("crash").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-crash", 3, 0, 4, root.path())
        .workload(CrashBehindTheBack("validator-2"))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("validator-2 exited on its own (exit code 137)")),
        "{:?}",
        report.failures
    );
    let exited = report
        .events
        .iter()
        .find(|e| e.kind == EventKind::NodeExited)
        .expect("the exit is on the timeline");
    assert_eq!(exited.node.as_ref().unwrap(), "validator-2");
    let log = report.artifacts_dir.join("nodes/validator-2/node.log");
    let text = std::fs::read_to_string(&log).expect("a failed run keeps its logs");
    assert!(text.contains("demo-node ready"), "{text}");
    assert!(!text.contains('\u{1b}'), "no terminal colours in log files");
    assert_nothing_left(&docker, &report).await;
}

async fn labelled_network(docker: &Docker, run: &str, runner: String) {
    let request = NetworkCreateRequest {
        name: format!("tb-{run}"),
        labels: Some(HashMap::from([
            (RUN_LABEL.to_owned(), run.to_owned()),
            (RUNNER_LABEL.to_owned(), runner),
            (HOST_LABEL.to_owned(), host_name()),
        ])),
        ..Default::default()
    };
    docker.create_network(request).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaping_removes_what_dead_runners_left_and_nothing_else() {
    let Some(docker) = engine_with_image("reap").await else {
        return;
    };
    let me = deploykit::ProcessRef::current().unwrap();
    let suffix = me.pid;
    let (dead_run, live_run) = (format!("reap-dead-{suffix}"), format!("reap-live-{suffix}"));
    // The same pid with another start time: a runner that no longer exists.
    let dead = deploykit::ProcessRef {
        started: me.started + 1,
        ..me.clone()
    }
    .to_string();
    labelled_network(&docker, &dead_run, dead.clone()).await;
    labelled_network(&docker, &live_run, me.to_string()).await;

    let reaped = deployer_compose::reap(&docker).await.unwrap();

    // Every compose deploy reaps too, so a test running beside this one may
    // have removed the dead run first; either way it is gone, and the live
    // one is never touched.
    let reaped_here = reaped
        .iter()
        .any(|r| r.run_id == dead_run && r.runner == dead);
    let gone = deployer_compose::leftovers(&docker, &dead_run)
        .await
        .unwrap()
        .is_empty();
    assert!(reaped_here || gone, "{reaped:?}");
    assert!(!reaped.iter().any(|r| r.run_id == live_run), "{reaped:?}");
    let left = deployer_compose::leftovers(&docker, &live_run)
        .await
        .unwrap();
    assert_eq!(left, [format!("network tb-{live_run}")]);
    docker
        .remove_network(&format!("tb-{live_run}"))
        .await
        .unwrap();
    assert!(
        deployer_compose::leftovers(&docker, &dead_run)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_run_sweeps_what_a_dead_runner_left_in_the_engine() {
    let Some(docker) = engine_with_image("sweep").await else {
        return;
    };
    let me = deploykit::ProcessRef::current().unwrap();
    let dead_run = format!("sweep-dead-{}", me.pid);
    let dead = deploykit::ProcessRef {
        started: me.started + 2,
        ..me.clone()
    }
    .to_string();
    labelled_network(&docker, &dead_run, dead).await;

    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-sweep", 1, 0, 1, root.path())
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(
        deployer_compose::leftovers(&docker, &dead_run)
            .await
            .unwrap()
            .is_empty(),
        "the dead run's network was swept"
    );
    assert!(report.passed, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_joins_the_running_network_and_follows_the_chain() {
    let Some(docker) = engine_with_image("join").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-join", 3, 0, 6, root.path())
        .block_feed(blockfeed::Feed::new())
        .workload(e2e_support::JoinExecutor)
        .expectation(e2e_support::JoinedExecutorFollows)
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    e2e_support::assert_executor_joined(&report);
    assert_nothing_left(&docker, &report).await;
}
