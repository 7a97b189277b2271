//! The block feed handle: live blocks observed from the nodes during a run.
//! The `blockfeed` crate implements it; the core only starts it after deploy
//! (through a [`BlockFeedFactory`] given to the scenario) and stops it at
//! cleanup.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::client::{Block, NodeClient};
use crate::error::BoxError;
use crate::timeline::Timeline;
use crate::topology::NodeId;

/// A block as one node reported it, with when the feed saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedBlock {
    /// The node that reported it.
    pub node: NodeId,
    /// The block.
    pub block: Block,
    /// Milliseconds since the run started when the feed received it.
    pub observed_at_ms: u64,
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    /// A new block.
    Block(ObservedBlock),
    /// The subscriber fell behind and missed this many events.
    Lagged(u64),
}

/// Live blocks of a running network, shared by workloads and expectations.
pub trait BlockFeed: Send + Sync {
    /// A new subscription, starting with the next block observed.
    fn subscribe(&self) -> BoxStream<'static, FeedEvent>;

    /// The highest finalized height each node reported so far.
    fn finalized_heights(&self) -> BTreeMap<NodeId, u64>;

    /// The finalized blocks from `height` up, lowest first (the first
    /// node's report of each height), as far as the feed still holds them:
    /// a feed holds recent blocks only (at least those of the last two
    /// minutes) and writes all of them to the run's artifacts. A reader that
    /// asks for more than the feed holds gets a first block above `height`.
    fn finalized_blocks_from(&self, height: u64) -> Vec<ObservedBlock>;

    /// Each node's finalized height over time, `[ms since start, height]`:
    /// every change the feed saw, thinned evenly on long runs.
    fn height_series(&self) -> BTreeMap<NodeId, Vec<[u64; 2]>> {
        BTreeMap::new()
    }

    /// Follow a node that joined the running network too.
    fn add_node(&self, node: NodeId, client: Arc<dyn NodeClient>);
}

/// What a block feed is started with.
pub struct FeedStart {
    /// A client per node.
    pub clients: BTreeMap<NodeId, Arc<dyn NodeClient>>,
    /// The run's timeline.
    pub timeline: Timeline,
    /// Where the feed may persist the run's block history.
    pub artifacts_dir: PathBuf,
    /// Cancelled at cleanup; the feed stops then.
    pub cancel: CancellationToken,
}

/// Starts a block feed once the nodes are deployed.
#[async_trait::async_trait]
pub trait BlockFeedFactory: Send + Sync + 'static {
    /// Start observing the nodes.
    async fn start(&self, start: FeedStart) -> Result<Arc<dyn BlockFeed>, BoxError>;
}
