//! A healthy network in containers: blocks finalize, the node logs and the
//! docker-compose file are written, everything is removed, and two runs at
//! once do not collide.

use deployer_compose::{COMPOSE_FILE, ComposeDeployer};
use expectations::{Agreement, Liveness, LogLines};
use std::time::Duration;

use crate::support::{assert_nothing_left, engine_with_image, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_validators_and_an_executor_finalize_in_containers_and_leave_nothing() {
    let Some(docker) = engine_with_image("smoke").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-smoke", 3, 1, 4, root.path())
        .expectation(Liveness::new(5, Duration::from_secs(2)))
        .expectation(Agreement)
        .expectation(LogLines::must_contain("demo-node ready"))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.deployer, "compose");
    assert!(
        report.cleanup.iter().all(|c| c.error.is_none()),
        "{:?}",
        report.cleanup
    );
    let audit = report
        .cleanup
        .iter()
        .find(|c| c.label == "leak audit by label");
    assert!(audit.is_some(), "{:?}", report.cleanup);
    let compose = std::fs::read_to_string(report.artifacts_dir.join(COMPOSE_FILE)).unwrap();
    for node in ["validator-0", "validator-2", "executor-0"] {
        assert!(compose.contains(&format!("  \"{node}\":\n")), "{compose}");
    }
    assert!(
        compose.contains("\"--peer=validator-1=validator@validator-1:9000\""),
        "{compose}"
    );
    compose_tool_accepts(&report.artifacts_dir.join(COMPOSE_FILE));
    assert_nothing_left(&docker, &report).await;
}

/// The docker-compose tool, where installed, accepts the file as valid.
fn compose_tool_accepts(file: &std::path::Path) {
    let checked = std::process::Command::new("docker-compose")
        .arg("-f")
        .arg(file)
        .args(["config", "-q"])
        .output();
    match checked {
        Ok(output) => assert!(
            output.status.success(),
            "docker-compose rejects {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => eprintln!("docker-compose is not installed ({e}); the file was not validated"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scenarios_at_once_both_pass_on_their_own_networks() {
    let Some(docker) = engine_with_image("two at once").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let runs = (0..2).map(|i| {
        let plan = scenario(&format!("compose-pair-{i}"), 3, 0, 3, root.path())
            .expectation(Liveness::new(3, Duration::from_secs(2)))
            .build()
            .unwrap();
        async move { plan.run(&ComposeDeployer::new()).await.unwrap() }
    });
    let reports = futures::future::join_all(runs).await;
    for report in &reports {
        assert!(report.passed, "{report}");
        assert_nothing_left(&docker, report).await;
    }
    assert_ne!(reports[0].run_id, reports[1].run_id);
}
