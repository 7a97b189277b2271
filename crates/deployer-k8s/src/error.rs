//! The Kubernetes deployer's errors: each says what failed and, where the
//! user can do something about it, what.

use scenario_core::{BoxError, NodeId};

/// A Kubernetes deployer error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No cluster could be reached with the kubeconfig.
    #[error(
        "no Kubernetes cluster answers ({source}); point KUBECONFIG at one (this workspace starts a local one with `cargo xtask k8s up`)"
    )]
    NoCluster {
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// A call to the cluster failed.
    #[error("could not {action}: {source}")]
    Api {
        /// What was being done.
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// Two node ids that map to one object name.
    #[error("nodes {first} and {second} would both be named {name} in the cluster; rename one")]
    NameClash {
        /// The shared object name.
        name: String,
        /// The first node.
        first: NodeId,
        /// The second node.
        second: NodeId,
    },
    /// Rendering or checking a node's launch failed.
    #[error(transparent)]
    Plan(#[from] deploykit::plan::PlanError),
    /// A node did not become ready.
    #[error(transparent)]
    NotReady(#[from] deploykit::ready::NotReady),
    /// A node answered the framework's probe but its pod never became Ready.
    #[error("{why}")]
    PodNotReady {
        /// What the wait saw.
        why: BoxError,
    },
    /// The runner could not listen for a node's port-forward front.
    #[error("could not open a port-forward front for {node}: {source}")]
    Front {
        /// The node.
        node: NodeId,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The scenario needs the fault agent and the cluster will not run it.
    #[error(
        "this scenario needs {needs}, which the fault agent provides on Kubernetes, but the cluster will not run it: {reason}"
    )]
    NoFaultAgent {
        /// What the scenario needs, e.g. "network partitions".
        needs: String,
        /// What the probe saw.
        reason: String,
    },
    /// The scenario needs network faults that no mechanism the cluster
    /// allows can make.
    #[error("this scenario needs {needs}, which cannot be made on this cluster: {reason}")]
    NoNetworkFaults {
        /// What the scenario needs.
        needs: String,
        /// What refused each mechanism.
        reason: String,
    },
    /// A node's fault agent did not answer or refused its sync.
    #[error("{0}")]
    Agent(#[from] scenario_core::ControlError),
    /// The run's namespace was still there when cleanup gave up waiting.
    #[error("namespace {namespace} was not gone after {waited:?}: {stuck}")]
    NamespaceStuck {
        /// The namespace.
        namespace: String,
        /// How long cleanup waited.
        waited: std::time::Duration,
        /// What still holds it (finalizers, conditions, objects left).
        stuck: String,
    },
}

/// The deployer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wrap a client error with what was being done.
pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api {
        action: action.into(),
        source,
    }
}

/// The HTTP status of an API error, if it is one.
pub(crate) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
