//! What can be wrong with a plan: one [`PlanProblem`] per mistake, each a
//! sentence a user understands, gathered into one [`BuildError`].

use std::fmt;
use std::time::Duration;

use crate::topology::NodeId;

/// The longest scenario name, role name or node id accepted: they end up in
/// container names, labels and Kubernetes namespaces (63 characters at most,
/// with room for a run suffix).
pub(crate) const MAX_NAME_LEN: usize = 40;

/// One thing wrong with a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanProblem {
    /// The scenario name is empty.
    #[error("the scenario has no name; pass a short one such as \"smoke\" to Scenario::builder")]
    EmptyScenarioName,
    /// The scenario name has characters or a length backends cannot use.
    #[error(
        "the scenario name \"{0}\" is not usable: use 1 to {MAX_NAME_LEN} lowercase letters, digits and '-', starting with a letter (it becomes part of run ids, container names and namespaces)"
    )]
    InvalidScenarioName(String),
    /// No node software was given.
    #[error(
        "no node software was set; call .node_kind(...) with the NodeKind of the node under test"
    )]
    NoNodeKind,
    /// The topology is empty.
    #[error(
        "the topology has no nodes; add some with Topology::new().validators(n), .executors(n) or .role(name, n)"
    )]
    NoNodes,
    /// A custom role name backends cannot use.
    #[error(
        "the role name \"{0}\" is not usable: use 1 to {MAX_NAME_LEN} lowercase letters, digits and '-', starting with a letter"
    )]
    InvalidRoleName(String),
    /// A node id that backends cannot use.
    #[error(
        "the node id \"{0}\" is not usable: use 1 to {MAX_NAME_LEN} lowercase letters, digits and '-', starting with a letter"
    )]
    InvalidNodeId(NodeId),
    /// Two nodes share an id.
    #[error("the node id \"{id}\" is used by {count} nodes; every node needs its own id")]
    DuplicateNodeId {
        /// The shared id.
        id: NodeId,
        /// How many nodes have it.
        count: usize,
    },
    /// An override names a node that is not in the topology.
    #[error(
        "an override names node \"{id}\", which is not in the topology (its nodes are: {known})"
    )]
    OverrideForUnknownNode {
        /// The id named.
        id: NodeId,
        /// The topology's node ids, listed.
        known: String,
    },
    /// An override sets an empty program path.
    #[error("the override for \"{0}\" sets an empty program path")]
    OverrideEmptyProgram(NodeId),
    /// An override sets an empty image name.
    #[error("the override for \"{0}\" sets an empty image name")]
    OverrideEmptyImage(NodeId),
    /// An override sets an environment variable whose name is unusable.
    #[error(
        "the override for \"{id}\" sets the environment variable \"{name}\", whose name is empty or contains '=' or a NUL byte"
    )]
    OverrideInvalidEnvName {
        /// The node.
        id: NodeId,
        /// The variable's name.
        name: String,
    },
    /// The run window is zero.
    #[error(
        "the run window is zero or was not set; give .window(...) how long the workloads should run"
    )]
    ZeroWindow,
    /// The deadline leaves no room for the window and cooldown.
    #[error(
        "the deadline ({}) is shorter than the run window plus cooldown ({}); the run could never finish in time",
        human(*deadline),
        human(*needed)
    )]
    DeadlineTooShort {
        /// The deadline given.
        deadline: Duration,
        /// Window plus cooldown.
        needed: Duration,
    },
    /// The run window or cooldown is longer than any run this framework
    /// supports (`Duration::MAX` is a mistake, not a plan).
    #[error("the {what} ({}) is longer than the {} a run may last", human(*asked), human(*limit))]
    TooLong {
        /// `run window` or `cooldown`.
        what: &'static str,
        /// What was asked.
        asked: Duration,
        /// The limit.
        limit: Duration,
    },
    /// A `TESTBED_*` variable holds a value it does not accept.
    #[error("{0}")]
    InvalidEnvironment(crate::environment::EnvProblem),
    /// `TESTBED_SEED` is set but not a number.
    #[error(
        "TESTBED_SEED is set to \"{0}\", which is not a whole number between 0 and 18446744073709551615"
    )]
    InvalidSeedInEnvironment(String),
    /// A workload has an empty name.
    #[error("workload number {0} has an empty name; every workload needs a name for the report")]
    EmptyWorkloadName(usize),
    /// Two workloads share a name.
    #[error(
        "{count} workloads are named \"{name}\"; give each a distinct name so the report can tell them apart"
    )]
    DuplicateWorkloadName {
        /// The shared name.
        name: String,
        /// How many share it.
        count: usize,
    },
    /// A workload targets a role that no node has.
    #[error(
        "workload \"{workload}\" targets role \"{role}\", but no node has that role (the roles are: {known})"
    )]
    WorkloadUnknownRole {
        /// The workload.
        workload: String,
        /// The role it targets.
        role: String,
        /// The topology's roles, listed.
        known: String,
    },
    /// A workload needs more nodes than the topology has.
    #[error("workload \"{workload}\" needs at least {needed} nodes, but the topology has {have}")]
    WorkloadNeedsMoreNodes {
        /// The workload.
        workload: String,
        /// What it needs.
        needed: usize,
        /// What the topology has.
        have: usize,
    },
    /// An expectation has an empty name.
    #[error(
        "expectation number {0} has an empty name; every expectation needs a name for the report"
    )]
    EmptyExpectationName(usize),
    /// Two expectations share a name.
    #[error(
        "{count} expectations are named \"{name}\"; give each a distinct name so the report can tell them apart"
    )]
    DuplicateExpectationName {
        /// The shared name.
        name: String,
        /// How many share it.
        count: usize,
    },
    /// An expectation looks at a role that no node has.
    #[error(
        "expectation \"{expectation}\" looks at role \"{role}\", but no node has that role (the roles are: {known})"
    )]
    ExpectationUnknownRole {
        /// The expectation.
        expectation: String,
        /// The role it looks at.
        role: String,
        /// The topology's roles, listed.
        known: String,
    },
    /// An expectation needs more nodes than the topology has.
    #[error(
        "expectation \"{expectation}\" needs at least {needed} nodes, but the topology has {have}"
    )]
    ExpectationNeedsMoreNodes {
        /// The expectation.
        expectation: String,
        /// What it needs.
        needed: usize,
        /// What the topology has.
        have: usize,
    },
    /// A workload found the plan unworkable ([`Workload::check_plan`](crate::Workload::check_plan)).
    #[error("workload \"{workload}\" cannot run in this plan: {reason}")]
    WorkloadRejectsPlan {
        /// The workload.
        workload: String,
        /// Its reason.
        reason: String,
    },
    /// A workload or expectation needs a block feed and the plan has none.
    #[error(
        "\"{name}\" needs a block feed, but the plan has none; add one with .block_feed(blockfeed::Feed::new())"
    )]
    NeedsBlockFeed {
        /// The workload or expectation.
        name: String,
    },
    /// A workload or expectation reads the testing API, which the node
    /// software does not speak.
    #[error(
        "\"{name}\" reads nodes through testbed's HTTP testing API, which {kind} does not speak; judge such nodes by their logs and metrics (LogLines, MetricAtLeast) instead"
    )]
    NeedsTestingApi {
        /// The workload or expectation.
        name: String,
        /// The node software.
        kind: String,
    },
    /// The plan has a block feed and the node software does not speak the
    /// testing API it reads blocks through.
    #[error(
        "the plan has a block feed, which reads blocks through testbed's HTTP testing API, and {kind} does not speak it; leave the feed out"
    )]
    FeedNeedsTestingApi {
        /// The node software.
        kind: String,
    },
    /// An expectation reads a ledger that no workload of the plan writes.
    #[error(
        "expectation \"{expectation}\" reads a ledger that no workload of the plan writes, so it would judge nothing; build it and the workload with the same Ledger"
    )]
    LedgerUnwritten {
        /// The expectation.
        expectation: String,
    },
}

/// Why a plan was rejected: every problem found, in a stable order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    scenario: String,
    problems: Vec<PlanProblem>,
}

impl BuildError {
    pub(crate) fn new(scenario: String, problems: Vec<PlanProblem>) -> Self {
        Self { scenario, problems }
    }

    /// Every problem found.
    pub fn problems(&self) -> &[PlanProblem] {
        &self.problems
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(
            f,
            "the plan of scenario \"{}\" has {count} {noun}:",
            self.scenario
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

/// A duration as people write it (`1m 5s`).
pub(crate) fn human(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}
