//! Data availability on a node: storing a blob pushed to this executor,
//! dispersing one to its executors for a certificate, what the node knows
//! of each blob from the certificates in finalized blocks, and the
//! `lose-blobs-after` misbehaviour that deletes blobs after a while.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::block::{BlobCert, Block};
use crate::config::NodeRole;
use crate::da;

use super::{BlobInfo, Node, State};

/// How often `lose-blobs-after` looks for blobs due for deletion.
const PRUNE_EVERY: Duration = Duration::from_millis(100);

impl Node {
    /// Store a blob pushed to this executor, after checking its id.
    pub(crate) fn store_blob(&self, id: &str, bytes: &[u8]) -> Result<(), String> {
        if self.config.role != NodeRole::Executor {
            return Err(format!(
                "{} is not an executor and stores no blobs",
                self.config.node_id
            ));
        }
        let (commitment, chunk_count) = da::commitment(bytes, self.config.chunk_size);
        if commitment != id {
            return Err(format!("the blob's commitment is {commitment}, not {id}"));
        }
        let mut state = self.lock();
        state
            .store
            .put_blob(id, bytes)
            .map_err(|e| format!("{e:#}"))?;
        let me = self.config.node_id.clone();
        let info = state.blobs.entry(id.to_owned()).or_insert(BlobInfo {
            size: bytes.len() as u64,
            chunk_count,
            holders: Vec::new(),
            certified_height: None,
        });
        if !info.holders.contains(&me) {
            info.holders.push(me);
            self.metrics.blobs_stored.inc();
        }
        Ok(())
    }

    /// Disperse a blob to its executors; returns the certificate once enough
    /// of them stored it.
    pub(crate) async fn disperse(&self, bytes: bytes::Bytes) -> Result<BlobCert, String> {
        let (blob_id, chunk_count) = da::commitment(&bytes, self.config.chunk_size);
        let executors = self.config.executors();
        if executors.is_empty() {
            return Err("the network has no executor to store blobs".to_owned());
        }
        let targets = da::holders(&blob_id, &executors, self.config.replication);
        let pushes = targets.iter().map(|target| {
            let (bytes, blob_id) = (bytes.clone(), blob_id.clone());
            async move {
                let stored = if *target == self.config.node_id {
                    self.store_blob(&blob_id, &bytes)
                } else {
                    self.net.push_blob(target, &blob_id, bytes).await
                };
                (target.clone(), stored)
            }
        });
        let mut holders = Vec::new();
        let mut failures = Vec::new();
        for (target, stored) in futures::future::join_all(pushes).await {
            match stored {
                Ok(()) => holders.push(target),
                Err(reason) => failures.push(reason),
            }
        }
        if holders.len() < targets.len() {
            return Err(format!(
                "only {} of {} executors stored the blob: {}",
                holders.len(),
                targets.len(),
                failures.join("; ")
            ));
        }
        let cert = BlobCert {
            blob_id: blob_id.clone(),
            size: bytes.len() as u64,
            chunk_count,
            holders: holders.clone(),
        };
        self.lock().blobs.entry(blob_id).or_insert(BlobInfo {
            size: cert.size,
            chunk_count,
            holders,
            certified_height: None,
        });
        Ok(cert)
    }

    /// `--misbehave lose-blobs-after`: the blobs this node holds that `block`
    /// certifies are deleted `after` from now (the block was just finalized).
    pub(super) fn doom_blobs(&self, state: &mut State, block: &Block, after: Duration) {
        let me = &self.config.node_id;
        for cert in &block.certs {
            let held = state
                .blobs
                .get(&cert.blob_id)
                .is_some_and(|b| b.holders.contains(me));
            if held {
                state
                    .doomed
                    .push((Instant::now() + after, cert.blob_id.clone()));
            }
        }
    }

    /// Delete the doomed blobs as they fall due, file and record: from then
    /// on this node answers that it does not hold them.
    pub(super) async fn lose_blobs(&self, after: Duration) {
        let mut prune =
            tokio::time::interval(PRUNE_EVERY.min(after.max(Duration::from_millis(10))));
        loop {
            prune.tick().await;
            let mut state = self.lock();
            let now = Instant::now();
            let (due, later): (Vec<_>, Vec<_>) =
                state.doomed.drain(..).partition(|(at, _)| *at <= now);
            state.doomed = later;
            for (_, id) in due {
                if let Err(error) = state.store.delete_blob(&id) {
                    tracing::warn!(blob = %id, "cannot delete blob: {error:#}");
                }
                if let Some(info) = state.blobs.get_mut(&id) {
                    info.holders.retain(|h| *h != self.config.node_id);
                }
                tracing::warn!(blob = %id, "deleted a certified blob (--misbehave lose-blobs-after)");
            }
        }
    }
}

pub(super) fn record_certs(blobs: &mut BTreeMap<String, BlobInfo>, block: &Block) {
    for cert in &block.certs {
        let info = blobs.entry(cert.blob_id.clone()).or_insert(BlobInfo {
            size: cert.size,
            chunk_count: cert.chunk_count,
            holders: Vec::new(),
            certified_height: None,
        });
        for holder in &cert.holders {
            if !info.holders.contains(holder) {
                info.holders.push(holder.clone());
            }
        }
        info.certified_height.get_or_insert(block.height);
    }
}
