//! Live block observation for testbed. [`Feed`] is a `BlockFeedFactory`:
//! give it to a scenario with `.block_feed(Feed::new())` and, once the
//! nodes are up, it follows every node's finalized blocks — through the
//! node's block subscription when it has one, by polling otherwise —
//! reconnecting after a node goes down or restarts and resuming from the next
//! height, so nothing is missed. Subscribers get every observation through a
//! bounded fan-out that reports a lagging subscriber instead of blocking the
//! feed. The run's block history is written to `blocks.ndjson` in the run's
//! artifact directory.
//!
//! Depend on it to observe blocks in a scenario; workloads and expectations
//! read the feed through scenario-core's `BlockFeed` trait.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use scenario_core::feed::FeedStart;
use scenario_core::thinned::Thinned;
use scenario_core::{
    BlockFeed, BlockFeedFactory, BoxError, ClientError, FeedEvent, NodeClient, NodeId,
    ObservedBlock, Timeline,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The file the block history goes to, in the run's artifact directory.
pub const HISTORY_FILE: &str = "blocks.ndjson";

/// Starts a block feed; see the crate docs.
#[derive(Clone, Debug)]
pub struct Feed {
    poll_interval: Duration,
    capacity: usize,
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

impl Feed {
    /// A feed polling every 200 ms for nodes without a subscription, with a
    /// fan-out buffer of 4096 observations per subscriber.
    pub fn new() -> Self {
        Self {
            poll_interval: Duration::from_millis(200),
            capacity: 4096,
        }
    }

    /// How often to poll nodes that offer no block subscription.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How many observations a subscriber may fall behind before it is told
    /// it lagged.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}

/// How long the feed holds a finalized block in memory after it saw it
/// (every block is in the history file).
const HOLD_BLOCKS_MS: u64 = 120_000;

/// How many of the newest heights the feed holds however old they are.
const HOLD_AT_LEAST: usize = 64;

/// Height changes kept per node for the report's plot.
const SERIES_POINTS: usize = 2048;

#[derive(Default)]
struct Seen {
    heights: BTreeMap<NodeId, u64>,
    series: BTreeMap<NodeId, Thinned<[u64; 2]>>,
    blocks: BTreeMap<u64, ObservedBlock>,
    /// The highest height forgotten (0: none).
    forgotten_up_to: u64,
}

impl Seen {
    /// Hold the first report of a height, unless that height was already
    /// forgotten.
    fn hold(&mut self, observed: &ObservedBlock) {
        let height = observed.block.height;
        if height > self.forgotten_up_to && !self.blocks.contains_key(&height) {
            self.blocks.insert(height, observed.clone());
            self.forget_old(observed.observed_at_ms);
        }
    }

    /// Forget blocks older than the hold time, keeping the newest few.
    fn forget_old(&mut self, now_ms: u64) {
        while self.blocks.len() > HOLD_AT_LEAST
            && let Some(entry) = self.blocks.first_entry()
            && entry.get().observed_at_ms.saturating_add(HOLD_BLOCKS_MS) < now_ms
        {
            self.forgotten_up_to = self.forgotten_up_to.max(*entry.key());
            entry.remove();
        }
    }
}

/// A running feed.
pub struct LiveFeed {
    me: std::sync::Weak<LiveFeed>,
    poll_interval: Duration,
    cancel: CancellationToken,
    seen: Mutex<Seen>,
    sender: broadcast::Sender<ObservedBlock>,
    history: Mutex<Option<std::fs::File>>,
    timeline: Timeline,
}

impl LiveFeed {
    fn observe(&self, node: &NodeId, block: scenario_core::Block) {
        if !block.finalized {
            return;
        }
        let observed = ObservedBlock {
            node: node.clone(),
            observed_at_ms: self.timeline.elapsed_ms(),
            block,
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let height = seen.heights.entry(node.clone()).or_default();
            if observed.block.height > *height {
                *height = observed.block.height;
                let point = [observed.observed_at_ms, observed.block.height];
                seen.series
                    .entry(node.clone())
                    .or_insert_with(|| Thinned::new(SERIES_POINTS))
                    .push(point);
            }
            seen.hold(&observed);
        }
        if let Some(file) = self
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            && let Ok(line) = serde_json::to_string(&observed)
        {
            let _ = writeln!(file, "{line}");
        }
        let _ = self.sender.send(observed);
    }

    fn next_height(&self, node: &NodeId) -> u64 {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .heights
            .get(node)
            .map_or(1, |h| h + 1)
    }
}

impl BlockFeed for LiveFeed {
    fn subscribe(&self) -> BoxStream<'static, FeedEvent> {
        let receiver = self.sender.subscribe();
        futures::stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(block) => Some((FeedEvent::Block(block), receiver)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((FeedEvent::Lagged(missed), receiver))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .boxed()
    }

    fn finalized_heights(&self) -> BTreeMap<NodeId, u64> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .heights
            .clone()
    }

    fn finalized_blocks_from(&self, height: u64) -> Vec<ObservedBlock> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocks
            .range(height..)
            .map(|(_, block)| block.clone())
            .collect()
    }

    fn height_series(&self) -> BTreeMap<NodeId, Vec<[u64; 2]>> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .series
            .iter()
            .map(|(node, series)| (node.clone(), series.points()))
            .collect()
    }

    fn add_node(&self, node: NodeId, client: Arc<dyn NodeClient>) {
        if let Some(feed) = self.me.upgrade() {
            tokio::spawn(follow(
                feed,
                node,
                client,
                self.poll_interval,
                self.cancel.clone(),
            ));
        }
    }
}

/// Follow one node until cancelled: subscribe (or poll), and after any
/// failure reconnect from the next height not yet seen from it.
async fn follow(
    feed: Arc<LiveFeed>,
    node: NodeId,
    client: Arc<dyn NodeClient>,
    poll: Duration,
    cancel: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let mut subscribe = true;
    while !cancel.is_cancelled() {
        let from = feed.next_height(&node);
        if subscribe {
            match client.block_stream(from).await {
                Ok(mut stream) => {
                    backoff = Duration::from_millis(100);
                    loop {
                        let next = tokio::select! {
                            () = cancel.cancelled() => return,
                            next = stream.next() => next,
                        };
                        match next {
                            Some(Ok(block)) => feed.observe(&node, block),
                            Some(Err(_)) | None => break,
                        }
                    }
                }
                Err(ClientError::Unsupported { .. }) => subscribe = false,
                Err(_) => {}
            }
        } else if let Ok(info) = client.info().await {
            for height in from..=info.finalized_height {
                match client.block(height).await {
                    Ok(block) => feed.observe(&node, block),
                    Err(_) => break,
                }
            }
            backoff = poll;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2)
            .min(Duration::from_secs(1))
            .max(poll.min(Duration::from_secs(1)));
    }
}

#[async_trait::async_trait]
impl BlockFeedFactory for Feed {
    async fn start(&self, start: FeedStart) -> Result<Arc<dyn BlockFeed>, BoxError> {
        let history = std::fs::File::create(start.artifacts_dir.join(HISTORY_FILE))?;
        let feed = Arc::new_cyclic(|me| LiveFeed {
            me: me.clone(),
            poll_interval: self.poll_interval,
            cancel: start.cancel.clone(),
            seen: Mutex::default(),
            sender: broadcast::channel(self.capacity).0,
            history: Mutex::new(Some(history)),
            timeline: start.timeline.clone(),
        });
        for (node, client) in start.clients {
            tokio::spawn(follow(
                Arc::clone(&feed),
                node,
                client,
                self.poll_interval,
                start.cancel.clone(),
            ));
        }
        Ok(feed)
    }
}

#[cfg(test)]
mod tests;
