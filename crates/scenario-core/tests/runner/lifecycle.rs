//! A run that goes well: phases in order, capture before workloads, the
//! window cancelling workloads, the report and the seed.

use std::time::Duration;

use scenario_core::fake::FakeDeployer;
use scenario_core::prelude::*;
use scenario_core::report::{Phase, PhaseStatus, REPORT_FILE};
use scenario_core::{EventKind, NodeCause, RunError};

use crate::support::{
    Judgement, Log, Script, ScriptedExpectation, ScriptedWorkload, run, scenario,
};

#[tokio::test(start_paused = true)]
async fn phases_run_in_order_and_each_is_timed() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(3, dir.path())
        .workload(ScriptedWorkload::new("load", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new(
            "sees-nodes",
            &log,
            Judgement::Pass,
        ));
    let report = run(plan, &FakeDeployer::new()).await;

    assert!(report.passed, "{report}");
    let names: Vec<Phase> = report.phases.iter().map(|p| p.name).collect();
    assert_eq!(names, Phase::ALL);
    assert!(
        report
            .phases
            .iter()
            .all(|p| p.status == PhaseStatus::Completed)
    );
    let started: Vec<&str> = report
        .events
        .iter()
        .filter(|e| e.kind == EventKind::PhaseStarted)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        started,
        ["deploy", "capture", "execute", "evaluate", "cleanup"]
    );
    let execute = report.phase(Phase::Execute).unwrap();
    assert!(
        execute.duration_ms >= 60_000,
        "execute lasted {} ms",
        execute.duration_ms
    );
}

#[tokio::test(start_paused = true)]
async fn expectations_capture_before_any_workload_starts_and_judge_after_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(2, dir.path())
        .workload(ScriptedWorkload::new("a", &log, Script::UntilCancelled))
        .workload(ScriptedWorkload::new("b", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new("first", &log, Judgement::Pass))
        .expectation(ScriptedExpectation::new("second", &log, Judgement::Pass));
    let report = run(plan, &FakeDeployer::new()).await;

    assert!(report.passed, "{report}");
    let last_capture = log.position("capture:second");
    for workload in ["a", "b"] {
        assert!(last_capture < log.position(&format!("init:{workload}")));
        assert!(last_capture < log.position(&format!("run:{workload}")));
        assert!(log.position(&format!("cancelled:{workload}")) < log.position("evaluate:first"));
    }
    assert!(log.position("evaluate:first") < log.position("evaluate:second"));
}

#[tokio::test(start_paused = true)]
async fn the_window_end_cancels_workloads_and_their_stats_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(1, dir.path())
        .window(Duration::from_secs(5))
        .workload(ScriptedWorkload::new("load", &log, Script::UntilCancelled));
    let report = run(plan, &FakeDeployer::new()).await;

    assert!(report.passed, "{report}");
    assert!(log.entries().contains(&"cancelled:load".to_owned()));
    let load = report.workload("load").unwrap();
    assert_eq!(load.error, None);
    assert_eq!(
        (load.stats.submitted, load.stats.accepted, load.stats.failed),
        (3, 2, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn report_json_is_written_with_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(2, dir.path())
        .workload(ScriptedWorkload::new("load", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new(
            "sees-nodes",
            &log,
            Judgement::Pass,
        ));
    let report = run(plan, &FakeDeployer::new()).await;

    let path = report.artifacts_dir.join(REPORT_FILE);
    assert_eq!(path.parent().unwrap().parent().unwrap(), dir.path());
    assert!(
        report.run_id.starts_with("runner-test-"),
        "{}",
        report.run_id
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["passed"], true);
    assert_eq!(json["scenario"], "runner-test");
    assert_eq!(json["deployer"], "fake");
    assert_eq!(json["run_id"], report.run_id.as_str());
    assert_eq!(json["seed"], 7);
    assert_eq!(json["phases"][0]["name"], "build");
    assert!(json["phases"][3]["duration_ms"].as_u64().unwrap() >= 60_000);
    assert_eq!(json["nodes"][1]["id"], "validator-1");
    assert_eq!(json["nodes"][1]["role"], "validator");
    assert_eq!(json["expectations"][0]["name"], "sees-nodes");
    assert_eq!(json["expectations"][0]["passed"], true);
    assert_eq!(json["expectations"][0]["message"], "2 nodes seen");
    assert_eq!(json["expectations"][0]["figures"]["nodes"], 2.0);
    assert_eq!(json["workloads"][0]["name"], "load");
    assert_eq!(json["workloads"][0]["stats"]["submitted"], 3);
    let node_started = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "node_started")
        .expect("a node_started event");
    assert_eq!(node_started["node"], "validator-0");
    assert!(node_started["at_ms"].is_u64());
    assert!(node_started["detail"].is_string());
    assert_eq!(Report::read(&path).unwrap(), report);

    let junit = std::fs::read_to_string(report.artifacts_dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"runner-test\" tests=\"2\" failures=\"0\""),
        "{junit}"
    );
    assert!(
        junit.contains("<testcase classname=\"runner-test\" name=\"sees-nodes\"/>"),
        "{junit}"
    );
    let html = std::fs::read_to_string(report.artifacts_dir.join("report.html")).unwrap();
    assert!(
        html.contains("<td>sees-nodes</td>\n<td class=\"pass\">pass</td>\n<td>2 nodes seen</td>")
    );
    // Self-contained: no script, nothing loaded; the only URLs are SVG namespaces.
    assert!(!html.contains("<script") && !html.contains("src="));
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
}

/// Draws three numbers from the run's seeded generator into the log.
struct Draws(Log);

#[async_trait]
impl Workload for Draws {
    fn name(&self) -> &str {
        "draws"
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        use rand::Rng;
        let mut rng = ctx.rng(self.name());
        for _ in 0..3 {
            self.0.push(rng.random::<u64>().to_string());
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_workloads_the_same_random_choices() {
    let dir = tempfile::tempdir().unwrap();
    let mut draws = Vec::new();
    for seed in [11, 11, 12] {
        let log = Log::default();
        let plan = scenario(1, dir.path())
            .seed(seed)
            .workload(Draws(log.clone()));
        let report = run(plan, &FakeDeployer::new()).await;
        assert_eq!(report.seed, seed);
        assert!(report.replay.starts_with(&format!("TESTBED_SEED={seed} ")));
        draws.push(log.entries());
    }
    assert_eq!(draws[0], draws[1]);
    assert_ne!(draws[0], draws[2]);
}

#[tokio::test(start_paused = true)]
async fn a_scenario_without_a_seed_draws_one_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = Scenario::builder("unseeded")
        .topology(Topology::new().validators(1))
        .node_kind(scenario_core::fake::FakeNodeKind)
        .window(Duration::from_secs(1))
        .artifacts_root(dir.path())
        .build()
        .unwrap();
    let seed = plan.seed();
    let report = plan.run(&FakeDeployer::new()).await.unwrap();
    assert_eq!(report.seed, seed);
}

#[tokio::test(start_paused = true)]
async fn a_deployer_lacking_a_capability_is_rejected_before_any_node_starts() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let mut partitions = ScriptedWorkload::new("partitions", &log, Script::UntilCancelled);
    partitions.needs = Requirements::none().capability(Capability::Partition);
    let deployer = FakeDeployer::new();
    let error = scenario(2, dir.path())
        .workload(partitions)
        .build()
        .unwrap()
        .run(&deployer)
        .await
        .unwrap_err();

    assert!(matches!(error, RunError::CapabilitiesMissing { .. }));
    assert_eq!(
        error.to_string(),
        "scenario 'runner-test' cannot run on the fake deployer: it needs network partitions, which this deployer does not support"
    );
    assert_eq!(deployer.probe().deploy_calls(), 0);
    assert!(deployer.probe().started().is_empty());
}

#[tokio::test(start_paused = true)]
async fn node_control_actions_land_on_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(2, dir.path()).workload(ScriptedWorkload::new(
        "chaos",
        &log,
        Script::Restart("validator-1"),
    ));
    let report = run(plan, &deployer).await;

    assert!(report.passed, "{report}");
    assert_eq!(
        deployer.probe().actions(),
        ["stop validator-1", "start validator-1"]
    );
    let restart = report
        .events
        .iter()
        .find(|e| e.kind == EventKind::NodeRestarted)
        .expect("a node_restarted event");
    assert_eq!(restart.node.as_ref().unwrap(), "validator-1");
    assert_eq!(restart.cause, Some(NodeCause::Restart));
}

#[tokio::test(start_paused = true)]
async fn a_node_joined_during_the_run_is_listed_with_the_topology_and_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new().capabilities(
        Capabilities::none()
            .with(Capability::StopStart)
            .with(Capability::DynamicJoin),
    );
    let plan = scenario(2, dir.path())
        .workload(ScriptedWorkload::new(
            "grow",
            &log,
            Script::Join("executor"),
        ))
        .expectation(ScriptedExpectation::new(
            "sees-nodes",
            &log,
            Judgement::Pass,
        ));
    let report = run(plan, &deployer).await;

    assert!(report.passed, "{report}");
    assert!(log.entries().contains(&"joined:executor-0".to_owned()));
    let nodes: Vec<(&str, &str, Option<u64>)> = report
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.role.as_str(), n.joined_at_ms))
        .collect();
    let joined_at = report
        .events
        .iter()
        .find(|e| e.kind == EventKind::NodeJoined)
        .map(|e| e.at_ms);
    assert_eq!(
        nodes,
        [
            ("validator-0", "validator", None),
            ("validator-1", "validator", None),
            ("executor-0", "executor", joined_at),
        ]
    );
    assert_eq!(
        report.expectation("sees-nodes").unwrap().message,
        "3 nodes seen"
    );
    assert_eq!(
        deployer.probe().actions(),
        ["stop executor-0", "start executor-0"]
    );
    assert_eq!(
        deployer.probe().cleanups().len(),
        3,
        "the joined node is cleaned up too"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    assert_eq!(json["nodes"][2]["id"], "executor-0");
    assert_eq!(json["nodes"][2]["joined_at_ms"], joined_at.unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_report_records_the_window_cooldown_and_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let plan = scenario(1, dir.path())
        .window(Duration::from_secs(5))
        .cooldown(Duration::from_secs(2))
        .deadline(Duration::from_secs(90));
    let report = run(plan, &FakeDeployer::new()).await;

    assert_eq!(
        (report.window_ms, report.cooldown_ms, report.deadline_ms),
        (5_000, 2_000, 90_000)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    assert_eq!(json["window_ms"], 5_000);
    assert_eq!(json["cooldown_ms"], 2_000);
    assert_eq!(json["deadline_ms"], 90_000);
}

#[tokio::test(start_paused = true)]
async fn a_custom_output_gets_the_banners_and_progress_in_order() {
    use scenario_core::output::{Output, OutputEvent};
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let seen: Arc<Mutex<Vec<OutputEvent>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let plan = scenario(2, dir.path())
        .window(Duration::from_secs(5))
        .output(Output::custom(move |event: &OutputEvent| {
            sink.lock().unwrap().push(event.clone());
        }));
    let report = run(plan, &FakeDeployer::new()).await;

    let seen = seen.lock().unwrap();
    let OutputEvent::Started(started) = &seen[0] else {
        panic!("the first event is the start banner: {seen:?}");
    };
    assert_eq!(started.run_id, report.run_id);
    assert_eq!((started.nodes, started.seed), (2, 7));
    assert!(
        seen[0]
            .to_string()
            .starts_with("testbed: running scenario 'runner-test' (2 nodes of fake-node) on fake")
    );
    let progress: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            OutputEvent::Progress(p) => Some(p),
            _ => None,
        })
        .collect();
    assert!(
        progress.len() >= 4,
        "about one update a second: {progress:?}"
    );
    assert!(
        progress
            .iter()
            .all(|p| p.window == Duration::from_secs(5) && p.faults_active == 0)
    );
    let ended = seen
        .iter()
        .position(|e| matches!(e, OutputEvent::ProgressEnded))
        .expect("the progress ends");
    assert!(
        seen[..ended]
            .iter()
            .skip(1)
            .all(|e| matches!(e, OutputEvent::Progress(_)))
    );
    let Some(OutputEvent::Finished(finished)) = seen.last() else {
        panic!("the last event is the report: {seen:?}");
    };
    assert_eq!(**finished, report);
    assert!(
        seen.last()
            .unwrap()
            .to_string()
            .starts_with("testbed: scenario 'runner-test' PASSED")
    );
}
