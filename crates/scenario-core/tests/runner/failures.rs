//! Runs that go wrong: failing and panicking workloads and expectations, a
//! deploy that fails half-way, the deadline, a dropped run. Cleanup runs
//! exactly once in every case.

use std::time::Duration;

use scenario_core::fake::{FakeDeployer, FakeFault};
use scenario_core::prelude::*;
use scenario_core::report::{Phase, PhaseStatus};

use crate::support::{
    Judgement, Log, Script, ScriptedExpectation, ScriptedWorkload, assert_each_cleaned_once, run,
    scenario,
};

#[tokio::test(start_paused = true)]
async fn a_panicking_workload_fails_the_run_with_its_message_and_cleanup_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(2, dir.path())
        .workload(ScriptedWorkload::new(
            "bad",
            &log,
            Script::Panic("overflow in sender 3"),
        ))
        .workload(ScriptedWorkload::new("good", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new("check", &log, Judgement::Pass));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["workload 'bad' panicked: overflow in sender 3"]
    );
    assert_eq!(
        report.workload("bad").unwrap().error.as_deref(),
        Some("panicked: overflow in sender 3")
    );
    assert!(
        log.entries().contains(&"cancelled:good".to_owned()),
        "the other workload ran to the window end"
    );
    assert!(
        report.expectation("check").unwrap().passed,
        "expectations are still evaluated"
    );
    assert_eq!(
        report.phase(Phase::Execute).unwrap().status,
        PhaseStatus::Failed
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_workload_fails_the_run_without_stopping_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(1, dir.path())
        .workload(ScriptedWorkload::new(
            "bad",
            &log,
            Script::Fail("node refused tx: nonce too low"),
        ))
        .workload(ScriptedWorkload::new("good", &log, Script::UntilCancelled));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["workload 'bad' failed: node refused tx: nonce too low"]
    );
    assert!(log.entries().contains(&"cancelled:good".to_owned()));
    assert_each_cleaned_once(&deployer, &["validator-0"]);
}

#[tokio::test(start_paused = true)]
async fn a_workload_that_ignores_cancellation_is_aborted_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(1, dir.path())
        .workload_stop_grace(Duration::from_secs(2))
        .workload(ScriptedWorkload::new(
            "stubborn",
            &log,
            Script::IgnoreCancel,
        ));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["workload 'stubborn' did not stop within 2s after the window closed and was aborted"]
    );
    assert_each_cleaned_once(&deployer, &["validator-0"]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_expectation_fails_with_its_message_and_the_others_are_still_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(2, dir.path())
        .expectation(ScriptedExpectation::new(
            "before",
            &log,
            Judgement::Fail("height stuck at 4"),
        ))
        .expectation(ScriptedExpectation::new(
            "panics",
            &log,
            Judgement::Panic("index out of range"),
        ))
        .expectation(ScriptedExpectation::new("after", &log, Judgement::Pass));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert!(
        report.failures.is_empty(),
        "expectation failures are not run failures: {:?}",
        report.failures
    );
    let verdicts: Vec<(&str, bool, &str)> = report
        .expectations
        .iter()
        .map(|e| (e.name.as_str(), e.passed, e.message.as_str()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("before", false, "height stuck at 4"),
            (
                "panics",
                false,
                "panicked while evaluating: index out of range"
            ),
            ("after", true, "2 nodes seen"),
        ]
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
}

#[tokio::test(start_paused = true)]
async fn an_expectation_whose_capture_fails_is_failed_with_that_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(1, dir.path()).expectation(ScriptedExpectation::new(
        "baseline",
        &log,
        Judgement::CaptureError("node unreachable"),
    ));
    let report = run(plan, &FakeDeployer::new()).await;

    assert!(!report.passed);
    let baseline = report.expectation("baseline").unwrap();
    assert_eq!(
        baseline.message,
        "could not capture its baseline: node unreachable"
    );
}

#[tokio::test(start_paused = true)]
async fn an_erroring_deploy_cleans_up_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new().fault(FakeFault::FailAfter(2));
    let plan = scenario(4, dir.path())
        .workload(ScriptedWorkload::new("load", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new("check", &log, Judgement::Pass));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["deploy on fake failed: fake failure after starting 2 nodes"]
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
    assert_eq!(
        report.phase(Phase::Deploy).unwrap().status,
        PhaseStatus::Failed
    );
    for phase in [Phase::Capture, Phase::Execute, Phase::Evaluate] {
        assert_eq!(
            report.phase(phase).unwrap().status,
            PhaseStatus::Skipped,
            "{phase}"
        );
    }
    assert_eq!(
        report.phase(Phase::Cleanup).unwrap().status,
        PhaseStatus::Completed
    );
    let check = report.expectation("check").unwrap();
    assert!(!check.passed);
    assert!(
        check.message.starts_with("not evaluated"),
        "{}",
        check.message
    );
    assert!(log.entries().is_empty(), "nothing ran: {:?}", log.entries());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_deploy_cleans_up_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let deployer = FakeDeployer::new().fault(FakeFault::PanicAfter(1));
    let report = run(scenario(3, dir.path()), &deployer).await;

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["the fake deployer panicked during deploy: fake panic after starting 1 nodes"]
    );
    assert_each_cleaned_once(&deployer, &["validator-0"]);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_a_slow_run_short_and_cleanup_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let deployer = FakeDeployer::new().delay_per_node(Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    let plan = scenario(4, dir.path())
        .window(Duration::from_secs(1))
        .deadline(Duration::from_secs(5));
    let report = run(plan, &deployer).await;

    assert!(
        started.elapsed() < Duration::from_secs(6),
        "ran for {:?}",
        started.elapsed()
    );
    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["the run hit its deadline of 5s during deploy"]
    );
    assert_eq!(
        report.phase(Phase::Deploy).unwrap().status,
        PhaseStatus::CutShort
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_run_dropped_midway_still_cleans_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let deployer = FakeDeployer::new();
    let plan = scenario(2, dir.path()).build().unwrap();
    let cut = tokio::time::timeout(Duration::from_secs(10), plan.run(&deployer)).await;

    assert!(
        cut.is_err(),
        "the one-minute window outlives the ten-second timeout"
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_expectation_is_a_junit_failure_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let plan = scenario(1, dir.path()).expectation(ScriptedExpectation::new(
        "stalls",
        &log,
        Judgement::Fail("height stuck at 4 on validator-0"),
    ));
    let report = run(plan, &FakeDeployer::new()).await;

    let junit = std::fs::read_to_string(report.artifacts_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(
        junit.contains("<failure message=\"height stuck at 4 on validator-0\">"),
        "{junit}"
    );
    let html = std::fs::read_to_string(report.artifacts_dir.join("report.html")).unwrap();
    assert!(html.contains("<span class=\"fail\">FAILED</span>"));
    assert!(html.contains("replay: <code>TESTBED_SEED=7 "));
}

#[tokio::test(start_paused = true)]
async fn an_expectation_failing_during_the_run_stops_it_early_and_says_when() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let deployer = FakeDeployer::new();
    let plan = scenario(2, dir.path())
        .workload(ScriptedWorkload::new("load", &log, Script::UntilCancelled))
        .expectation(ScriptedExpectation::new(
            "watchdog",
            &log,
            Judgement::FailEarly("no block for 3 s"),
        ))
        .expectation(ScriptedExpectation::new("other", &log, Judgement::Pass));
    let report = run(plan, &deployer).await;

    assert!(!report.passed);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].starts_with("expectation 'watchdog' failed during the run at "),
        "{:?}",
        report.failures
    );
    assert!(report.failures[0].ends_with("so the run stopped early: no block for 3 s"));
    let execute = report.phase(Phase::Execute).unwrap();
    assert!(
        execute.duration_ms < 10_000,
        "the one-minute window closed early: {} ms",
        execute.duration_ms
    );
    assert!(
        log.entries().contains(&"cancelled:load".to_owned()),
        "workloads were cancelled"
    );
    assert_eq!(
        report.expectation("watchdog").unwrap().message,
        "no block for 3 s"
    );
    assert!(
        report.expectation("other").unwrap().passed,
        "the others are still evaluated"
    );
    assert_each_cleaned_once(&deployer, &["validator-0", "validator-1"]);
}

/// An expectation whose continuous check cannot say (it errs or panics).
struct BrokenCheck {
    panics: bool,
}

#[scenario_core::async_trait]
impl Expectation for BrokenCheck {
    fn name(&self) -> &str {
        if self.panics { "panicky" } else { "erring" }
    }
    async fn evaluate(&self, _: &RunContext) -> Result<Verdict, BoxError> {
        Ok(Verdict::pass("would pass at the end"))
    }
    async fn check_now(&self, _: &RunContext) -> Result<Option<Verdict>, BoxError> {
        assert!(!self.panics, "index out of range");
        Err("the node's API is gone".into())
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_or_panic_in_a_continuous_check_fails_that_expectation() {
    for (panics, message) in [
        (
            false,
            "its check during the run failed: the node's API is gone",
        ),
        (
            true,
            "its check during the run panicked: index out of range",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let plan = scenario(2, dir.path()).expectation(BrokenCheck { panics });
        let report = run(plan, &FakeDeployer::new()).await;
        assert!(!report.passed, "{report}");
        assert_eq!(report.expectations[0].message, message);
        assert!(!report.expectations[0].passed);
    }
}

/// The fake deployer, with a node that "dies" on its own a second into the
/// run (as a real deployer's supervisor reports it).
struct DyingNode(FakeDeployer);

#[scenario_core::async_trait]
impl Deployer for DyingNode {
    fn name(&self) -> &str {
        "dying"
    }
    fn capabilities(&self) -> Capabilities {
        Deployer::capabilities(&self.0)
    }
    async fn deploy(
        &self,
        scenario: &Scenario,
        env: &scenario_core::DeployEnv,
    ) -> Result<scenario_core::Deployment, BoxError> {
        let deployment = self.0.deploy(scenario, env).await?;
        let reporter = env.failure_reporter();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            reporter.fail("validator-1 exited on its own with exit status: 9");
        });
        Ok(deployment)
    }
}

#[tokio::test(start_paused = true)]
async fn a_node_that_dies_on_its_own_stops_the_run_early() {
    let dir = tempfile::tempdir().unwrap();
    let plan = scenario(2, dir.path())
        .window(Duration::from_secs(600))
        .build()
        .unwrap();
    let report = plan.run(&DyingNode(FakeDeployer::new())).await.unwrap();

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["validator-1 exited on its own with exit status: 9"]
    );
    let execute = report.phase(Phase::Execute).unwrap();
    assert!(execute.duration_ms < 5_000, "{execute:?}");
    assert!(
        report.events.iter().any(|e| e
            .detail
            .starts_with("the run stopped early: validator-1 exited")),
        "{:#?}",
        report.events
    );
}
