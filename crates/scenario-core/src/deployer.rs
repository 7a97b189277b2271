//! The [`Deployer`] extension point: provisions a scenario's nodes on a
//! backend and hands back clients and control handles; registers how to undo
//! everything it created.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::client::NodeClient;
use crate::control::{Capabilities, Membership, NetworkControl, NodeControl};
use crate::error::BoxError;
pub use crate::runner::{CleanupOutcome, CleanupRegistry};
use crate::scenario::Scenario;
use crate::timeline::Timeline;
use crate::topology::NodeId;

/// What a deployer gets besides the plan: the run's identity, where its
/// artifacts go, the timeline, and the cleanup registry.
pub struct DeployEnv {
    pub(crate) run_id: String,
    pub(crate) seed: u64,
    pub(crate) artifacts_dir: PathBuf,
    pub(crate) timeline: Timeline,
    pub(crate) cleanup: CleanupRegistry,
    pub(crate) failures: Arc<Mutex<Vec<String>>>,
    pub(crate) outcome: Arc<AtomicU8>,
}

const OUTCOME_UNKNOWN: u8 = 0;
const OUTCOME_PASSED: u8 = 1;
const OUTCOME_FAILED: u8 = 2;

impl DeployEnv {
    /// The run's id; label every resource with it so leftovers can be reaped.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The run's artifact directory: put node logs and data under it.
    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts_dir
    }

    /// The run's timeline: record node starts and unexpected exits.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The cleanup registry, to hand to tasks that create resources later.
    pub fn cleanup(&self) -> &CleanupRegistry {
        &self.cleanup
    }

    /// A handle to fail the run from a task of the deployer (e.g. a node
    /// supervisor noticing a node that died on its own).
    pub fn failure_reporter(&self) -> FailureReporter {
        FailureReporter(Arc::clone(&self.failures))
    }

    /// Whether the run passed, as known when cleanup starts (`None` before).
    /// Cleanup actions use it to keep logs of failed runs.
    pub fn run_passed(&self) -> RunOutcome {
        RunOutcome(Arc::clone(&self.outcome))
    }

    /// Register how to undo something just created. Actions run newest first,
    /// exactly once, on every exit path, including a failed deploy.
    pub fn on_cleanup<F, Fut>(&self, label: impl Into<String>, action: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.cleanup.register(label, action);
    }
}

/// Fails the run with a reason; cheap to clone, usable from any task.
#[derive(Clone, Debug)]
pub struct FailureReporter(Arc<Mutex<Vec<String>>>);

impl FailureReporter {
    /// Fail the run; the reason appears in the report's `failures`.
    pub fn fail(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::warn!(%reason, "the deployer failed the run");
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reason);
    }
}

/// Whether the run passed, readable by cleanup actions once cleanup started.
#[derive(Clone, Debug)]
pub struct RunOutcome(Arc<AtomicU8>);

impl RunOutcome {
    /// `Some(true)` when the run passed, `Some(false)` when it failed, `None`
    /// while it is still running.
    pub fn get(&self) -> Option<bool> {
        match self.0.load(Ordering::SeqCst) {
            OUTCOME_PASSED => Some(true),
            OUTCOME_FAILED => Some(false),
            _ => None,
        }
    }

    pub(crate) fn set(&self, passed: bool) {
        let value = if passed {
            OUTCOME_PASSED
        } else {
            OUTCOME_FAILED
        };
        self.0.store(value, Ordering::SeqCst);
    }
}

impl DeployEnv {
    pub(crate) fn new(
        run_id: String,
        seed: u64,
        artifacts_dir: PathBuf,
        timeline: Timeline,
        cleanup: CleanupRegistry,
    ) -> Self {
        Self {
            run_id,
            seed,
            artifacts_dir,
            timeline,
            cleanup,
            failures: Arc::default(),
            outcome: Arc::new(AtomicU8::new(OUTCOME_UNKNOWN)),
        }
    }

    /// The first failure reported so far, if any (left in place).
    pub(crate) fn first_failure(&self) -> Option<String> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first()
            .cloned()
    }

    /// Take the failures reported so far.
    pub(crate) fn take_failures(&self) -> Vec<String> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A deployed network, as the runner uses it.
#[derive(Default)]
pub struct Deployment {
    /// A client per node, every node of the topology.
    pub clients: BTreeMap<NodeId, Arc<dyn NodeClient>>,
    /// Node faults, if the backend supports them.
    pub node_control: Option<Arc<dyn NodeControl>>,
    /// Network faults, if the backend supports them.
    pub network_control: Option<Arc<dyn NetworkControl>>,
    /// Adding nodes to the running network, if the backend supports it.
    pub membership: Option<Arc<dyn Membership>>,
}

/// Provisions a scenario's nodes on one backend.
///
/// `deploy` starts every node, waits until each is ready, and returns a
/// [`Deployment`]. Everything it creates must be registered with
/// [`DeployEnv::on_cleanup`] as soon as it exists: when deploy fails, the
/// runner runs those actions and reports the error.
#[async_trait::async_trait]
pub trait Deployer: Send + Sync {
    /// The backend's name for reports, e.g. `local`.
    fn name(&self) -> &str;

    /// The faults this backend can inject.
    fn capabilities(&self) -> Capabilities;

    /// Start the scenario's nodes and wait until they are ready.
    async fn deploy(&self, scenario: &Scenario, env: &DeployEnv) -> Result<Deployment, BoxError>;
}
