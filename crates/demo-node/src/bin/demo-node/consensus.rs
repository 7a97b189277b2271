//! The consensus protocol: leader election and quorum commit in the style of
//! Raft, where every log entry is a block. Validators vote; executors are
//! learners that receive blocks but never vote or campaign.
//!
//! This module is a pure state machine: it never does I/O. Callers feed it
//! time ([`Consensus::tick`]) and messages ([`Consensus::receive`]) and apply
//! the returned [`Effects`] (persist, then send). That makes the protocol
//! testable on a simulated network (see the tests below).
//!
//! Safety rests on the usual rules: one vote per term, persisted before it
//! is sent; a vote only for a candidate whose chain is at least as up to date;
//! a follower accepts blocks only on top of a matching parent (height and
//! hash); a leader commits a height once a majority of validators store it
//! and the block there is from its own term.

// tidy: long because the protocol is one state machine: election, replication
// and commit share its state and its safety rules, and are reviewed together
// (the tests are already apart, in consensus/tests.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::block::{BlobCert, Block, GENESIS_HASH};
use crate::misbehave::ChainFaults;

/// The most blocks sent in one append message.
const MAX_BLOCKS_PER_APPEND: usize = 64;

/// Static settings of one node's consensus.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) id: String,
    /// Every validator's id, this node's included when it is one.
    pub(crate) validators: Vec<String>,
    /// Every other node's id (validators and executors).
    pub(crate) peers: Vec<String>,
    pub(crate) heartbeat: Duration,
    /// The shortest election timeout; each is drawn from [t, 2t).
    pub(crate) election_timeout: Duration,
    /// Seeds the election timeouts (mixed with `id`); none: from the OS.
    pub(crate) seed: Option<u64>,
    /// Test-only misbehaviour in block acceptance.
    pub(crate) faults: ChainFaults,
}

impl Settings {
    fn is_voter(&self) -> bool {
        self.validators.contains(&self.id)
    }

    fn quorum(&self) -> usize {
        self.validators.len() / 2 + 1
    }

    /// This node's generator: from the seed and the id, so every node of a
    /// seeded network draws its own, reproducible sequence.
    fn rng(&self) -> ChaCha8Rng {
        match self.seed {
            Some(seed) => {
                ChaCha8Rng::from_seed(Sha256::digest(format!("{seed}:{}", self.id)).into())
            }
            None => ChaCha8Rng::from_os_rng(),
        }
    }
}

/// What a node currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Follower,
    Candidate,
    Leader,
}

/// A message between nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Message {
    RequestVote {
        term: u64,
        last_height: u64,
        last_term: u64,
    },
    VoteReply {
        term: u64,
        granted: bool,
    },
    Append {
        term: u64,
        prev_height: u64,
        prev_hash: String,
        blocks: Vec<Block>,
        commit: u64,
    },
    AppendReply {
        term: u64,
        success: bool,
        /// On success, the height now matching the leader; on failure, the
        /// follower's last height (a hint where to resume).
        height: u64,
    },
}

/// What the caller must do after a step, in order: persist, then send.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Term or vote changed: persist them before sending anything.
    pub(crate) hard_state_changed: bool,
    /// Blocks above this height were removed: rewrite the stored chain.
    pub(crate) truncated_to: Option<u64>,
    /// Blocks appended, in order: persist them.
    pub(crate) appended: Vec<Block>,
    /// The commit height moved from `.0` to `.1`.
    pub(crate) committed: Option<(u64, u64)>,
    /// This node just became leader.
    pub(crate) became_leader: bool,
    /// Messages to send, `(to, message)`.
    pub(crate) send: Vec<(String, Message)>,
}

/// The consensus state of one node.
pub(crate) struct Consensus {
    settings: Settings,
    term: u64,
    voted_for: Option<String>,
    chain: Vec<Block>,
    commit: u64,
    role: Role,
    leader: Option<String>,
    votes: BTreeSet<String>,
    next: BTreeMap<String, u64>,
    matched: BTreeMap<String, u64>,
    election_deadline: Instant,
    next_heartbeat: Instant,
    rng: ChaCha8Rng,
}

impl Consensus {
    /// A node restarting from its persisted term, vote, chain and commit.
    pub(crate) fn new(
        settings: Settings,
        term: u64,
        voted_for: Option<String>,
        chain: Vec<Block>,
        commit: u64,
        now: Instant,
    ) -> Self {
        let commit = commit.min(chain.len() as u64);
        let rng = settings.rng();
        let mut node = Self {
            rng,
            settings,
            term,
            voted_for,
            chain,
            commit,
            role: Role::Follower,
            leader: None,
            votes: BTreeSet::new(),
            next: BTreeMap::new(),
            matched: BTreeMap::new(),
            election_deadline: now,
            next_heartbeat: now,
        };
        node.reset_election_deadline(now);
        node
    }

    #[cfg(test)]
    pub(crate) fn id(&self) -> &str {
        &self.settings.id
    }
    pub(crate) fn term(&self) -> u64 {
        self.term
    }
    pub(crate) fn voted_for(&self) -> Option<&str> {
        self.voted_for.as_deref()
    }
    pub(crate) fn role(&self) -> Role {
        self.role
    }
    pub(crate) fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }
    pub(crate) fn commit(&self) -> u64 {
        self.commit
    }
    pub(crate) fn height(&self) -> u64 {
        self.chain.len() as u64
    }
    pub(crate) fn chain(&self) -> &[Block] {
        &self.chain
    }
    pub(crate) fn block(&self, height: u64) -> Option<&Block> {
        height
            .checked_sub(1)
            .and_then(|index| self.chain.get(usize::try_from(index).ok()?))
    }
    pub(crate) fn tip_hash(&self) -> &str {
        self.chain.last().map_or(GENESIS_HASH, |b| b.hash.as_str())
    }
    fn last_term(&self) -> u64 {
        self.chain.last().map_or(0, |b| b.term)
    }

    fn reset_election_deadline(&mut self, now: Instant) {
        let base = self.settings.election_timeout;
        let jitter = self.rng.random_range(0..=base.as_millis().max(1) as u64);
        self.election_deadline = now + base + Duration::from_millis(jitter);
    }

    /// Advance time: campaign when the leader went quiet, send heartbeats
    /// when leading.
    pub(crate) fn tick(&mut self, now: Instant) -> Effects {
        let mut effects = Effects::default();
        match self.role {
            Role::Leader => {
                if now >= self.next_heartbeat {
                    self.broadcast_append(&mut effects);
                    self.next_heartbeat = now + self.settings.heartbeat;
                }
            }
            Role::Follower | Role::Candidate => {
                if self.settings.is_voter() && now >= self.election_deadline {
                    self.campaign(now, &mut effects);
                }
            }
        }
        effects
    }

    fn campaign(&mut self, now: Instant, effects: &mut Effects) {
        self.term += 1;
        self.role = Role::Candidate;
        self.leader = None;
        self.voted_for = Some(self.settings.id.clone());
        self.votes = BTreeSet::from([self.settings.id.clone()]);
        effects.hard_state_changed = true;
        self.reset_election_deadline(now);
        let request = Message::RequestVote {
            term: self.term,
            last_height: self.height(),
            last_term: self.last_term(),
        };
        for validator in &self.settings.validators {
            if *validator != self.settings.id {
                effects.send.push((validator.clone(), request.clone()));
            }
        }
        self.win_if_quorum(now, effects);
    }

    fn win_if_quorum(&mut self, now: Instant, effects: &mut Effects) {
        if self.role != Role::Candidate || self.votes.len() < self.settings.quorum() {
            return;
        }
        self.role = Role::Leader;
        self.leader = Some(self.settings.id.clone());
        let next = self.height() + 1;
        self.next = self
            .settings
            .peers
            .iter()
            .map(|p| (p.clone(), next))
            .collect();
        self.matched = self.settings.peers.iter().map(|p| (p.clone(), 0)).collect();
        effects.became_leader = true;
        self.broadcast_append(effects);
        self.next_heartbeat = now + self.settings.heartbeat;
    }

    /// Propose a block with these contents on top of the chain (leaders only).
    pub(crate) fn propose(
        &mut self,
        proposed_at_ms: u64,
        txs: Vec<String>,
        certs: Vec<BlobCert>,
    ) -> Option<Effects> {
        if self.role != Role::Leader {
            return None;
        }
        let block = Block::new(
            self.height() + 1,
            self.tip_hash().to_owned(),
            self.term,
            self.settings.id.clone(),
            proposed_at_ms,
            txs,
            certs,
        );
        let mut effects = Effects::default();
        self.chain.push(block.clone());
        effects.appended.push(block);
        self.advance_commit(&mut effects);
        self.broadcast_append(&mut effects);
        Some(effects)
    }

    fn broadcast_append(&mut self, effects: &mut Effects) {
        for peer in self.settings.peers.clone() {
            let next = self.next.get(&peer).copied().unwrap_or(1).max(1);
            let prev_height = next - 1;
            let prev_hash = self
                .block(prev_height)
                .map_or(GENESIS_HASH.to_owned(), |b| b.hash.clone());
            let start = usize::try_from(prev_height).unwrap_or(usize::MAX);
            let blocks: Vec<Block> = self
                .chain
                .iter()
                .skip(start)
                .take(MAX_BLOCKS_PER_APPEND)
                .cloned()
                .collect();
            effects.send.push((
                peer,
                Message::Append {
                    term: self.term,
                    prev_height,
                    prev_hash,
                    blocks,
                    commit: self.commit,
                },
            ));
        }
    }

    /// Handle a message from `from`.
    pub(crate) fn receive(&mut self, from: &str, message: Message, now: Instant) -> Effects {
        let mut effects = Effects::default();
        let term = match &message {
            Message::RequestVote { term, .. }
            | Message::VoteReply { term, .. }
            | Message::Append { term, .. }
            | Message::AppendReply { term, .. } => *term,
        };
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.role = Role::Follower;
            self.leader = None;
            effects.hard_state_changed = true;
        }
        match message {
            Message::RequestVote {
                term,
                last_height,
                last_term,
            } => self.on_request_vote(from, term, last_height, last_term, now, &mut effects),
            Message::VoteReply { term, granted } => {
                if self.role == Role::Candidate && term == self.term && granted {
                    self.votes.insert(from.to_owned());
                    self.win_if_quorum(now, &mut effects);
                }
            }
            Message::Append {
                term,
                prev_height,
                prev_hash,
                blocks,
                commit,
            } => self.on_append(
                from,
                term,
                prev_height,
                &prev_hash,
                blocks,
                commit,
                now,
                &mut effects,
            ),
            Message::AppendReply {
                term,
                success,
                height,
            } => {
                if self.role == Role::Leader && term == self.term {
                    self.on_append_reply(from, success, height, &mut effects);
                }
            }
        }
        effects
    }

    fn on_request_vote(
        &mut self,
        from: &str,
        term: u64,
        last_height: u64,
        last_term: u64,
        now: Instant,
        effects: &mut Effects,
    ) {
        let up_to_date = last_term > self.last_term()
            || (last_term == self.last_term() && last_height >= self.height());
        let free = self.voted_for.as_deref().is_none_or(|v| v == from);
        let granted = term == self.term
            && self.settings.is_voter()
            && self.settings.validators.iter().any(|v| v == from)
            && free
            && up_to_date;
        if granted {
            if self.voted_for.is_none() {
                self.voted_for = Some(from.to_owned());
                effects.hard_state_changed = true;
            }
            self.reset_election_deadline(now);
        }
        effects.send.push((
            from.to_owned(),
            Message::VoteReply {
                term: self.term,
                granted,
            },
        ));
    }

    #[allow(clippy::too_many_arguments)] // The fields of one message.
    fn on_append(
        &mut self,
        from: &str,
        term: u64,
        prev_height: u64,
        prev_hash: &str,
        blocks: Vec<Block>,
        leader_commit: u64,
        now: Instant,
        effects: &mut Effects,
    ) {
        // A refusal names the highest height the leader may retry from: this
        // node's commit height (committed blocks are in every later
        // leader's chain), so a follower that proposed a long uncommitted
        // suffix as a deposed leader is repaired in one round trip, not one
        // height per round trip.
        let reject = |node: &Self, effects: &mut Effects| {
            effects.send.push((
                from.to_owned(),
                Message::AppendReply {
                    term: node.term,
                    success: false,
                    height: node.commit.min(prev_height.saturating_sub(1)),
                },
            ));
        };
        if term < self.term {
            reject(self, effects);
            return;
        }
        self.role = Role::Follower;
        self.leader = Some(from.to_owned());
        self.reset_election_deadline(now);
        let parent_matches =
            prev_height == 0 || self.block(prev_height).is_some_and(|b| b.hash == prev_hash);
        if !parent_matches {
            reject(self, effects);
            return;
        }
        // The height up to which this node's chain is known to equal the leader's.
        let mut verified = prev_height;
        for block in blocks {
            if block.height != verified + 1
                || block.hash != block.computed_hash()
                || self.settings.faults.refuses(&block)
            {
                break;
            }
            let block = self.settings.faults.accepted(block);
            match self.block(block.height) {
                Some(existing) if existing.hash == block.hash => {
                    verified = block.height;
                    continue;
                }
                Some(_) => {
                    // Never below the commit height: a leader's chain holds
                    // every committed block, so a mismatch lies above it.
                    let keep = block.height - 1;
                    self.chain
                        .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
                    effects.truncated_to = Some(keep);
                }
                None => {}
            }
            if block.parent != self.tip_hash() {
                break;
            }
            verified = block.height;
            self.chain.push(block.clone());
            effects.appended.push(block);
        }
        let new_commit = leader_commit.min(verified);
        if new_commit > self.commit {
            effects.committed = Some((self.commit, new_commit));
            self.commit = new_commit;
        }
        effects.send.push((
            from.to_owned(),
            Message::AppendReply {
                term: self.term,
                success: true,
                height: verified,
            },
        ));
    }

    fn on_append_reply(&mut self, from: &str, success: bool, height: u64, effects: &mut Effects) {
        if success {
            let height = height.min(self.height());
            let matched = self.matched.entry(from.to_owned()).or_default();
            *matched = (*matched).max(height);
            let next = *matched + 1;
            self.next.insert(from.to_owned(), next);
            self.advance_commit(effects);
        } else {
            let next = self.next.entry(from.to_owned()).or_insert(1);
            *next = (*next).saturating_sub(1).min(height + 1).max(1);
        }
    }

    fn advance_commit(&mut self, effects: &mut Effects) {
        let mut heights: Vec<u64> = self
            .settings
            .validators
            .iter()
            .map(|v| {
                if *v == self.settings.id {
                    self.height()
                } else {
                    self.matched.get(v).copied().unwrap_or(0)
                }
            })
            .collect();
        heights.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&majority_height) = heights.get(self.settings.quorum() - 1) else {
            return;
        };
        let own_term = self
            .block(majority_height)
            .is_some_and(|b| b.term == self.term);
        if majority_height > self.commit && own_term {
            let before = effects.committed.map_or(self.commit, |(from, _)| from);
            effects.committed = Some((before, majority_height));
            self.commit = majority_height;
        }
    }
}

impl Consensus {
    /// Blocks a learner pulled from a peer: committed there, so final. They
    /// extend this chain (replacing an uncommitted suffix that conflicts).
    /// Lets an executor the leader does not know follow the chain.
    pub(crate) fn apply_synced(
        &mut self,
        blocks: Vec<Block>,
        commit: u64,
        leader: Option<String>,
    ) -> Effects {
        let mut effects = Effects::default();
        if self.settings.is_voter() {
            return effects;
        }
        for block in blocks {
            if block.hash != block.computed_hash() || self.settings.faults.refuses(&block) {
                break;
            }
            let block = self.settings.faults.accepted(block);
            match self.block(block.height) {
                Some(existing) if existing.hash == block.hash => continue,
                Some(_) if block.height > self.commit => {
                    let keep = block.height - 1;
                    self.chain
                        .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
                    effects.truncated_to = Some(keep);
                }
                Some(_) => break,
                None => {}
            }
            if block.height != self.height() + 1 || block.parent != self.tip_hash() {
                break;
            }
            self.chain.push(block.clone());
            effects.appended.push(block);
        }
        let new_commit = commit.min(self.height());
        if new_commit > self.commit {
            effects.committed = Some((self.commit, new_commit));
            self.commit = new_commit;
        }
        if self.leader.is_none() {
            self.leader = leader;
        }
        effects
    }
}

#[cfg(test)]
mod tests;
