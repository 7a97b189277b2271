//! Node and network faults on containers with real effects on demo-node.

use std::time::Duration;

use blockfeed::Feed;
use deployer_compose::ComposeDeployer;
use expectations::{Agreement, Liveness, Recovery};
use scenario_core::{EventKind, Report};
use workloads::{Chaos, Selector};

use e2e_support::height_at;

use crate::support::{assert_nothing_left, engine_with_image, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_containers_are_on_the_timeline_and_catch_up() {
    let Some(docker) = engine_with_image("restart").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-restart", 4, 0, 7, root.path())
        // Back-to-back restarts: each stop is seen while the next start
        // may already be under way, and none may count as a crash.
        .workload(Chaos::new().restarts(
            Duration::from_millis(1200),
            Duration::from_millis(1500),
            Selector::One(scenario_core::NodeId::new("validator-1")),
        ))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(10)))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    let restarts: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.kind == EventKind::NodeRestarted)
        .collect();
    assert!(restarts.len() >= 3, "{} restarts", restarts.len());
    assert!(
        restarts
            .iter()
            .all(|e| e.node.as_ref().unwrap() == "validator-1")
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeExited),
        "a restart is not an unexpected exit"
    );
    assert_nothing_left(&docker, &report).await;
}

/// When the first fault was applied and healed, in ms since the start.
fn fault_window(report: &Report) -> (u64, u64) {
    let at = |kind| {
        report
            .events
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} event"))
            .at_ms
    };
    (at(EventKind::FaultApplied), at(EventKind::FaultHealed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_two_partition_halts_finalization_and_healing_resumes_it() {
    let Some(docker) = engine_with_image("partition").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-split", 4, 0, 12, root.path())
        .block_feed(Feed::new())
        .workload(Chaos::new().partition_at(
            Duration::from_secs(2),
            Duration::from_secs(5),
            Selector::Halves,
        ))
        .expectation(Agreement)
        // Fault-aware: no progress is required while no side has a quorum.
        .expectation(Liveness::new(3, Duration::from_secs(2)).grace(Duration::from_secs(2)))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");
    // On the network plane the switch counts what the partition dropped.
    let effect = report.faults[0].effect.expect("the plane counts packets");
    assert!(effect.dropped_packets > 0, "{effect:?}");

    let (applied, healed) = fault_window(&report);
    // Commits in flight when the partition starts may still land.
    let settled = applied + 1500;
    let nodes = ["validator-0", "validator-1", "validator-2", "validator-3"];
    let halted = nodes
        .iter()
        .map(|n| height_at(&report, n, settled))
        .max()
        .unwrap();
    let at_heal = nodes
        .iter()
        .map(|n| height_at(&report, n, healed))
        .max()
        .unwrap();
    assert_eq!(halted, at_heal, "nothing finalizes without a quorum");
    let end = report
        .heights
        .values()
        .flatten()
        .map(|[ms, _]| *ms)
        .max()
        .unwrap();
    for node in nodes {
        let after = height_at(&report, node, end);
        assert!(
            after >= halted + 5,
            "{node} resumed only to {after} (halted at {halted})"
        );
    }
    assert_nothing_left(&docker, &report).await;
}

/// Pauses one validator, then kills another with SIGKILL and starts it.
struct PauseThenKill;

#[async_trait::async_trait]
impl scenario_core::Workload for PauseThenKill {
    fn name(&self) -> &str {
        "pause-then-kill"
    }
    fn requirements(&self) -> scenario_core::Requirements {
        scenario_core::Requirements::none()
            .capability(scenario_core::Capability::Pause)
            .capability(scenario_core::Capability::Kill)
    }
    async fn run(
        &self,
        ctx: &scenario_core::RunContext,
        _cancel: scenario_core::CancellationToken,
    ) -> Result<(), scenario_core::BoxError> {
        let control = ctx.node_control().ok_or("no node control")?;
        let (paused, killed) = (
            scenario_core::NodeId::new("validator-1"),
            scenario_core::NodeId::new("validator-2"),
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        control.pause(&paused).await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        control.resume(&paused).await?;
        control.kill(&killed, scenario_core::Signal::Kill).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        control.start(&killed).await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_and_a_killed_container_come_back_and_agree() {
    let Some(docker) = engine_with_image("pause and kill").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("compose-pause-kill", 4, 0, 7, root.path())
        .workload(PauseThenKill)
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(10)))
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    let kinds: Vec<EventKind> = report.events.iter().map(|e| e.kind).collect();
    for kind in [
        EventKind::NodePaused,
        EventKind::NodeResumed,
        EventKind::NodeKilled,
    ] {
        assert!(kinds.contains(&kind), "no {kind:?} in {kinds:?}");
    }
    assert!(
        !kinds.contains(&EventKind::NodeExited),
        "a kill by a fault action is not an unexpected exit"
    );
    assert_nothing_left(&docker, &report).await;
}
