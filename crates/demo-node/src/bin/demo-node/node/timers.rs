//! The timers that drive a node: the consensus tick, block proposals (and
//! the `delay-proposals` misbehaviour), an executor's pulls when no leader
//! sends it blocks, pings and forwarding, and the `lose-blobs-after` pruning.

use std::sync::Arc;

use crate::config::NodeRole;
use crate::consensus::Consensus;
use crate::p2p::PeerMessage;

use super::{Node, PING_EVERY, PULL_EVERY, PULL_WHEN_QUIET, TICK};

impl Node {
    /// Run the node's timers until the process ends.
    pub(crate) fn start_timers(self: &Arc<Self>) {
        let node = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                node.step(Consensus::tick);
            }
        });
        let node = Arc::clone(self);
        tokio::spawn(async move {
            let mut blocks = tokio::time::interval(node.config.block_time);
            blocks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let delay = node.config.misbehave.delay_proposals;
            loop {
                blocks.tick().await;
                if !delay.is_zero() {
                    // `--misbehave delay-proposals`: the next block time
                    // counts from after the delay.
                    tokio::time::sleep(delay).await;
                    blocks.reset();
                }
                node.produce_block();
            }
        });
        if let Some(after) = self.config.misbehave.lose_blobs_after {
            let node = Arc::clone(self);
            tokio::spawn(async move { node.lose_blobs(after).await });
        }
        if self.config.role == NodeRole::Executor {
            let node = Arc::clone(self);
            tokio::spawn(async move {
                let mut pulls = tokio::time::interval(PULL_EVERY);
                let validators: Vec<String> = node
                    .config
                    .validators()
                    .into_iter()
                    .filter(|v| *v != node.config.node_id)
                    .collect();
                for turn in 0usize.. {
                    pulls.tick().await;
                    let quiet = node
                        .lock()
                        .last_append
                        .is_none_or(|at| at.elapsed() > PULL_WHEN_QUIET);
                    if quiet && !validators.is_empty() {
                        node.pull_from(&validators[turn % validators.len()]).await;
                    }
                }
            });
        }
        let node = Arc::clone(self);
        tokio::spawn(async move {
            let mut chores = tokio::time::interval(PING_EVERY);
            loop {
                chores.tick().await;
                for peer in node.net.peers() {
                    node.net.send(peer, PeerMessage::Ping);
                }
                node.forward_pending();
            }
        });
    }

    /// Pull committed blocks from a validator (executors the leader does not
    /// know, e.g. one that joined a running network, follow the chain so).
    async fn pull_from(&self, validator: &str) {
        let from = self.lock().consensus.height() + 1;
        match self.net.pull(validator, from).await {
            Ok(answer) => {
                self.step(|c, _| c.apply_synced(answer.blocks, answer.commit, answer.leader))
            }
            Err(error) => tracing::debug!(%validator, %error, "pull failed"),
        }
    }
}
