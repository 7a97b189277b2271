//! The feed over fake nodes (which have no subscription, so it polls): it
//! sees every finalized height once per node, in order, without gaps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use scenario_core::fake::FakeNodeClient;
use scenario_core::feed::FeedStart;
use scenario_core::{
    BlockFeedFactory, FeedEvent, NodeClient, NodeId, ObservedBlock, Role, Timeline,
};
use tokio_util::sync::CancellationToken;

use super::{Feed, HISTORY_FILE, HOLD_AT_LEAST, Seen};

#[tokio::test(start_paused = true)]
async fn polling_observes_every_finalized_height_in_order_and_keeps_history() {
    let dir = std::env::temp_dir().join(format!("blockfeed-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nodes: BTreeMap<NodeId, Arc<dyn NodeClient>> = ["validator-0", "validator-1"]
        .into_iter()
        .map(|id| {
            (
                NodeId::new(id),
                Arc::new(FakeNodeClient::new(NodeId::new(id), Role::Validator))
                    as Arc<dyn NodeClient>,
            )
        })
        .collect();
    let cancel = CancellationToken::new();
    let feed = Feed::new()
        .poll_interval(Duration::from_millis(50))
        .start(FeedStart {
            clients: nodes,
            timeline: Timeline::new(),
            artifacts_dir: dir.clone(),
            cancel: cancel.clone(),
        })
        .await
        .unwrap();
    let mut events = feed.subscribe();
    let mut seen: BTreeMap<NodeId, Vec<u64>> = BTreeMap::new();
    while seen.values().map(Vec::len).sum::<usize>() < 10 {
        match events.next().await.unwrap() {
            FeedEvent::Block(observed) => seen
                .entry(observed.node)
                .or_default()
                .push(observed.block.height),
            FeedEvent::Lagged(missed) => panic!("lagged by {missed}"),
        }
    }
    cancel.cancel();
    for (node, heights) in &seen {
        let expected: Vec<u64> = (1..=heights.len() as u64).collect();
        assert_eq!(heights, &expected, "{node} saw every height once, in order");
    }
    let held = feed.finalized_blocks_from(1);
    assert_eq!(held.first().map(|b| b.block.height), Some(1));
    assert!(
        held.windows(2)
            .all(|w| w[1].block.height == w[0].block.height + 1)
    );
    let history = std::fs::read_to_string(dir.join(HISTORY_FILE)).unwrap();
    assert!(history.lines().count() >= 10);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node whose block subscription breaks after three blocks every time.
#[derive(Debug)]
struct FlakyNode {
    id: NodeId,
    subscriptions: std::sync::atomic::AtomicU64,
}

fn block(height: u64) -> scenario_core::Block {
    scenario_core::Block {
        height,
        hash: format!("h{height}"),
        parent: format!("h{}", height - 1),
        proposer: NodeId::new("validator-0"),
        committed_at_ms: height,
        finalized: true,
        txs: Vec::new(),
        blobs: Vec::new(),
    }
}

#[scenario_core::async_trait]
impl NodeClient for FlakyNode {
    fn node(&self) -> &NodeId {
        &self.id
    }
    async fn info(&self) -> Result<scenario_core::NodeInfo, scenario_core::ClientError> {
        Err(self.unsupported("info"))
    }
    async fn block(&self, height: u64) -> Result<scenario_core::Block, scenario_core::ClientError> {
        Ok(block(height))
    }
    async fn block_stream(
        &self,
        from: u64,
    ) -> Result<scenario_core::client::BlockStream, scenario_core::ClientError> {
        self.subscriptions
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let node = self.id.clone();
        let items: Vec<Result<scenario_core::Block, scenario_core::ClientError>> = (from..from + 3)
            .map(|h| Ok(block(h)))
            .chain([Err(scenario_core::ClientError::Protocol {
                node,
                detail: "connection reset".to_owned(),
            })])
            .collect();
        Ok(futures::stream::iter(items).boxed())
    }
}

#[tokio::test(start_paused = true)]
async fn a_broken_subscription_resumes_from_the_next_height_without_gaps() {
    let dir = std::env::temp_dir().join(format!("blockfeed-flaky-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flaky = Arc::new(FlakyNode {
        id: NodeId::new("validator-0"),
        subscriptions: Default::default(),
    });
    let nodes: BTreeMap<NodeId, Arc<dyn NodeClient>> = [(
        NodeId::new("validator-0"),
        Arc::clone(&flaky) as Arc<dyn NodeClient>,
    )]
    .into();
    let cancel = CancellationToken::new();
    let feed = Feed::new()
        .start(FeedStart {
            clients: nodes,
            timeline: Timeline::new(),
            artifacts_dir: dir.clone(),
            cancel: cancel.clone(),
        })
        .await
        .unwrap();
    let mut events = feed.subscribe();
    let mut heights = Vec::new();
    while heights.len() < 9 {
        if let FeedEvent::Block(observed) = events.next().await.unwrap() {
            heights.push(observed.block.height);
        }
    }
    cancel.cancel();
    assert_eq!(heights, (1..=9).collect::<Vec<u64>>());
    assert!(
        flaky
            .subscriptions
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 3,
        "it resubscribed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_feed_forgets_blocks_after_the_hold_time_but_keeps_the_newest() {
    let mut seen = Seen::default();
    let block = |height: u64, at: u64| ObservedBlock {
        node: NodeId::new("validator-0"),
        block: scenario_core::Block {
            height,
            hash: format!("h{height}"),
            parent: String::new(),
            proposer: NodeId::new("validator-0"),
            committed_at_ms: at,
            finalized: true,
            txs: Vec::new(),
            blobs: Vec::new(),
        },
        observed_at_ms: at,
    };
    // 200 blocks, one a second.
    for height in 1..=200u64 {
        seen.blocks.insert(height, block(height, height * 1000));
    }
    seen.forget_old(200_000);
    let oldest = *seen.blocks.keys().next().unwrap();
    assert_eq!(oldest, 80, "blocks seen within the last 120 s are held");
    // Long after the chain stopped, the newest heights are still held.
    seen.forget_old(10_000_000);
    assert_eq!(seen.blocks.len(), HOLD_AT_LEAST);
    assert_eq!(seen.blocks.keys().last(), Some(&200));
    // A late first report of a forgotten height is not held again; one of
    // a height never seen is.
    seen.hold(&block(100, 10_000_000));
    assert!(!seen.blocks.contains_key(&100));
    seen.blocks.remove(&190);
    seen.hold(&block(190, 10_000_000));
    assert!(seen.blocks.contains_key(&190));
}
