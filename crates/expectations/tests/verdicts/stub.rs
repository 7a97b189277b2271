//! The stub nodes, feed and helpers every verdict test runs on.

use super::*;

/// A node frozen at `finalized`, whose blocks from `fork_from` on carry its
/// own id in the hash when `forks` is set.
#[derive(Debug)]
pub(crate) struct StubNode {
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
pub(crate) struct StubKind {
    pub(crate) finalized: fn(&str) -> u64,
    pub(crate) forks: fn(&str) -> bool,
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

pub(crate) async fn judge(kind: StubKind, expectation: impl Expectation) -> (bool, String) {
    let plan = Scenario::builder("verdicts")
        .topology(Topology::new().validators(3))
        .node_kind(kind)
        .window(Duration::from_secs(3));
    verdict_of(plan, expectation).await
}

/// Run `plan` with one expectation on the fake deployer; its verdict.
pub(crate) async fn verdict_of(
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

pub(crate) fn same(_: &str) -> u64 {
    9
}
pub(crate) fn never(_: &str) -> bool {
    false
}

/// Stands for the workload that filled a ledger by hand in these tests.
pub(crate) struct Filled(pub(crate) Ledger);

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

/// A block feed that "saw" one finalized block carrying these txs and blobs.
pub(crate) struct StubFeed {
    pub(crate) txs: Vec<&'static str>,
    pub(crate) blobs: Vec<&'static str>,
}

impl scenario_core::BlockFeed for StubFeed {
    fn subscribe(&self) -> futures::stream::BoxStream<'static, scenario_core::FeedEvent> {
        Box::pin(futures::stream::empty())
    }
    fn finalized_heights(&self) -> std::collections::BTreeMap<NodeId, u64> {
        Default::default()
    }
    fn finalized_blocks_from(&self, height: u64) -> Vec<scenario_core::ObservedBlock> {
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
        let observed = scenario_core::ObservedBlock {
            node: NodeId::new("validator-0"),
            block,
            observed_at_ms: 5,
        };
        if height <= 1 {
            vec![observed]
        } else {
            Vec::new()
        }
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

pub(crate) async fn judge_with_feed(
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

pub(crate) fn accepted(ledger: &Ledger, id: &str, submitted_at_ms: u64) {
    ledger.tx(TxRecord {
        id: Some(TxId(id.to_owned())),
        node: NodeId::new("validator-0"),
        submitted_at_ms,
        error: None,
    });
}

/// Three validators and a `liar-0` that claims more than it can serve.
pub(crate) async fn judge_with_a_liar(expectation: impl Expectation) -> (bool, String) {
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
