//! testbed: typed, declarative integration and chaos tests for networks of
//! cooperating nodes. This is the facade scenario authors depend on; it
//! re-exports the core and, behind features, the deployers.
//!
//! Crates that *implement* a node integration, a workload, an expectation or
//! a deployer should depend on `scenario-core` instead.
//!
//! # Feature flags
//!
//! | feature | what it adds | status |
//! |---|---|---|
//! | `local` | `testbed::local`, the local-process deployer (`LocalDeployer`) | available |
//! | `compose` | `testbed::compose`, the Docker deployer (`ComposeDeployer`, through bollard) | available |
//! | `k8s` | `testbed::k8s`, the Kubernetes deployer (`K8sDeployer`, through kube; selects k8s-openapi's `v1_33`) | available: node faults, joins, network faults and pauses (through the fault agent sidecar) |
//!
//! Each feature forwards to its deployer crate, so a user who wants only
//! local processes compiles no bollard and no kube.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use testbed::prelude::*;
//!
//! # async fn example(node: impl NodeKind, deployer: impl Deployer) -> Result<(), Box<dyn std::error::Error>> {
//! let report = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4).executors(1))
//!     .node_kind(node)
//!     .window(Duration::from_secs(30))
//!     .build()?
//!     .run(&deployer)
//!     .await?;
//! report.ensure_passed()?;
//! # Ok(())
//! # }
//! ```

#[doc(inline)]
pub use scenario_core::*;

/// The core crate itself, for paths that the glob re-export does not cover.
pub use scenario_core as core;

/// The node testing API: its wire types and the HTTP client a node kind
/// returns for a node that speaks it (`NodeHttpClient::for_node`).
#[doc(inline)]
pub use node_http as http;

/// Live block observation.
#[doc(inline)]
pub use blockfeed;
/// Expectations: liveness, inclusion, DA, agreement, recovery, custom checks.
#[doc(inline)]
pub use expectations;
/// Workloads: transactions, DA blobs, seeded chaos.
#[doc(inline)]
pub use workloads;

/// The local-process deployer.
#[cfg(feature = "local")]
#[doc(inline)]
pub use deployer_local as local;

/// The Docker deployer.
#[cfg(feature = "compose")]
#[doc(inline)]
pub use deployer_compose as compose;

/// The Kubernetes deployer.
#[cfg(feature = "k8s")]
#[doc(inline)]
pub use deployer_k8s as k8s;

/// Everything a scenario author usually needs: `use testbed::prelude::*;`.
pub mod prelude {
    #[doc(inline)]
    pub use scenario_core::prelude::*;
}

/// The guide's introduction, compiled as a doctest so it matches the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/src/introduction.md")]
struct GuideIntroduction;

/// The guide's chapter on node integrations, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/src/node-integration.md")]
struct GuideNodeIntegration;

/// The README's example, compiled as a doctest so it matches the code.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct Readme;
