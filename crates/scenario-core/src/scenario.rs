//! The plan: [`Scenario`], immutable once built, and the [`ScenarioBuilder`]
//! that validates it and reports every problem at once.

mod problem;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use problem::human;
pub use problem::{BuildError, PlanProblem};

use crate::control::Capabilities;
use crate::expectation::Expectation;
use crate::feed::BlockFeedFactory;
use crate::launch::NodeKind;
use crate::output::Output;
use crate::topology::{NodeSlot, Topology};
use crate::workload::Workload;

/// The environment variable that sets the seed of a scenario that does not
/// set one itself (to replay a run).
pub const SEED_ENV: &str = "TESTBED_SEED";

/// How long the runner waits for workloads to return after the window ends,
/// unless the scenario says otherwise.
pub const DEFAULT_WORKLOAD_STOP_GRACE: Duration = Duration::from_secs(10);

/// How long one cleanup action may take, unless the scenario says otherwise.
pub const DEFAULT_CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The margin added to window + cooldown for the default deadline: time for
/// deploy, capture and evaluate.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(600);

/// Where a run's seed came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedSource {
    /// Set with [`ScenarioBuilder::seed`].
    Builder,
    /// Read from `TESTBED_SEED`.
    Environment,
    /// Drawn at random when the scenario was built.
    Random,
}

/// A validated, immutable plan. Built with [`Scenario::builder`], run with
/// [`Scenario::run`].
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) topology: Topology,
    pub(crate) node_kind: Arc<dyn NodeKind>,
    pub(crate) window: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) deadline: Duration,
    pub(crate) seed: u64,
    pub(crate) seed_source: SeedSource,
    pub(crate) nodes: Vec<NodeSlot>,
    pub(crate) workloads: Vec<Arc<dyn Workload>>,
    pub(crate) expectations: Vec<Arc<dyn Expectation>>,
    pub(crate) feed: Option<Arc<dyn BlockFeedFactory>>,
    pub(crate) artifacts_root: Option<PathBuf>,
    pub(crate) workload_stop_grace: Duration,
    pub(crate) cleanup_timeout: Duration,
    pub(crate) fail_on_untouched_faults: bool,
    pub(crate) build_duration: Duration,
    pub(crate) output: Output,
}

impl Scenario {
    /// Start a plan named `name` (lowercase letters, digits and `-`; it
    /// becomes part of run ids, container names and namespaces).
    pub fn builder(name: impl Into<String>) -> ScenarioBuilder {
        ScenarioBuilder {
            started: tokio::time::Instant::now(),
            name: name.into(),
            topology: Topology::new(),
            node_kind: None,
            window: None,
            cooldown: Duration::ZERO,
            deadline: None,
            seed: None,
            workloads: Vec::new(),
            expectations: Vec::new(),
            feed: None,
            artifacts_root: None,
            workload_stop_grace: DEFAULT_WORKLOAD_STOP_GRACE,
            cleanup_timeout: DEFAULT_CLEANUP_TIMEOUT,
            fail_on_untouched_faults: false,
            output: None,
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The network to deploy.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Every node of the topology, resolved once when the plan was built, in
    /// declaration order: what deployers start.
    pub fn nodes(&self) -> &[NodeSlot] {
        &self.nodes
    }

    /// The node software.
    pub fn node_kind(&self) -> &Arc<dyn NodeKind> {
        &self.node_kind
    }

    /// How long workloads run.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How long the runner waits after the window before evaluating.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// The longest the run may take from deploy to the end of evaluation.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The seed every random choice of the run derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Where the seed came from.
    pub fn seed_source(&self) -> SeedSource {
        self.seed_source
    }

    /// The workloads, in plan order.
    pub fn workloads(&self) -> &[Arc<dyn Workload>] {
        &self.workloads
    }

    /// The expectations, in plan order.
    pub fn expectations(&self) -> &[Arc<dyn Expectation>] {
        &self.expectations
    }

    /// The artifact root set on the builder, if any (otherwise
    /// `TESTBED_ARTIFACTS_DIR`, else `target/testbed`).
    pub fn artifacts_root(&self) -> Option<&Path> {
        self.artifacts_root.as_deref()
    }

    /// Where the run's banners, progress and notices go.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// Every capability the workloads and expectations need from the deployer.
    pub fn required_capabilities(&self) -> Capabilities {
        let mut needed = self.node_kind.requires();
        for workload in &self.workloads {
            needed.extend(&workload.requirements().capabilities);
        }
        for expectation in &self.expectations {
            needed.extend(&expectation.requirements().capabilities);
        }
        needed
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("node_kind", &self.node_kind.name())
            .field("nodes", &self.topology.len())
            .field("window", &self.window)
            .field("cooldown", &self.cooldown)
            .field("deadline", &self.deadline)
            .field("seed", &self.seed)
            .field(
                "workloads",
                &self.workloads.iter().map(|w| w.name()).collect::<Vec<_>>(),
            )
            .field(
                "expectations",
                &self
                    .expectations
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Collects a plan; [`build`](Self::build) validates it.
#[must_use = "a builder does nothing until .build() is called"]
pub struct ScenarioBuilder {
    started: tokio::time::Instant,
    name: String,
    topology: Topology,
    node_kind: Option<Arc<dyn NodeKind>>,
    window: Option<Duration>,
    cooldown: Duration,
    deadline: Option<Duration>,
    seed: Option<u64>,
    workloads: Vec<Arc<dyn Workload>>,
    expectations: Vec<Arc<dyn Expectation>>,
    feed: Option<Arc<dyn BlockFeedFactory>>,
    artifacts_root: Option<PathBuf>,
    workload_stop_grace: Duration,
    cleanup_timeout: Duration,
    fail_on_untouched_faults: bool,
    output: Option<Output>,
}

impl ScenarioBuilder {
    /// The network to deploy.
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    /// The node software every node runs (per-node overrides aside).
    pub fn node_kind(mut self, kind: impl NodeKind) -> Self {
        self.node_kind = Some(Arc::new(kind));
        self
    }

    /// How long workloads run. Required.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window);
        self
    }

    /// How long to wait after the window before evaluating (default: none).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The longest the run may take from deploy to the end of evaluation
    /// (default: window + cooldown + 10 minutes). Cleanup always runs after it.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Fix the seed (default: `TESTBED_SEED`, else random; always recorded).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Add a workload.
    pub fn workload(mut self, workload: impl Workload) -> Self {
        self.workloads.push(Arc::new(workload));
        self
    }

    /// Add an expectation.
    pub fn expectation(mut self, expectation: impl Expectation) -> Self {
        self.expectations.push(Arc::new(expectation));
        self
    }

    /// Observe blocks live with this feed (from the `blockfeed` crate).
    pub fn block_feed(mut self, factory: impl BlockFeedFactory) -> Self {
        self.feed = Some(Arc::new(factory));
        self
    }

    /// Put this run's artifacts under `root/<run-id>/` (takes precedence over
    /// `TESTBED_ARTIFACTS_DIR`).
    pub fn artifacts_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.artifacts_root = Some(root.into());
        self
    }

    /// How long workloads get to return after the window ends before they
    /// are aborted and the run fails (default: 10 s).
    pub fn workload_stop_grace(mut self, grace: Duration) -> Self {
        self.workload_stop_grace = grace;
        self
    }

    /// Fail the run when a network fault matched no traffic at all (a
    /// partition of nodes that never talk, a fault on the wrong link):
    /// flagged in the report and on the terminal either way.
    pub fn fail_on_untouched_faults(mut self) -> Self {
        self.fail_on_untouched_faults = true;
        self
    }

    /// How long one cleanup action may take (default: 60 s).
    pub fn cleanup_timeout(mut self, timeout: Duration) -> Self {
        self.cleanup_timeout = timeout;
        self
    }

    /// Where the run's banners, progress and signal notices go (default:
    /// [`Output::from_env`], i.e. the terminal unless `TESTBED_QUIET=1`).
    pub fn output(mut self, output: Output) -> Self {
        self.output = Some(output);
        self
    }

    /// Validate the plan. Returns every problem found, not just the first.
    pub fn build(self) -> Result<Scenario, BuildError> {
        let seed_from_env = std::env::var(SEED_ENV).ok();
        let mut problems = validate::problems(&self, seed_from_env.as_deref());
        problems.extend(validate::environment_problems());
        if !problems.is_empty() {
            return Err(BuildError::new(self.name, problems));
        }
        let (seed, seed_source) = match (self.seed, seed_from_env) {
            (Some(seed), _) => (seed, SeedSource::Builder),
            (None, Some(text)) => (
                validate::parse_seed(&text).unwrap_or_default(),
                SeedSource::Environment,
            ),
            (None, None) => (rand::random(), SeedSource::Random),
        };
        let window = self.window.unwrap_or_default();
        let Some(node_kind) = self.node_kind else {
            return Err(BuildError::new(self.name, vec![PlanProblem::NoNodeKind]));
        };
        Ok(Scenario {
            deadline: self
                .deadline
                .unwrap_or(window + self.cooldown + DEFAULT_DEADLINE_MARGIN),
            build_duration: self.started.elapsed(),
            name: self.name,
            nodes: self.topology.slots(),
            topology: self.topology,
            node_kind,
            window,
            cooldown: self.cooldown,
            seed,
            seed_source,
            workloads: self.workloads,
            expectations: self.expectations,
            feed: self.feed,
            artifacts_root: self.artifacts_root,
            workload_stop_grace: self.workload_stop_grace,
            cleanup_timeout: self.cleanup_timeout,
            fail_on_untouched_faults: self.fail_on_untouched_faults,
            output: self.output.unwrap_or_else(Output::from_env),
        })
    }
}
