//! The checks [`ScenarioBuilder::build`](super::ScenarioBuilder::build) runs:
//! every rule of a valid plan, collected rather than stopping at the first.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ScenarioBuilder;
use super::problem::{MAX_NAME_LEN, PlanProblem};
use crate::topology::{NodeId, Role, Topology};
use crate::workload::Requirements;

/// Every problem with the plan, in a stable order.
pub(super) fn problems(plan: &ScenarioBuilder, seed_from_env: Option<&str>) -> Vec<PlanProblem> {
    let mut found = Vec::new();
    check_name(&plan.name, &mut found);
    if plan.node_kind.is_none() {
        found.push(PlanProblem::NoNodeKind);
    }
    check_topology(&plan.topology, &mut found);
    check_timing(plan, &mut found);
    if plan.seed.is_none()
        && let Some(text) = seed_from_env
        && parse_seed(text).is_none()
    {
        found.push(PlanProblem::InvalidSeedInEnvironment(text.to_owned()));
    }
    check_workloads(plan, &mut found);
    check_expectations(plan, &mut found);
    found
}

/// The problems of the `TESTBED_*` variables other than the seed (which
/// [`problems`] checks, since the plan may set its own).
pub(super) fn environment_problems() -> Vec<PlanProblem> {
    crate::environment::problems()
        .into_iter()
        .filter(|problem| problem.variable != crate::environment::SEED)
        .map(PlanProblem::InvalidEnvironment)
        .collect()
}

/// A seed as written in `TESTBED_SEED`.
pub(super) fn parse_seed(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Whether `name` can be a scenario name, role name or node id.
fn is_usable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    starts_with_letter
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_name(name: &str, found: &mut Vec<PlanProblem>) {
    if name.is_empty() {
        found.push(PlanProblem::EmptyScenarioName);
    } else if !is_usable_name(name) {
        found.push(PlanProblem::InvalidScenarioName(name.to_owned()));
    }
}

fn check_topology(topology: &Topology, found: &mut Vec<PlanProblem>) {
    if topology.is_empty() {
        found.push(PlanProblem::NoNodes);
    }
    for role in topology.roles() {
        if !is_usable_name(role.as_str()) {
            found.push(PlanProblem::InvalidRoleName(role.as_str().to_owned()));
        }
    }
    let slots = topology.slots();
    let mut counts: BTreeMap<&NodeId, usize> = BTreeMap::new();
    for slot in &slots {
        *counts.entry(&slot.id).or_default() += 1;
    }
    for (id, count) in &counts {
        if *count > 1 {
            found.push(PlanProblem::DuplicateNodeId {
                id: (*id).clone(),
                count: *count,
            });
        }
        // Ids of groups derive from their role, whose problem is already reported.
        let role_already_reported = slots
            .iter()
            .any(|slot| &slot.id == *id && !is_usable_name(slot.role.as_str()));
        if !is_usable_name(id.as_str()) && !role_already_reported {
            found.push(PlanProblem::InvalidNodeId((*id).clone()));
        }
    }
    for (id, change) in topology.overrides() {
        if !counts.contains_key(id) {
            found.push(PlanProblem::OverrideForUnknownNode {
                id: id.clone(),
                known: list(counts.keys().map(|id| id.as_str())),
            });
        }
        if change
            .program
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            found.push(PlanProblem::OverrideEmptyProgram(id.clone()));
        }
        if change.image.as_ref().is_some_and(|i| i.trim().is_empty()) {
            found.push(PlanProblem::OverrideEmptyImage(id.clone()));
        }
        for name in change.env.keys() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                found.push(PlanProblem::OverrideInvalidEnvName {
                    id: id.clone(),
                    name: name.clone(),
                });
            }
        }
    }
}

/// The longest run window or cooldown a plan may ask for.
pub(crate) const MAX_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

fn check_timing(plan: &ScenarioBuilder, found: &mut Vec<PlanProblem>) {
    let window = plan.window.unwrap_or_default();
    if window.is_zero() {
        found.push(PlanProblem::ZeroWindow);
    }
    for (what, asked) in [("run window", window), ("cooldown", plan.cooldown)] {
        if asked > MAX_WINDOW {
            found.push(PlanProblem::TooLong {
                what,
                asked,
                limit: MAX_WINDOW,
            });
        }
    }
    let needed = window.min(MAX_WINDOW) + plan.cooldown.min(MAX_WINDOW);
    if let Some(deadline) = plan.deadline
        && deadline < needed
    {
        found.push(PlanProblem::DeadlineTooShort { deadline, needed });
    }
}

/// Names, roles and node counts of one kind of extension (workloads or
/// expectations), checked the same way.
struct Extension<'a> {
    name: &'a str,
    needs: Requirements,
}

#[derive(Clone, Copy)]
enum ExtensionKind {
    Workload,
    Expectation,
}

fn check_workloads(plan: &ScenarioBuilder, found: &mut Vec<PlanProblem>) {
    let extensions = plan.workloads.iter().map(|w| Extension {
        name: w.name(),
        needs: w.requirements(),
    });
    check_extensions(ExtensionKind::Workload, extensions, &plan.topology, found);
    if let Some(window) = plan.window.filter(|w| !w.is_zero()) {
        let nodes = plan.topology.slots();
        for workload in &plan.workloads {
            if let Err(reason) = workload.check_plan(window, &nodes) {
                found.push(PlanProblem::WorkloadRejectsPlan {
                    workload: workload.name().to_owned(),
                    reason: reason.to_string(),
                });
            }
        }
    }
}

fn check_expectations(plan: &ScenarioBuilder, found: &mut Vec<PlanProblem>) {
    let extensions = plan.expectations.iter().map(|e| Extension {
        name: e.name(),
        needs: e.requirements(),
    });
    check_extensions(
        ExtensionKind::Expectation,
        extensions,
        &plan.topology,
        found,
    );
    check_inputs(plan, found);
}

/// What workloads and expectations need from the plan itself: a block feed,
/// and a workload writing each ledger an expectation reads.
fn check_inputs(plan: &ScenarioBuilder, found: &mut Vec<PlanProblem>) {
    let written: Vec<_> = plan
        .workloads
        .iter()
        .flat_map(|w| w.requirements().writes)
        .collect();
    // The node software, where it does not speak the testing API.
    let silent = plan
        .node_kind
        .as_ref()
        .filter(|kind| !kind.testing_api())
        .map(|kind| kind.name().to_owned());
    if let Some(kind) = &silent
        && plan.feed.is_some()
    {
        found.push(PlanProblem::FeedNeedsTestingApi { kind: kind.clone() });
    }
    let workloads = plan.workloads.iter().map(|w| (w.name(), w.requirements()));
    let expectations = plan
        .expectations
        .iter()
        .map(|e| (e.name(), e.requirements()));
    for (index, (name, needs)) in workloads.chain(expectations).enumerate() {
        if needs.block_feed && plan.feed.is_none() {
            found.push(PlanProblem::NeedsBlockFeed {
                name: name.to_owned(),
            });
        }
        if let Some(kind) = &silent
            && (needs.node_api || needs.block_feed)
        {
            found.push(PlanProblem::NeedsTestingApi {
                name: name.to_owned(),
                kind: kind.clone(),
            });
        }
        let is_expectation = index >= plan.workloads.len();
        if is_expectation && needs.reads.iter().any(|ledger| !written.contains(ledger)) {
            found.push(PlanProblem::LedgerUnwritten {
                expectation: name.to_owned(),
            });
        }
    }
}

fn check_extensions<'a>(
    kind: ExtensionKind,
    extensions: impl Iterator<Item = Extension<'a>>,
    topology: &Topology,
    found: &mut Vec<PlanProblem>,
) {
    let roles = topology.roles();
    let known_roles = list(roles.iter().map(Role::as_str));
    let have = topology.len();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (position, extension) in extensions.enumerate() {
        let number = position + 1;
        if extension.name.trim().is_empty() {
            found.push(match kind {
                ExtensionKind::Workload => PlanProblem::EmptyWorkloadName(number),
                ExtensionKind::Expectation => PlanProblem::EmptyExpectationName(number),
            });
        } else {
            *names.entry(extension.name).or_default() += 1;
        }
        for role in &extension.needs.roles {
            if !roles.contains(role) {
                let (name, role, known) = (
                    extension.name.to_owned(),
                    role.as_str().to_owned(),
                    known_roles.clone(),
                );
                found.push(match kind {
                    ExtensionKind::Workload => PlanProblem::WorkloadUnknownRole {
                        workload: name,
                        role,
                        known,
                    },
                    ExtensionKind::Expectation => PlanProblem::ExpectationUnknownRole {
                        expectation: name,
                        role,
                        known,
                    },
                });
            }
        }
        let needed = extension.needs.min_nodes;
        if needed > have && have > 0 {
            let name = extension.name.to_owned();
            found.push(match kind {
                ExtensionKind::Workload => PlanProblem::WorkloadNeedsMoreNodes {
                    workload: name,
                    needed,
                    have,
                },
                ExtensionKind::Expectation => PlanProblem::ExpectationNeedsMoreNodes {
                    expectation: name,
                    needed,
                    have,
                },
            });
        }
    }
    for (name, count) in names {
        if count > 1 {
            let name = name.to_owned();
            found.push(match kind {
                ExtensionKind::Workload => PlanProblem::DuplicateWorkloadName { name, count },
                ExtensionKind::Expectation => PlanProblem::DuplicateExpectationName { name, count },
            });
        }
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fake::FakeNodeKind;
    use crate::scenario::Scenario;

    fn plan() -> ScenarioBuilder {
        Scenario::builder("seeded")
            .topology(Topology::new().validators(1))
            .node_kind(FakeNodeKind)
            .window(Duration::from_secs(1))
    }

    /// The fake node kind, claiming not to speak the testing API.
    struct Silent;

    impl crate::NodeKind for Silent {
        fn name(&self) -> &str {
            "silent-node"
        }
        fn ports(&self) -> Vec<crate::PortSpec> {
            FakeNodeKind.ports()
        }
        fn render(&self, node: &crate::NodeView) -> Result<crate::LaunchSpec, crate::BoxError> {
            FakeNodeKind.render(node)
        }
        fn client(
            &self,
            node: &crate::NodeEndpoint,
        ) -> Result<std::sync::Arc<dyn crate::NodeClient>, crate::BoxError> {
            FakeNodeKind.client(node)
        }
        fn testing_api(&self) -> bool {
            false
        }
    }

    /// A workload needing only what `needs` says.
    struct Needs(&'static str, Requirements);

    #[async_trait::async_trait]
    impl crate::Workload for Needs {
        fn name(&self) -> &str {
            self.0
        }
        fn requirements(&self) -> Requirements {
            self.1.clone()
        }
        async fn run(
            &self,
            _ctx: &crate::RunContext,
            _cancel: tokio_util::sync::CancellationToken,
        ) -> Result<(), crate::BoxError> {
            Ok(())
        }
    }

    struct NoFeed;

    #[async_trait::async_trait]
    impl crate::BlockFeedFactory for NoFeed {
        async fn start(
            &self,
            _start: crate::feed::FeedStart,
        ) -> Result<std::sync::Arc<dyn crate::BlockFeed>, crate::BoxError> {
            Err("never started".into())
        }
    }

    #[test]
    fn software_without_the_testing_api_refuses_what_reads_it_and_a_feed() {
        let silent = Scenario::builder("silent")
            .topology(Topology::new().validators(1))
            .node_kind(Silent)
            .window(Duration::from_secs(1))
            .workload(Needs("reader", Requirements::none().node_api()))
            .workload(Needs("chaos", Requirements::none()));
        assert_eq!(
            problems(&silent, None),
            [PlanProblem::NeedsTestingApi {
                name: "reader".to_owned(),
                kind: "silent-node".to_owned()
            }]
        );
        let with_feed = problems(&silent.block_feed(NoFeed), None);
        assert!(
            with_feed.contains(&PlanProblem::FeedNeedsTestingApi {
                kind: "silent-node".to_owned()
            }),
            "{with_feed:?}"
        );
        let speaking = plan().workload(Needs("reader", Requirements::none().node_api()));
        assert!(problems(&speaking, None).is_empty());
    }

    #[test]
    fn a_malformed_seed_in_the_environment_is_a_problem_unless_the_plan_sets_one() {
        assert_eq!(
            problems(&plan(), Some("12ab")),
            [PlanProblem::InvalidSeedInEnvironment("12ab".to_owned())]
        );
        assert!(problems(&plan().seed(3), Some("12ab")).is_empty());
        assert!(problems(&plan(), Some(" 42 ")).is_empty());
        assert_eq!(parse_seed(" 42 "), Some(42));
    }
}
