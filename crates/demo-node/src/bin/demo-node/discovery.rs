//! `--discover`, like libp2p/discv5 nodes: the node knows the members (ids
//! and roles) but not where they are. About every second it exchanges peer
//! lists with `--bootstrap` and with every peer it learned
//! (`POST /p2p/v1/peers`: it sends a [`PeerList`], the other side learns from
//! it and answers its own), and from then on dials what it learned.
//!
//! What a node says about itself replaces what was known for its id (a node
//! that moved is followed); what it says about others only fills ids not
//! known yet, so a stale second-hand address never overrides a first-hand one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::metrics::gauge_value;
use crate::node::Node;

/// Between two rounds of exchanges.
const EXCHANGE_EVERY: Duration = Duration::from_secs(1);
/// The route peer lists are exchanged on.
const PEERS_PATH: &str = "/p2p/v1/peers";

/// One node and where its peers reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerRecord {
    pub(crate) id: String,
    pub(crate) role: String,
    pub(crate) address: String,
}

/// The body of an exchange, both ways: the sender, and every peer it knows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PeerList {
    pub(crate) sender: PeerRecord,
    pub(crate) known: Vec<PeerRecord>,
}

impl Node {
    /// This node's own record and every peer whose address it knows.
    fn peer_list(&self) -> PeerList {
        let address = self
            .config
            .advertise
            .clone()
            .unwrap_or_else(|| self.config.p2p_listen.to_string());
        let known = self
            .net
            .known()
            .into_iter()
            .filter_map(|(id, address)| {
                let role = self.config.peers.iter().find(|p| p.id == id)?.role;
                Some(PeerRecord {
                    id,
                    role: role.as_str().to_owned(),
                    address,
                })
            })
            .collect();
        PeerList {
            sender: PeerRecord {
                id: self.config.node_id.clone(),
                role: self.config.role.as_str().to_owned(),
                address,
            },
            known,
        }
    }

    /// Learn from a peer list (only with `--discover`; configured addresses
    /// stay as configured). Records of non-members, of a member under
    /// another role, or of this node itself are ignored.
    fn learn_peers(&self, list: &PeerList) {
        if self.config.bootstrap.is_none() {
            return;
        }
        let is_member = |record: &PeerRecord| {
            self.config
                .peers
                .iter()
                .any(|p| p.id == record.id && p.role.as_str() == record.role)
        };
        if is_member(&list.sender) && self.net.learn(&list.sender.id, &list.sender.address) {
            tracing::info!(peer = %list.sender.id, address = %list.sender.address, "learned a peer");
        }
        for record in &list.known {
            if is_member(record)
                && self.net.address_of(&record.id).is_none()
                && self.net.learn(&record.id, &record.address)
            {
                tracing::info!(peer = %record.id, address = %record.address, from = %list.sender.id, "learned a peer");
            }
        }
        self.metrics
            .known_peers
            .set(gauge_value(self.net.known().len() as u64));
    }

    /// Exchange peer lists with the node at `address`.
    async fn exchange_peers(&self, address: &str) -> Result<(), String> {
        let body = serde_json::to_vec(&self.peer_list()).map_err(|e| e.to_string())?;
        let (status, bytes) = self.net.exchange(address, PEERS_PATH, body).await?;
        if !status.is_success() {
            return Err(format!("{address} answered {status}"));
        }
        let list: PeerList = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{address} answered no peer list: {e}"))?;
        self.learn_peers(&list);
        Ok(())
    }
}

/// With `--discover`, exchange peer lists with the bootstrap node and every
/// learned peer about every second, until the process ends.
pub(crate) fn start(node: &Arc<Node>) {
    let Some(bootstrap) = node.config.bootstrap.clone() else {
        return;
    };
    let node = Arc::clone(node);
    tokio::spawn(async move {
        let mut rounds = tokio::time::interval(EXCHANGE_EVERY);
        rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            rounds.tick().await;
            let mut targets: BTreeSet<String> =
                node.net.known().into_iter().map(|(_, a)| a).collect();
            targets.insert(bootstrap.clone());
            let exchanges = targets.iter().map(|address| {
                let node = Arc::clone(&node);
                async move {
                    if let Err(error) = node.exchange_peers(address).await {
                        tracing::debug!(%address, %error, "peer exchange failed");
                    }
                }
            });
            futures::future::join_all(exchanges).await;
        }
    });
}

/// `POST /p2p/v1/peers`: learn from the sender's list, answer this node's.
pub(crate) async fn answer(
    State(node): State<Arc<Node>>,
    body: Bytes,
) -> Result<axum::Json<PeerList>, StatusCode> {
    let list: PeerList = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    node.learn_peers(&list);
    Ok(axum::Json(node.peer_list()))
}
