//! Dynamic join: a node added to a running network follows the chain and is
//! visible to clients, the block feed and expectations.

use deployer_local::LocalDeployer;
use expectations::check;
use scenario_core::EventKind;
use scenario_core::prelude::*;

use crate::support::scenario;
use e2e_support::JoinExecutor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_executor_follows_the_chain_and_is_visible_everywhere() {
    let root = tempfile::tempdir().unwrap();
    let joined_follows = check("joined-follows", |ctx: RunContext| async move {
        let joined = NodeId::new("executor-0");
        let client = ctx.client(&joined).ok_or("executor-0 has no client")?;
        let theirs = client.info().await?.finalized_height;
        let ours = ctx
            .client(&NodeId::new("validator-0"))
            .ok_or("no validator-0")?
            .info()
            .await?
            .finalized_height;
        let fed = ctx
            .block_feed()
            .ok_or("no feed")?
            .finalized_heights()
            .get(&joined)
            .copied()
            .unwrap_or(0);
        if theirs + 5 < ours || fed == 0 {
            return Ok(Verdict::fail(format!(
                "executor-0 at {theirs} (feed saw {fed}), validator-0 at {ours}"
            )));
        }
        Ok(Verdict::pass(format!(
            "executor-0 at {theirs}, validator-0 at {ours}, feed saw {fed}"
        )))
    });
    let plan = scenario("join", 3, 0, 5, root.path())
        .block_feed(blockfeed::Feed::new())
        .workload(JoinExecutor)
        .expectation(joined_follows)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    let joined = report
        .events
        .iter()
        .find(|e| e.kind == EventKind::NodeJoined)
        .expect("a node_joined event");
    assert_eq!(joined.node.as_ref().unwrap(), "executor-0");
    assert!(
        report.cleanup.iter().all(|c| c.error.is_none()),
        "{:?}",
        report.cleanup
    );
}
