//! The feed over fake nodes (which have no subscription, so it polls): it
//! sees every finalized height once per node, in order, without gaps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use scenario_core::fake::FakeNodeClient;
use scenario_core::feed::FeedStart;
use scenario_core::{BlockFeedFactory, FeedEvent, NodeClient, NodeId, Role, Timeline};
use tokio_util::sync::CancellationToken;

use super::{Feed, HISTORY_FILE};

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
    assert!(feed.finalized_blocks().contains_key(&1));
    let history = std::fs::read_to_string(dir.join(HISTORY_FILE)).unwrap();
    assert!(history.lines().count() >= 10);
    let _ = std::fs::remove_dir_all(&dir);
}
