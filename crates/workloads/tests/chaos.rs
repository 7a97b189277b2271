//! The chaos schedule played on fake nodes, on virtual time: scheduled
//! faults and node actions land on the timeline at their offsets into the
//! window, heals follow them, what is still in effect at the window's end is
//! healed then, and bad schedules fail before any fault.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scenario_core::fake::{FakeDeployer, FakeNodeKind, FakeProbe};
use scenario_core::prelude::*;
use scenario_core::{
    ControlError, DeployEnv, Deployment, Event, EventKind, FaultId, NetworkControl, NetworkFault,
    RunError, ScenarioBuilder, Signal,
};
use workloads::{Chaos, ChaosAction};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A scripted in-process fake of a network plane: it keeps the active faults
/// and refuses link shapes when told to. It exercises the chaos player, never
/// a real backend.
#[derive(Default)]
struct FakeNetwork {
    next: AtomicU64,
    active: Mutex<BTreeMap<FaultId, NetworkFault>>,
    refuse_shapes: bool,
}

impl FakeNetwork {
    fn active(&self) -> BTreeMap<FaultId, NetworkFault> {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl NetworkControl for FakeNetwork {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        if self.refuse_shapes && matches!(fault, NetworkFault::Shape { .. }) {
            return Err(ControlError::ActionFailed {
                action: "shape".to_owned(),
                target: fault.to_string(),
                source: "the fake refuses link shapes".into(),
            });
        }
        let id = FaultId(self.next.fetch_add(1, Ordering::SeqCst));
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        active.insert(id, fault.clone());
        Ok(id)
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        active.remove(&fault);
        Ok(())
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        active.clear();
        Ok(())
    }
}

/// The fake deployer with the fake network plane added.
struct WithNetwork {
    nodes: FakeDeployer,
    network: Arc<FakeNetwork>,
}

impl WithNetwork {
    fn new(network: FakeNetwork) -> Self {
        let capabilities = [
            Capability::StopStart,
            Capability::Kill,
            Capability::Pause,
            Capability::Partition,
            Capability::OneWayCut,
            Capability::LinkLatency,
            Capability::LinkLoss,
        ];
        Self {
            nodes: FakeDeployer::new().capabilities(capabilities.into_iter().collect()),
            network: Arc::new(network),
        }
    }
}

#[async_trait]
impl Deployer for WithNetwork {
    fn name(&self) -> &str {
        "fake-with-network"
    }

    fn capabilities(&self) -> Capabilities {
        Deployer::capabilities(&self.nodes)
    }

    async fn deploy(&self, scenario: &Scenario, env: &DeployEnv) -> Result<Deployment, BoxError> {
        let mut deployment = self.nodes.deploy(scenario, env).await?;
        deployment.network_control = Some(Arc::clone(&self.network) as Arc<dyn NetworkControl>);
        Ok(deployment)
    }
}

fn plan(root: &tempfile::TempDir, window: Duration) -> ScenarioBuilder {
    Scenario::builder("chaos")
        .topology(Topology::new().validators(4))
        .node_kind(FakeNodeKind)
        .window(window)
        .seed(1)
        .artifacts_root(root.path())
}

async fn run(plan: ScenarioBuilder, deployer: &WithNetwork) -> Report {
    plan.build().unwrap().run(deployer).await.unwrap()
}

/// Each event of `kind` recorded once the window opened, with its
/// milliseconds into the window.
fn into_window(report: &Report, kind: EventKind) -> Vec<(u64, Event)> {
    let opening = report
        .events
        .iter()
        .position(|e| e.kind == EventKind::PhaseStarted && e.detail == "execute")
        .expect("the execute phase started");
    let opened = report.events[opening].at_ms;
    report.events[opening..]
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.at_ms - opened, e.clone()))
        .collect()
}

fn halves() -> ChaosAction {
    ChaosAction::partition([
        ["validator-0", "validator-1"],
        ["validator-2", "validator-3"],
    ])
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_partition_is_applied_and_healed_on_the_timeline_at_its_offsets() {
    let root = tempfile::tempdir().unwrap();
    let deployer = WithNetwork::new(FakeNetwork::default());
    let chaos = Chaos::new().at(secs(5), halves()).heal_after(secs(10));
    let report = run(plan(&root, secs(20)).workload(chaos), &deployer).await;
    assert!(report.passed, "{report}");

    let applied = into_window(&report, EventKind::FaultApplied);
    let healed = into_window(&report, EventKind::FaultHealed);
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(healed.len(), 1, "{healed:?}");
    let (applied_ms, applied) = &applied[0];
    let (healed_ms, healed) = &healed[0];
    assert_eq!(*applied_ms, 5_000);
    assert_eq!(*healed_ms, 15_000);
    let ChaosAction::Network(split) = halves() else {
        unreachable!()
    };
    assert_eq!(applied.fault.as_ref(), Some(&split));
    assert_eq!(
        healed.fault_id, applied.fault_id,
        "the heal pairs with the fault"
    );
    assert!(deployer.network.active().is_empty());

    let stats = &report.workload("chaos").unwrap().stats;
    assert_eq!((stats.submitted, stats.accepted, stats.failed), (2, 2, 0));
    assert_eq!(stats.extra["healed"], 1);
    assert_eq!(
        (&stats.extra["planned"], &stats.extra["done"]),
        (&1.into(), &1.into())
    );
    let actions = stats.extra["actions"].as_array().unwrap();
    assert_eq!(actions[0]["into_window_ms"], 5_000);
    assert_eq!(
        actions[0]["action"],
        "fault #0: partition validator-0,validator-1 | validator-2,validator-3"
    );
    assert_eq!(actions[1]["into_window_ms"], 15_000);
    assert_eq!(actions[1]["heal"], true);
}

#[tokio::test(start_paused = true)]
async fn a_fault_still_in_effect_when_the_window_closes_is_healed_then() {
    let root = tempfile::tempdir().unwrap();
    let deployer = WithNetwork::new(FakeNetwork::default());
    let chaos = Chaos::new()
        .at(secs(15), ChaosAction::cut("validator-0", "validator-1"))
        .heal_after(secs(60));
    let report = run(plan(&root, secs(20)).workload(chaos), &deployer).await;
    assert!(report.passed, "{report}");
    let offsets = |kind| {
        into_window(&report, kind)
            .into_iter()
            .map(|(ms, _)| ms)
            .collect::<Vec<_>>()
    };
    assert_eq!(offsets(EventKind::FaultApplied), [15_000]);
    assert_eq!(offsets(EventKind::FaultHealed), [20_000]);
    assert!(deployer.network.active().is_empty());
}

#[tokio::test(start_paused = true)]
async fn scheduled_node_actions_and_their_undo_land_on_the_timeline_and_in_the_stats() {
    let root = tempfile::tempdir().unwrap();
    let deployer = WithNetwork::new(FakeNetwork::default());
    let probe: FakeProbe = deployer.nodes.probe();
    let chaos = Chaos::new()
        .at(secs(2), ChaosAction::stop("validator-1"))
        .heal_after(secs(3))
        .at(secs(4), ChaosAction::kill("validator-2", Signal::Kill))
        .at(secs(6), ChaosAction::pause("validator-0"))
        .heal_after(secs(1))
        .at(secs(8), ChaosAction::restart("validator-3"));
    let report = run(plan(&root, secs(10)).workload(chaos), &deployer).await;
    assert!(report.passed, "{report}");

    assert_eq!(
        probe.actions(),
        [
            "stop validator-1",
            "kill(SIGKILL) validator-2",
            "start validator-1",
            "pause validator-0",
            "resume validator-0",
            "stop validator-3",
            "start validator-3",
        ]
    );
    let seen = |kind| -> Vec<(u64, String)> {
        into_window(&report, kind)
            .into_iter()
            .map(|(ms, e)| (ms, e.node.unwrap().to_string()))
            .collect()
    };
    let at = |ms, node: &str| (ms, node.to_owned());
    assert_eq!(seen(EventKind::NodeStopped), [at(2_000, "validator-1")]);
    assert_eq!(seen(EventKind::NodeStarted), [at(5_000, "validator-1")]);
    assert_eq!(seen(EventKind::NodeKilled), [at(4_000, "validator-2")]);
    assert_eq!(seen(EventKind::NodePaused), [at(6_000, "validator-0")]);
    assert_eq!(seen(EventKind::NodeResumed), [at(7_000, "validator-0")]);
    assert_eq!(seen(EventKind::NodeRestarted), [at(8_000, "validator-3")]);

    let stats = &report.workload("chaos").unwrap().stats;
    assert_eq!((stats.submitted, stats.accepted, stats.failed), (6, 6, 0));
    assert_eq!(stats.extra["healed"], 2);
    let actions: Vec<&str> = stats.extra["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "stop validator-1",
            "kill with SIGKILL validator-2",
            "start validator-1 (undoing stop)",
            "pause validator-0",
            "resume validator-0 (undoing pause)",
            "restart validator-3",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_fault_fails_the_workload_and_heals_what_it_had_applied() {
    let root = tempfile::tempdir().unwrap();
    let deployer = WithNetwork::new(FakeNetwork {
        refuse_shapes: true,
        ..FakeNetwork::default()
    });
    let slow = scenario_core::LinkShape {
        latency: Duration::from_millis(100),
        ..Default::default()
    };
    let chaos = Chaos::new()
        .at(secs(1), halves())
        .heal_after(secs(100))
        .at(
            secs(2),
            ChaosAction::shape("validator-0", "validator-2", slow),
        )
        .at(secs(3), ChaosAction::restart("validator-0"));
    let report = run(plan(&root, secs(10)).workload(chaos), &deployer).await;

    assert!(!report.passed);
    let record = report.workload("chaos").unwrap();
    let error = record.error.as_deref().unwrap();
    assert!(
        error.contains("could not shape validator-0 -> validator-2")
            && error.contains("the fake refuses link shapes"),
        "{error}"
    );
    let healed: Vec<u64> = into_window(&report, EventKind::FaultHealed)
        .into_iter()
        .map(|(ms, _)| ms)
        .collect();
    assert_eq!(healed, [2_000], "healed as soon as the schedule stopped");
    assert!(into_window(&report, EventKind::NodeRestarted).is_empty());
    assert!(into_window(&report, EventKind::FaultFailed).len() == 1);
    let stats = &record.stats;
    assert_eq!((stats.submitted, stats.accepted, stats.failed), (3, 2, 1));
}

#[test]
fn a_fault_scheduled_after_the_window_rejects_the_plan_at_build() {
    let root = tempfile::tempdir().unwrap();
    let chaos = Chaos::new()
        .at(secs(2), halves())
        .heal_after(secs(1))
        .at(secs(30), ChaosAction::cut("validator-0", "validator-1"))
        .at(secs(3), ChaosAction::stop("validator-9"));
    let error = plan(&root, secs(20))
        .workload(chaos)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "workload \"chaos\" cannot run in this plan: chaos workload \"chaos\" has an invalid schedule: \
             \"cut validator-0 -> validator-1\" is scheduled 30s into the window, but the window \
             is only 20s long, so it would never happen"
        ),
        "{error}"
    );
    assert!(error.contains("validator-9"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_deployer_without_one_way_cuts_is_rejected_before_anything_starts() {
    let root = tempfile::tempdir().unwrap();
    let deployer = FakeDeployer::new();
    let chaos = Chaos::new().at(secs(1), ChaosAction::cut("validator-0", "validator-1"));
    let error = plan(&root, secs(5))
        .workload(chaos)
        .build()
        .unwrap()
        .run(&deployer)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RunError::CapabilitiesMissing { missing, .. } if missing == &[Capability::OneWayCut]),
        "{error}"
    );
    assert_eq!(deployer.probe().deploy_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn two_chaos_workloads_named_apart_both_run_and_report_separately() {
    let root = tempfile::tempdir().unwrap();
    let deployer = WithNetwork::new(FakeNetwork::default());
    let nodes = Chaos::new().at(secs(1), ChaosAction::restart("validator-0"));
    let network = Chaos::new()
        .named("network-chaos")
        .at(secs(2), halves())
        .heal_after(secs(1));
    let report = run(
        plan(&root, secs(5)).workload(nodes).workload(network),
        &deployer,
    )
    .await;
    assert!(report.passed, "{report}");
    let submitted = |name| report.workload(name).unwrap().stats.submitted;
    assert_eq!(submitted("chaos"), 1);
    assert_eq!(submitted("network-chaos"), 2);
}

#[test]
fn two_chaos_workloads_with_one_name_are_rejected_when_the_scenario_is_built() {
    let root = tempfile::tempdir().unwrap();
    let first = Chaos::new().at(secs(1), ChaosAction::restart("validator-0"));
    let error = plan(&root, secs(5))
        .workload(first.clone())
        .workload(first)
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("2 workloads are named \"chaos\"; give each a distinct name"),
        "{message}"
    );
}
