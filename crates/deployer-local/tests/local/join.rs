//! Dynamic join: a node added to a running network follows the chain and is
//! visible to clients, the block feed and expectations.

use std::error::Error as _;
use std::sync::{Arc, Mutex};

use deployer_local::LocalDeployer;
use scenario_core::prelude::*;

use crate::support::scenario;
use e2e_support::{JoinExecutor, JoinedExecutorFollows, assert_executor_joined};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_executor_follows_the_chain_and_is_visible_everywhere() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("join", 3, 0, 5, root.path())
        .block_feed(blockfeed::Feed::new())
        .workload(JoinExecutor)
        .expectation(JoinedExecutorFollows)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    assert_executor_joined(&report);
    assert!(
        report.cleanup.iter().all(|c| c.error.is_none()),
        "{:?}",
        report.cleanup
    );
}

/// demo-node, except that a joined executor's launch writes a file outside
/// its data directory.
struct EscapingJoiner(Arc<dyn NodeKind>);

impl NodeKind for EscapingJoiner {
    fn name(&self) -> &str {
        "escaping-joiner"
    }
    fn ports(&self) -> Vec<PortSpec> {
        self.0.ports()
    }
    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        let spec = self.0.render(node)?;
        Ok(if node.role() == &Role::Executor {
            spec.file("../escaped", "outside")
        } else {
            spec
        })
    }
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        self.0.client(node)
    }
}

/// Tries to add an executor, keeps the error it got, and fails the run.
struct TryJoin(Arc<Mutex<Option<String>>>);

#[async_trait]
impl Workload for TryJoin {
    fn name(&self) -> &str {
        "try-join"
    }
    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::DynamicJoin)
    }
    async fn run(&self, ctx: &RunContext, _: CancellationToken) -> Result<(), BoxError> {
        let error = ctx.add_node(&Role::Executor).await.err();
        *self.0.lock().unwrap() = error.map(|e| format!("{e}: {:?}", e.source()));
        // Failing the run keeps its node directories for the checks below.
        Err("the join was refused".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_whose_launch_file_leaves_the_data_dir_is_refused_and_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let plan = scenario("join-escape", 3, 0, 2, root.path())
        .node_kind(EscapingJoiner(Arc::new(e2e_support::demo_node())))
        .workload(TryJoin(Arc::clone(&seen)))
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();
    assert!(!report.passed);

    let error = seen.lock().unwrap().clone().expect("the join must fail");
    assert!(
        error.contains(
            "launch file \"../escaped\" must be a relative path inside the data directory"
        ),
        "{error}"
    );
    let nodes = report.artifacts_dir.join("nodes");
    assert!(nodes.join("validator-0/node.log").exists(), "logs kept");
    let node_dir = nodes.join("executor-0");
    assert!(
        !node_dir.join("escaped").exists(),
        "nothing written outside"
    );
    assert!(
        !node_dir.join("node.log").exists(),
        "the node never started"
    );
}
