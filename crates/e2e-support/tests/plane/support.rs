//! What the plane suite shares: the two backends (each one a deployer, or a
//! printed skip), a workload that snapshots every node's metrics at set
//! moments of the window, and readers of demo-node's per-peer counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deployer_compose::ComposeDeployer;
use deployer_compose::image::ImageBuilder;
use deployer_local::LocalDeployer;
use scenario_core::prelude::*;

/// Where a test runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Local,
    Compose,
}

fn required(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| value == "1")
}

static IMAGE_BUILT: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

impl Backend {
    /// The backend's deployer, or `None` after printing why the test skips.
    pub(crate) async fn deployer(self, test: &str) -> Option<Box<dyn Deployer>> {
        match self {
            Self::Local => match netplane::probe::probe() {
                Ok(()) => Some(Box::new(LocalDeployer::new())),
                Err(why) if required("TESTBED_REQUIRE_NETNS") => {
                    panic!("TESTBED_REQUIRE_NETNS=1 but {why}")
                }
                Err(why) => {
                    eprintln!("skipped {test} on local processes: {why}");
                    None
                }
            },
            Self::Compose => {
                let docker = match deployer_compose::connect(None).await {
                    Ok(docker) => docker,
                    Err(e) if required("TESTBED_REQUIRE_DOCKER") => {
                        panic!("TESTBED_REQUIRE_DOCKER=1 but the Docker engine is unusable: {e}")
                    }
                    Err(e) => {
                        eprintln!("skipped {test} on Docker: {e}");
                        return None;
                    }
                };
                let mut built = IMAGE_BUILT.lock().await;
                if !*built {
                    let program = e2e_support::demo_node().program().to_path_buf();
                    ImageBuilder::new(program, demo_node::DEFAULT_IMAGE)
                        .build(&docker)
                        .await
                        .expect("the demo-node image builds");
                    *built = true;
                }
                Some(Box::new(ComposeDeployer::new()))
            }
        }
    }
}

/// Runs one test body on both backends, as `<name>::on_local_processes`
/// and `<name>::on_docker`.
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_local_processes() {
                $body($crate::support::Backend::Local).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_docker() {
                $body($crate::support::Backend::Compose).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

/// Every node's metrics text, per moment asked for.
pub(crate) type Snapshots = Arc<Mutex<BTreeMap<u64, BTreeMap<NodeId, String>>>>;

/// Reads every node's metrics at each of `at_ms` (milliseconds into the
/// window) into a shared map, keyed by that moment.
pub(crate) struct Snapshot {
    at_ms: Vec<u64>,
    taken: Snapshots,
}

impl Snapshot {
    pub(crate) fn at(at_ms: &[u64]) -> (Self, Snapshots) {
        let taken = Snapshots::default();
        let workload = Self {
            at_ms: at_ms.to_vec(),
            taken: Arc::clone(&taken),
        };
        (workload, taken)
    }
}

#[async_trait]
impl Workload for Snapshot {
    fn name(&self) -> &str {
        "metrics-snapshots"
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let started = tokio::time::Instant::now();
        for &at in &self.at_ms {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(started + Duration::from_millis(at)) => {}
            }
            let mut metrics = BTreeMap::new();
            for (node, client) in ctx.clients() {
                metrics.insert(node, client.metrics().await?);
            }
            self.taken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(at, metrics);
        }
        cancel.cancelled().await;
        Ok(())
    }
}

/// The value of `metric{peer="<peer>"}` in a metrics text (0 when absent).
pub(crate) fn per_peer(text: &str, metric: &str, peer: &str) -> f64 {
    let prefix = format!("{metric}{{peer=\"{peer}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// How much `node`'s `metric{peer}` grew between two snapshots.
pub(crate) fn grew(
    snapshots: &Snapshots,
    (from, to): (u64, u64),
    node: &str,
    metric: &str,
    peer: &str,
) -> f64 {
    let taken = snapshots.lock().unwrap_or_else(PoisonError::into_inner);
    let value = |at: u64| {
        let text = taken
            .get(&at)
            .and_then(|nodes| nodes.get(&NodeId::new(node)))
            .unwrap_or_else(|| panic!("no snapshot of {node} at {at} ms"));
        per_peer(text, metric, peer)
    };
    value(to) - value(from)
}

/// UDP heartbeats `node` received from `peer`.
pub(crate) const UDP_RECEIVED: &str = "demo_node_udp_received_total";

/// UDP heartbeats `node` sent to `peer`.
pub(crate) const UDP_SENT: &str = "demo_node_udp_sent_total";
