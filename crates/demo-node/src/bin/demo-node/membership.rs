//! `--strict-membership`, as in etcd-style clusters whose member identity
//! derives from the peer URLs: the node's cluster fingerprint (SHA-256 over
//! every member's `id=role@address`, its own `--advertise` included), the
//! check every peer request passes (a sender with another fingerprint is
//! refused), and readiness once a majority of members showed the same one.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use crate::config::Config;

/// The fingerprint of the member list as this node is configured with it,
/// when `--strict-membership` is on.
pub(crate) fn fingerprint(config: &Config) -> Option<String> {
    if !config.strict_membership {
        return None;
    }
    let me = format!(
        "{}={}@{}",
        config.node_id,
        config.role.as_str(),
        config.advertise.as_deref().unwrap_or_default()
    );
    let mut lines: Vec<String> = config
        .peers
        .iter()
        .map(|p| {
            let address = p.address.as_deref().unwrap_or_default();
            format!("{}={}@{address}", p.id, p.role.as_str())
        })
        .chain([me])
        .collect();
    lines.sort();
    Some(hex::encode(Sha256::digest(lines.join("\n").as_bytes())))
}

/// Who agrees with this node's member list, and whether a majority did.
pub(crate) struct Membership {
    /// `None` without `--strict-membership`: every sender is admitted.
    fingerprint: Option<String>,
    /// Every other member's id.
    peers: BTreeSet<String>,
    agreed: Mutex<BTreeSet<String>>,
    confirmed: AtomicBool,
    refused: Counter,
}

impl Membership {
    /// `refused` counts the requests turned away.
    pub(crate) fn new(config: &Config, refused: Counter) -> Self {
        Self {
            fingerprint: fingerprint(config),
            peers: config.peers.iter().map(|p| p.id.clone()).collect(),
            agreed: Mutex::new(BTreeSet::new()),
            confirmed: AtomicBool::new(false),
            refused,
        }
    }

    /// This node's fingerprint, when strict.
    pub(crate) fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Members needed for a majority, this node included.
    fn majority(&self) -> usize {
        let members = self.peers.len() + 1;
        members / 2 + 1
    }

    /// Admit a request from `from` that carried `theirs`, or say why not.
    pub(crate) fn admit(&self, from: Option<&str>, theirs: Option<&str>) -> Result<(), String> {
        let Some(mine) = self.fingerprint.as_deref() else {
            return Ok(());
        };
        if theirs == Some(mine) {
            if let Some(from) = from.filter(|f| self.peers.contains(*f)) {
                let mut agreed = self.agreed.lock().unwrap_or_else(PoisonError::into_inner);
                if agreed.insert(from.to_owned())
                    && agreed.len() + 1 >= self.majority()
                    && !self.confirmed.swap(true, Ordering::SeqCst)
                {
                    tracing::info!(
                        agree = agreed.len() + 1,
                        members = self.peers.len() + 1,
                        "membership confirmed by a majority"
                    );
                }
            }
            return Ok(());
        }
        self.refused.inc();
        Err(format!(
            "membership refused: the member lists differ (this node's cluster fingerprint is \
             {mine}, the sender {}'s is {}); every member must be configured with the same \
             id=role@address for every member",
            from.unwrap_or("(unnamed)"),
            theirs.unwrap_or("(none)")
        ))
    }

    /// `Ok` once a majority agreed (for good), or when not strict.
    pub(crate) fn readiness(&self) -> Result<(), String> {
        if self.fingerprint.is_none() || self.confirmed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let agree = self
            .agreed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
            + 1;
        Err(format!(
            "membership not confirmed: {agree} of {} members agree on the member list \
             ({} needed)",
            self.peers.len() + 1,
            self.majority()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(peers: usize) -> Membership {
        Membership {
            fingerprint: Some("abc".to_owned()),
            peers: (1..=peers).map(|i| format!("validator-{i}")).collect(),
            agreed: Mutex::new(BTreeSet::new()),
            confirmed: AtomicBool::new(false),
            refused: Counter::default(),
        }
    }

    #[test]
    fn a_majority_of_agreeing_members_confirms_for_good_and_others_are_refused() {
        let m = membership(3);
        let error = m.readiness().unwrap_err();
        assert_eq!(
            error,
            "membership not confirmed: 1 of 4 members agree on the member list (3 needed)"
        );
        let refusal = m.admit(Some("validator-1"), Some("xyz")).unwrap_err();
        assert!(
            refusal.contains("abc") && refusal.contains("xyz"),
            "{refusal}"
        );
        assert_eq!(m.refused.get(), 1);
        m.admit(Some("validator-1"), Some("abc")).unwrap();
        m.admit(Some("stranger"), Some("abc")).unwrap();
        assert!(m.readiness().is_err(), "2 of 4 is no majority");
        m.admit(Some("validator-2"), Some("abc")).unwrap();
        m.readiness().unwrap();
        assert!(m.admit(Some("validator-2"), None).is_err());
        m.readiness().unwrap();
    }
}
