//! Dynamic join: a node added to a running network follows the chain and is
//! visible to clients, the block feed and expectations.

use deployer_local::LocalDeployer;

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
