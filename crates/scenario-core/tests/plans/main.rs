//! Plan validation: malformed plans are rejected at build time, each with
//! its own sentence, all problems at once; valid topologies always give
//! unique, stable node ids.

use std::time::Duration;

use proptest::prelude::*;
use scenario_core::fake::FakeNodeKind;
use scenario_core::prelude::*;
use scenario_core::{BuildError, PlanProblem, ScenarioBuilder};

/// A workload that does nothing but declare what it needs.
struct Needs {
    name: &'static str,
    needs: Requirements,
}

#[async_trait]
impl Workload for Needs {
    fn name(&self) -> &str {
        self.name
    }
    fn requirements(&self) -> Requirements {
        self.needs.clone()
    }
    async fn run(&self, _ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        Ok(())
    }
}

/// An expectation that always passes but declares what it needs.
struct Looks {
    name: &'static str,
    needs: Requirements,
}

#[async_trait]
impl Expectation for Looks {
    fn name(&self) -> &str {
        self.name
    }
    fn requirements(&self) -> Requirements {
        self.needs.clone()
    }
    async fn evaluate(&self, _ctx: &RunContext) -> Result<Verdict, BoxError> {
        Ok(Verdict::pass("fine"))
    }
}

fn workload(name: &'static str) -> Needs {
    Needs {
        name,
        needs: Requirements::none(),
    }
}

fn expectation(name: &'static str) -> Looks {
    Looks {
        name,
        needs: Requirements::none(),
    }
}

/// A valid plan each case breaks in exactly one way.
fn valid() -> ScenarioBuilder {
    Scenario::builder("plan")
        .topology(Topology::new().validators(3).executors(1))
        .node_kind(FakeNodeKind)
        .window(Duration::from_secs(10))
        .seed(1)
}

fn rejected(plan: ScenarioBuilder) -> BuildError {
    match plan.build() {
        Ok(scenario) => panic!("the plan was accepted: {scenario:?}"),
        Err(error) => error,
    }
}

#[test]
fn the_valid_base_plan_builds() {
    let scenario = valid().build().unwrap();
    assert_eq!(scenario.topology().len(), 4);
    assert_eq!(scenario.deadline(), Duration::from_secs(10 + 600));
}

#[test]
fn each_malformed_plan_is_rejected_with_its_own_message() {
    let cases: Vec<(ScenarioBuilder, &str)> = vec![
        (
            Scenario::builder("")
                .topology(Topology::new().validators(1))
                .node_kind(FakeNodeKind)
                .window(Duration::from_secs(1)),
            "the scenario has no name",
        ),
        (
            Scenario::builder("My Scenario")
                .topology(Topology::new().validators(1))
                .node_kind(FakeNodeKind)
                .window(Duration::from_secs(1)),
            "the scenario name \"My Scenario\" is not usable",
        ),
        (
            Scenario::builder("plan")
                .topology(Topology::new().validators(1))
                .window(Duration::from_secs(1)),
            "no node software was set",
        ),
        (
            valid().topology(Topology::new()),
            "the topology has no nodes",
        ),
        (
            valid().topology(Topology::new().validators(1).role("Light_Client", 2)),
            "the role name \"Light_Client\" is not usable",
        ),
        (
            valid().topology(Topology::new().validators(1).node("Boot Node", "seed")),
            "the node id \"Boot Node\" is not usable",
        ),
        (
            valid().topology(
                Topology::new()
                    .validators(2)
                    .node("validator-1", "validator"),
            ),
            "the node id \"validator-1\" is used by 2 nodes",
        ),
        (
            valid().topology(
                Topology::new()
                    .validators(2)
                    .override_node("validator-7", NodeOverride::new().arg("-v")),
            ),
            "an override names node \"validator-7\", which is not in the topology (its nodes are: validator-0, validator-1)",
        ),
        (
            valid().topology(
                Topology::new()
                    .validators(1)
                    .override_node("validator-0", NodeOverride::new().program("")),
            ),
            "the override for \"validator-0\" sets an empty program path",
        ),
        (
            valid().topology(
                Topology::new()
                    .validators(1)
                    .override_node("validator-0", NodeOverride::new().image(" ")),
            ),
            "the override for \"validator-0\" sets an empty image name",
        ),
        (
            valid().topology(
                Topology::new()
                    .validators(1)
                    .override_node("validator-0", NodeOverride::new().env("A=B", "1")),
            ),
            "sets the environment variable \"A=B\"",
        ),
        (
            valid().window(Duration::ZERO),
            "the run window is zero or was not set",
        ),
        (
            valid()
                .cooldown(Duration::from_secs(5))
                .deadline(Duration::from_secs(12)),
            "the deadline (12s) is shorter than the run window plus cooldown (15s)",
        ),
        (
            valid().workload(workload("txs")).workload(workload("")),
            "workload number 2 has an empty name",
        ),
        (
            valid().workload(workload("txs")).workload(workload("txs")),
            "2 workloads are named \"txs\"",
        ),
        (
            valid().workload(Needs {
                name: "light-load",
                needs: Requirements::none().role("light"),
            }),
            "workload \"light-load\" targets role \"light\", but no node has that role (the roles are: validator, executor)",
        ),
        (
            valid().workload(Needs {
                name: "partitions",
                needs: Requirements::none().min_nodes(5),
            }),
            "workload \"partitions\" needs at least 5 nodes, but the topology has 4",
        ),
        (
            valid().expectation(expectation("")),
            "expectation number 1 has an empty name",
        ),
        (
            valid()
                .expectation(expectation("liveness"))
                .expectation(expectation("liveness")),
            "2 expectations are named \"liveness\"",
        ),
        (
            valid().expectation(Looks {
                name: "da",
                needs: Requirements::none().role("storage"),
            }),
            "expectation \"da\" looks at role \"storage\", but no node has that role",
        ),
        (
            valid().expectation(Looks {
                name: "quorum",
                needs: Requirements::none().min_nodes(7),
            }),
            "expectation \"quorum\" needs at least 7 nodes, but the topology has 4",
        ),
    ];
    assert!(cases.len() >= 15);
    let mut messages = Vec::new();
    for (plan, expected) in cases {
        let error = rejected(plan);
        assert_eq!(
            error.problems().len(),
            1,
            "one problem expected for {expected:?}: {error}"
        );
        let message = error.problems()[0].to_string();
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
        assert!(error.to_string().contains(&message));
        messages.push(message);
    }
    let distinct: std::collections::BTreeSet<&String> = messages.iter().collect();
    assert_eq!(
        distinct.len(),
        messages.len(),
        "every case has its own message"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let error = rejected(
        Scenario::builder("Bad Name")
            .topology(Topology::new())
            .window(Duration::ZERO)
            .workload(workload("x"))
            .workload(workload("x")),
    );
    assert_eq!(
        error.problems(),
        [
            PlanProblem::InvalidScenarioName("Bad Name".to_owned()),
            PlanProblem::NoNodeKind,
            PlanProblem::NoNodes,
            PlanProblem::ZeroWindow,
            PlanProblem::DuplicateWorkloadName {
                name: "x".to_owned(),
                count: 2
            },
        ]
    );
    let text = error.to_string();
    assert!(
        text.starts_with("the plan of scenario \"Bad Name\" has 5 problems:\n  - "),
        "{text}"
    );
}

proptest! {
    #[test]
    fn any_valid_topology_gives_unique_ids_in_declaration_order(
        validators in 0usize..20,
        executors in 0usize..5,
        custom in proptest::collection::vec(("[a-z][a-z0-9-]{0,10}", 0usize..4), 0..3),
    ) {
        let mut topology = Topology::new().validators(validators).executors(executors);
        let mut expected_len = validators + executors;
        let mut seen_roles = vec!["validator".to_owned(), "executor".to_owned()];
        for (role, count) in &custom {
            if seen_roles.contains(role) {
                continue;
            }
            seen_roles.push(role.clone());
            topology = topology.role(role.as_str(), *count);
            expected_len += count;
        }
        let slots = topology.slots();
        prop_assert_eq!(slots.len(), expected_len);
        prop_assert_eq!(topology.len(), expected_len);
        let ids: std::collections::BTreeSet<_> = slots.iter().map(|s| s.id.clone()).collect();
        prop_assert_eq!(ids.len(), slots.len());
        for slot in &slots {
            prop_assert_eq!(slot.id.as_str(), format!("{}-{}", slot.role, slot.index));
        }
        let built = valid().topology(topology).build();
        prop_assert_eq!(built.is_ok(), expected_len > 0);
    }
}

#[test]
fn an_endless_window_is_refused_instead_of_overflowing() {
    for window in [Duration::MAX, Duration::from_secs(100 * 365 * 24 * 3600)] {
        let error = Scenario::builder("endless")
            .topology(Topology::new().validators(1))
            .node_kind(FakeNodeKind)
            .window(window)
            .build()
            .unwrap_err();
        assert!(
            error.problems().iter().any(|p| matches!(
                p,
                PlanProblem::TooLong {
                    what: "run window",
                    ..
                }
            )),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("is longer than the 30days a run may last"),
            "{error}"
        );
    }
}

/// Set in the child process that `invalid_testbed_variables_reject_the_plan`
/// starts with a bad `TESTBED_READY_TIMEOUT_SECS`.
const CHILD_MARKER: &str = "TESTBED_TEST_PLANS_ENV_CHILD";

#[test]
fn invalid_testbed_variables_reject_the_plan() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        // In the child: the variables below were set by the parent.
        let error = Scenario::builder("env")
            .topology(Topology::new().validators(1))
            .node_kind(FakeNodeKind)
            .window(Duration::from_secs(1))
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "TESTBED_READY_TIMEOUT_SECS=\"inf\" is not valid: expected a number of seconds"
            ),
            "{error}"
        );
        assert!(
            error.contains("TESTBED_KEEP=\"yes\" is not valid"),
            "{error}"
        );
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "invalid_testbed_variables_reject_the_plan",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env("TESTBED_READY_TIMEOUT_SECS", "inf")
        .env("TESTBED_KEEP", "yes")
        .status()
        .unwrap();
    assert!(status.success(), "the child's assertions failed");
}
