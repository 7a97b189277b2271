//! [`Misbehaviour`]: the test-only bugs demo-node plants on purpose, typed,
//! rendered as its `--misbehave` flag values.

use std::fmt;
use std::time::Duration;

/// A bug one demo-node plants on purpose (`--misbehave`), for tests that
/// prove a judge catches it; see the guide's demo-node chapter,
/// "Misbehaviour switches (tests only)". Give it to one node with
/// [`DemoNode::misbehave`](crate::DemoNode::misbehave).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// As leader, propose no block once the chain is `after_height` blocks
    /// high (0: never propose); heartbeats go on, so no other validator
    /// takes over and finalization stops.
    StallProposals {
        /// The height after which no block is proposed.
        after_height: u64,
    },
    /// Answer `percent` % of new transactions (every 100/P-th) as accepted,
    /// then drop them: never pending, forwarded or included.
    DropTxs {
        /// The share dropped, 1 to 100.
        percent: u8,
    },
    /// Finalize a block of the node's own making at `height` instead of the
    /// leader's: a fork. The node cannot follow the chain past it.
    ForkAt {
        /// The height of the forged block.
        height: u64,
    },
    /// Delete each blob the node stores `after` the block certifying it was
    /// finalized (whole seconds, rounded up).
    LoseBlobsAfter(Duration),
    /// After a restart, never apply a block proposed before the process
    /// started: the blocks missed while down are never synced.
    NoCatchUp,
    /// Report the height and finalized height `by` blocks above what the
    /// node has; the blocks there cannot be served.
    InflateHeight {
        /// How many blocks more are claimed.
        by: u64,
    },
    /// As leader, wait this long more before each proposal (whole
    /// milliseconds): a latency regression.
    DelayProposals(Duration),
}

impl fmt::Display for Misbehaviour {
    /// The value of the `--misbehave` flag, e.g. `drop-txs=4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StallProposals { after_height } => write!(f, "stall-proposals={after_height}"),
            Self::DropTxs { percent } => write!(f, "drop-txs={percent}"),
            Self::ForkAt { height } => write!(f, "fork-at={height}"),
            Self::LoseBlobsAfter(after) => {
                let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
                write!(f, "lose-blobs-after={secs}")
            }
            Self::NoCatchUp => f.write_str("no-catch-up"),
            Self::InflateHeight { by } => write!(f, "inflate-height={by}"),
            Self::DelayProposals(delay) => write!(f, "delay-proposals={}", delay.as_millis()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_renders_as_its_flag_value() {
        let cases = [
            (
                Misbehaviour::StallProposals { after_height: 20 },
                "stall-proposals=20",
            ),
            (Misbehaviour::DropTxs { percent: 4 }, "drop-txs=4"),
            (Misbehaviour::ForkAt { height: 9 }, "fork-at=9"),
            (
                Misbehaviour::LoseBlobsAfter(Duration::from_millis(2500)),
                "lose-blobs-after=3",
            ),
            (Misbehaviour::NoCatchUp, "no-catch-up"),
            (
                Misbehaviour::InflateHeight { by: 1000 },
                "inflate-height=1000",
            ),
            (
                Misbehaviour::DelayProposals(Duration::from_millis(800)),
                "delay-proposals=800",
            ),
        ];
        for (misbehaviour, flag) in cases {
            assert_eq!(misbehaviour.to_string(), flag);
        }
    }
}
