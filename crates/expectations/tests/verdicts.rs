//! Expectations judged on stub networks (run through the fake deployer):
//! each fails when it should, naming the culprit, and passes when it should.

use std::sync::Arc;
use std::time::Duration;

use expectations::{Agreement, DaAvailability, Liveness, Recovery, TxInclusion, check};
use scenario_core::fake::FakeDeployer;
use scenario_core::ledger::{Ledger, TxRecord};
use scenario_core::prelude::*;
use scenario_core::{BlobId, BlobSample, Block, ClientError, NodeEndpoint, NodeInfo, TxId};

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
    /// Every blob but those named `gone…` is one chunk, served with its proof.
    async fn sample_blob(&self, blob: &BlobId, index: u32) -> Result<BlobSample, ClientError> {
        if blob.0.starts_with("gone") {
            return Err(ClientError::NotFound {
                node: self.id.clone(),
                what: format!("blob {blob}"),
            });
        }
        let chunk = b"chunk".to_vec();
        let tree = node_http::merkle::Tree::new(&[&chunk]);
        let hex = |hash: &[u8; 32]| hash.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(BlobSample {
            blob: blob.clone(),
            index,
            chunk_count: 1,
            commitment: hex(&tree.root()),
            proof: tree.proof(0).unwrap_or_default().iter().map(hex).collect(),
            chunk,
        })
    }

    async fn block(&self, height: u64) -> Result<Block, ClientError> {
        // A node named `liar-…` claims three blocks more than it has.
        if self.id.as_str().starts_with("liar") && height + 3 > self.finalized {
            return Err(ClientError::NotFound {
                node: self.id.clone(),
                what: format!("block at height {height}"),
            });
        }
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
    let plan = Scenario::builder("verdicts")
        .topology(Topology::new().validators(3))
        .node_kind(kind)
        .window(Duration::from_secs(3));
    verdict_of(plan, expectation).await
}

/// Run `plan` with one expectation on the fake deployer; its verdict.
async fn verdict_of(
    plan: scenario_core::ScenarioBuilder,
    expectation: impl Expectation,
) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = plan
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
        message.starts_with("finalization stalled at height 9: between "),
        "{message}"
    );
    assert!(
        message.contains("only 0 blocks were finalized (need 1 per 1000 ms window); no node reported a leader"),
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

#[test]
fn inclusion_without_a_block_feed_or_a_workload_writing_its_ledger_is_refused_at_build() {
    let ledger = Ledger::new();
    let error = Scenario::builder("verdicts")
        .topology(Topology::new().validators(1))
        .node_kind(StubKind {
            finalized: same,
            forks: never,
        })
        .window(Duration::from_secs(1))
        .expectation(TxInclusion::at_least(99.0, &ledger))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"tx-inclusion\" needs a block feed, but the plan has none"),
        "{error}"
    );
    assert!(
        error.contains("reads a ledger that no workload of the plan writes"),
        "{error}"
    );
}

/// Stands for the workload that filled a ledger by hand in these tests.
struct Filled(Ledger);

#[async_trait]
impl Workload for Filled {
    fn name(&self) -> &str {
        "filled-by-hand"
    }
    fn requirements(&self) -> Requirements {
        Requirements::none().writes(&self.0)
    }
    async fn run(&self, _: &RunContext, _: CancellationToken) -> Result<(), BoxError> {
        Ok(())
    }
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

#[tokio::test(start_paused = true)]
async fn built_in_expectations_combine_with_each_other_and_with_closures() {
    let forked = StubKind {
        finalized: same,
        forks: |id| id == "validator-1",
    };
    let combined = Agreement.and(check("fine", |_ctx| async { Ok(Verdict::pass("fine")) }));
    assert_eq!(combined.name(), "agreement and fine");
    let (passed, message) = judge(forked, combined).await;
    assert!(!passed, "{message}");
    assert!(message.ends_with("; fine"), "{message}");

    let healthy = || StubKind {
        finalized: same,
        forks: never,
    };
    let either = Agreement.or(Recovery::within(Duration::from_secs(2)));
    assert!(judge(healthy(), either).await.0);
    assert!(!judge(healthy(), Agreement.not()).await.0);
}

/// A block feed that "saw" one finalized block carrying these txs and blobs.
struct StubFeed {
    txs: Vec<&'static str>,
    blobs: Vec<&'static str>,
}

impl scenario_core::BlockFeed for StubFeed {
    fn subscribe(&self) -> futures::stream::BoxStream<'static, scenario_core::FeedEvent> {
        Box::pin(futures::stream::empty())
    }
    fn finalized_heights(&self) -> std::collections::BTreeMap<NodeId, u64> {
        Default::default()
    }
    fn finalized_blocks(&self) -> std::collections::BTreeMap<u64, scenario_core::ObservedBlock> {
        let block = Block {
            height: 1,
            hash: "h1".to_owned(),
            parent: String::new(),
            proposer: NodeId::new("validator-0"),
            committed_at_ms: 1_000,
            finalized: true,
            txs: self.txs.iter().map(|t| TxId((*t).to_owned())).collect(),
            blobs: self.blobs.iter().map(|b| BlobId((*b).to_owned())).collect(),
        };
        [(
            1,
            scenario_core::ObservedBlock {
                node: NodeId::new("validator-0"),
                block,
                observed_at_ms: 5,
            },
        )]
        .into()
    }
    fn add_node(&self, _node: NodeId, _client: Arc<dyn NodeClient>) {}
}

#[async_trait]
impl scenario_core::BlockFeedFactory for StubFeed {
    async fn start(
        &self,
        _start: scenario_core::feed::FeedStart,
    ) -> Result<Arc<dyn scenario_core::BlockFeed>, BoxError> {
        Ok(Arc::new(StubFeed {
            txs: self.txs.clone(),
            blobs: self.blobs.clone(),
        }))
    }
}

async fn judge_with_feed(
    feed: StubFeed,
    ledger: &Ledger,
    expectation: impl Expectation,
) -> (bool, String) {
    let plan = Scenario::builder("verdicts")
        .topology(Topology::new().validators(1).executors(1))
        .node_kind(StubKind {
            finalized: same,
            forks: never,
        })
        .window(Duration::from_secs(1))
        .workload(Filled(ledger.clone()))
        .block_feed(feed);
    verdict_of(plan, expectation).await
}

fn accepted(ledger: &Ledger, id: &str, submitted_at_ms: u64) {
    ledger.tx(TxRecord {
        id: Some(TxId(id.to_owned())),
        node: NodeId::new("validator-0"),
        submitted_at_ms,
        error: None,
    });
}

#[tokio::test(start_paused = true)]
async fn inclusion_fails_below_its_share_naming_a_missing_transaction_and_on_a_latency_bound() {
    let ledger = Ledger::new();
    for id in ["a", "b", "c", "d"] {
        accepted(&ledger, id, 400);
    }
    let feed = || StubFeed {
        txs: vec!["a"],
        blobs: vec![],
    };
    let (passed, message) =
        judge_with_feed(feed(), &ledger, TxInclusion::at_least(90.0, &ledger)).await;
    assert!(!passed);
    assert!(
        message.starts_with(
            "1 of 4 accepted transactions that had time to settle were finalized (25.0 %), at least 90 % must be; e.g. b submitted to validator-0 at "
        ),
        "{message}"
    );

    let (passed, message) = judge_with_feed(
        feed(),
        &ledger,
        TxInclusion::at_least(20.0, &ledger).p50_below(Duration::from_millis(100)),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "inclusion latency p50 outside fault windows is 600 ms, above the bound of 100 ms (1 transactions sent outside faults)"
    );
    let (passed, message) =
        judge_with_feed(feed(), &ledger, TxInclusion::at_least(20.0, &ledger)).await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn da_availability_fails_on_uncertified_blobs_and_on_a_bad_sample() {
    use scenario_core::ledger::BlobRecord;
    let ledger = Ledger::new();
    let blob = |id: &str| BlobRecord {
        id: Some(BlobId(id.to_owned())),
        node: NodeId::new("executor-0"),
        dispersed_at_ms: 0,
        error: None,
        samples_verified: 0,
        sample_failures: Vec::new(),
    };
    ledger.blob(blob("x"));
    let index = ledger.blob(blob("y"));
    let (passed, message) = judge_with_feed(
        StubFeed {
            txs: vec![],
            blobs: vec!["y"],
        },
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "50.0 % of 2 accepted blobs were certified, below 90 %"
    );

    ledger.sampled(
        index,
        Err("executor-0's proof for chunk 3 of y does not verify".to_owned()),
    );
    let (passed, message) = judge_with_feed(
        StubFeed {
            txs: vec![],
            blobs: vec!["x", "y"],
        },
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "1 samples failed; the first: executor-0's proof for chunk 3 of y does not verify"
    );
}

#[tokio::test(start_paused = true)]
async fn agreement_checks_past_the_slowest_node_and_says_how_far() {
    let behind = StubKind {
        finalized: |id| if id == "validator-2" { 2 } else { 9 },
        forks: |id| id == "validator-1",
    };
    let (passed, message) = judge(behind, Agreement).await;
    assert!(!passed, "a fork above the slowest node's tip is caught");
    assert!(
        message.starts_with("nodes finalized different blocks at height 3:"),
        "{message}"
    );

    let healthy = StubKind {
        finalized: |id| if id == "validator-2" { 2 } else { 9 },
        forks: never,
    };
    let (passed, message) = judge(healthy, Agreement).await;
    assert!(passed, "{message}");
    assert_eq!(
        message,
        "3 nodes agree on every height two or more of them finalized, 1..=9 (all 3 nodes up to 2)"
    );
}

/// Three validators and a `liar-0` that claims more than it can serve.
async fn judge_with_a_liar(expectation: impl Expectation) -> (bool, String) {
    let plan = Scenario::builder("verdicts")
        .topology(
            Topology::new()
                .validators(2)
                .node("liar-0", Role::Validator),
        )
        .node_kind(StubKind {
            finalized: same,
            forks: never,
        })
        .window(Duration::from_secs(3));
    verdict_of(plan, expectation).await
}

#[tokio::test(start_paused = true)]
async fn a_node_claiming_more_than_it_can_serve_fails_agreement_and_recovery() {
    let (passed, message) = judge_with_a_liar(Agreement).await;
    assert!(!passed);
    assert!(
        message.contains("liar-0 claims finalized height 9 but cannot serve block 7"),
        "{message}"
    );
    let (passed, message) = judge_with_a_liar(Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.contains("liar-0 claims finalized height 9 but cannot serve block 9"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn recovery_on_a_chain_that_stopped_fails() {
    // Every stub node sits at height 9 for ever: converged, not progressing.
    let kind = StubKind {
        finalized: same,
        forks: never,
    };
    let (passed, message) = judge(kind, Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.ends_with("but the chain did not finalize height 10 within 2000 ms (validator-0 at 9, validator-1 at 9, validator-2 at 9): it stopped instead of recovering"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_blob_that_disappears_after_certification_fails_at_evaluation() {
    use scenario_core::ledger::BlobRecord;
    let ledger = Ledger::new();
    for id in ["kept", "gone-1"] {
        ledger.blob(BlobRecord {
            id: Some(BlobId(id.to_owned())),
            node: NodeId::new("executor-0"),
            dispersed_at_ms: 0,
            error: None,
            samples_verified: 3,
            sample_failures: Vec::new(),
        });
    }
    let feed = |blobs| StubFeed { txs: vec![], blobs };
    let (passed, message) = judge_with_feed(
        feed(vec!["kept", "gone-1"]),
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "1 of 2 certified blobs could no longer be sampled at evaluation; the first: blob gone-1 (certified at height 1): no executor holds it any more"
    );
    let only_kept = Ledger::new();
    only_kept.blob(BlobRecord {
        id: Some(BlobId("kept".to_owned())),
        node: NodeId::new("executor-0"),
        dispersed_at_ms: 0,
        error: None,
        samples_verified: 3,
        sample_failures: Vec::new(),
    });
    let (passed, message) = judge_with_feed(
        feed(vec!["kept"]),
        &only_kept,
        DaAvailability::at_least(90.0, &only_kept),
    )
    .await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn strict_inclusion_fails_on_one_silently_dropped_transaction() {
    let ledger = Ledger::new();
    for id in ["a", "b", "c", "d"] {
        accepted(&ledger, id, 400);
    }
    let feed = StubFeed {
        txs: vec!["a", "b", "c"],
        blobs: vec![],
    };
    let (passed, message) = judge_with_feed(feed, &ledger, TxInclusion::all(&ledger)).await;
    assert!(!passed);
    assert!(
        message.starts_with("3 of 4 accepted transactions that had time to settle were finalized (75.0 %), every one must be; e.g. d submitted to validator-0"),
        "{message}"
    );
}
