//! Expectations judged on stub networks (run through the fake deployer):
//! each fails when it should, naming the culprit, and passes when it should.

use std::sync::Arc;
use std::time::Duration;

use expectations::{Agreement, Liveness, Recovery, TxInclusion, check};
use scenario_core::fake::FakeDeployer;
use scenario_core::ledger::{Ledger, TxRecord};
use scenario_core::prelude::*;
use scenario_core::{Block, ClientError, NodeEndpoint, NodeInfo, TxId};

/// A node frozen at `finalized`, whose blocks from `fork_from` on carry its
/// own id in the hash when `forks` is set.
#[derive(Debug)]
struct StubNode {
    id: NodeId,
    finalized: u64,
    forks: bool,
}

#[async_trait]
impl NodeClient for StubNode {
    fn node(&self) -> &NodeId {
        &self.id
    }
    async fn info(&self) -> Result<NodeInfo, ClientError> {
        Ok(NodeInfo {
            node_id: self.id.clone(),
            role: Role::Validator,
            height: self.finalized,
            tip_hash: String::new(),
            finalized_height: self.finalized,
            peers: Vec::new(),
            leader: None,
        })
    }
    async fn block(&self, height: u64) -> Result<Block, ClientError> {
        let hash = if self.forks && height >= 3 {
            format!("{}-{height}", self.id)
        } else {
            format!("h{height}")
        };
        Ok(Block {
            height,
            hash,
            parent: String::new(),
            proposer: self.id.clone(),
            committed_at_ms: 0,
            finalized: true,
            txs: Vec::new(),
            blobs: Vec::new(),
        })
    }
}

/// Stub nodes: `finalized(id)` and whether `id` forks.
struct StubKind {
    finalized: fn(&str) -> u64,
    forks: fn(&str) -> bool,
}

impl NodeKind for StubKind {
    fn name(&self) -> &str {
        "stub-node"
    }
    fn ports(&self) -> Vec<PortSpec> {
        vec![PortSpec::api("api", 1)]
    }
    fn render(&self, _node: &NodeView) -> Result<LaunchSpec, BoxError> {
        Ok(LaunchSpec::program("stub"))
    }
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        let id = node.id.as_str();
        Ok(Arc::new(StubNode {
            id: node.id.clone(),
            finalized: (self.finalized)(id),
            forks: (self.forks)(id),
        }))
    }
}

async fn judge(kind: StubKind, expectation: impl Expectation) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = Scenario::builder("verdicts")
        .topology(Topology::new().validators(3))
        .node_kind(kind)
        .window(Duration::from_secs(3))
        .seed(1)
        .artifacts_root(dir.path())
        .expectation(expectation)
        .build()
        .unwrap()
        .run(&FakeDeployer::new())
        .await
        .unwrap();
    let verdict = &report.expectations[0];
    (verdict.passed, verdict.message.clone())
}

fn same(_: &str) -> u64 {
    9
}
fn never(_: &str) -> bool {
    false
}

#[tokio::test(start_paused = true)]
async fn agreement_names_the_height_and_the_nodes_that_disagree() {
    let kind = StubKind {
        finalized: same,
        forks: |id| id == "validator-1",
    };
    let (passed, message) = judge(kind, Agreement).await;
    assert!(!passed);
    assert!(
        message.starts_with("nodes finalized different blocks at height 3:"),
        "{message}"
    );
    assert!(
        message.contains("validator-0, validator-2 → h3; validator-1 → validator-1-"),
        "{message}"
    );
    let (passed, message) = judge(
        StubKind {
            finalized: same,
            forks: never,
        },
        Agreement,
    )
    .await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn liveness_names_the_stalled_window() {
    let (passed, message) = judge(
        StubKind {
            finalized: same,
            forks: never,
        },
        Liveness::new(1, Duration::from_secs(1)),
    )
    .await;
    assert!(!passed);
    assert!(
        message.contains("only 0 blocks were finalized (need 1 per 1000 ms window)"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn recovery_names_the_node_left_behind() {
    let kind = StubKind {
        finalized: |id| if id == "validator-2" { 4 } else { 9 },
        forks: never,
    };
    let (passed, message) = judge(kind, Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.ends_with(
            "not every node reached finalized height 9 within 2000 ms: validator-2 at 4"
        ),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn inclusion_without_a_block_feed_says_what_is_missing() {
    let ledger = Ledger::new();
    ledger.tx(TxRecord {
        id: Some(TxId("ab".to_owned())),
        node: NodeId::new("validator-0"),
        submitted_at_ms: 0,
        error: None,
    });
    let (passed, message) = judge(
        StubKind {
            finalized: same,
            forks: never,
        },
        TxInclusion::at_least(99.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert!(message.contains("needs a block feed"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn closures_combine_with_and_or_and_not() {
    let high = || check("high", |_ctx| async { Ok(Verdict::pass("height is high")) });
    let low = || check("low", |_ctx| async { Ok(Verdict::fail("height is low")) });
    let kind = || StubKind {
        finalized: same,
        forks: never,
    };
    assert!(!judge(kind(), high().and(low())).await.0);
    assert!(judge(kind(), high().or(low())).await.0);
    let (passed, message) = judge(kind(), low().not()).await;
    assert!(passed);
    assert_eq!(message, "expected the opposite of: height is low");
}
