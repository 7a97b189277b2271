//! One running node: the consensus state machine, its store, the mempool and
//! the DA index behind one lock (held briefly, never across an await); the
//! timers that drive them are in `timers`, the queries the API answers in
//! `queries`, blob storage and dispersal in `blobs`.

mod blobs;
mod queries;
mod timers;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::Config;
use crate::consensus::{Consensus, Effects, Role, Settings};
use crate::da;
use crate::membership::Membership;
use crate::mempool::{Admission, Mempool, PoolItem};
use crate::metrics::{Metrics, gauge_value};
use crate::misbehave::ChainFaults;
use crate::p2p::{Network, PeerMessage};
use crate::store::{HardState, Loaded, Store};
use blobs::record_certs;

/// How often the consensus clock ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);
/// How often nodes ping each other (to know who is reachable).
const PING_EVERY: Duration = Duration::from_secs(2);
/// A peer heard from within this long counts as connected.
const PEER_FRESH: Duration = Duration::from_secs(5);
/// How often an executor checks whether it must pull blocks itself.
const PULL_EVERY: Duration = Duration::from_millis(250);
/// An executor that got no blocks from a leader for this long pulls them.
const PULL_WHEN_QUIET: Duration = Duration::from_millis(1000);
/// How many committed blocks one pull returns at most.
const PULL_BATCH: usize = 256;
/// How often pending items are offered to the leader again.
const FORWARD_AGAIN: Duration = Duration::from_secs(2);

/// What a node knows about a blob.
#[derive(Clone, Debug)]
struct BlobInfo {
    size: u64,
    chunk_count: u32,
    holders: Vec<String>,
    certified_height: Option<u64>,
}

struct State {
    consensus: Consensus,
    store: Store,
    pool: Mempool,
    commit_times: BTreeMap<u64, u64>,
    blobs: BTreeMap<String, BlobInfo>,
    last_heard: HashMap<String, Instant>,
    leader_seen: Option<String>,
    /// When a leader last sent blocks (a learner it does not know pulls instead).
    last_append: Option<Instant>,
    /// `--misbehave lose-blobs-after`: blobs to delete, and when.
    doomed: Vec<(Instant, String)>,
}

pub(crate) struct Node {
    pub(crate) config: Config,
    state: Mutex<State>,
    commits: watch::Sender<u64>,
    pub(crate) metrics: Metrics,
    pub(crate) net: Network,
    /// `--strict-membership`'s check and readiness (admits all otherwise).
    pub(crate) membership: Membership,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Node {
    pub(crate) fn new(config: Config, store: Store, loaded: Loaded) -> Arc<Self> {
        let settings = Settings {
            id: config.node_id.clone(),
            validators: config.validators(),
            peers: config.peers.iter().map(|p| p.id.clone()).collect(),
            heartbeat: config.heartbeat,
            election_timeout: config.election_timeout,
            seed: config.seed,
            faults: ChainFaults {
                fork_at: config.misbehave.fork_at,
                // Only a restart has history to miss: a fresh node syncs.
                refuse_proposed_before_ms: (config.misbehave.no_catch_up
                    && !loaded.chain.is_empty())
                .then(now_ms),
            },
        };
        if config.misbehave.any() {
            tracing::warn!(
                misbehaviour = ?config.misbehave,
                "misbehaving on purpose (--misbehave, for tests only)"
            );
        }
        let hard = loaded.hard_state;
        let consensus = Consensus::new(
            settings,
            hard.term,
            hard.voted_for,
            loaded.chain,
            hard.commit,
            Instant::now(),
        );
        let mut pool =
            Mempool::new(config.mempool_limit).drop_txs(config.misbehave.drop_txs_percent);
        let mut blobs = BTreeMap::new();
        for block in &consensus.chain()[..usize::try_from(consensus.commit()).unwrap_or(usize::MAX)]
        {
            pool.committed(block);
            record_certs(&mut blobs, block);
        }
        for id in store.blob_ids() {
            if let Ok(bytes) = std::fs::read(store.blob_path(&id)) {
                let (_, chunk_count) = da::commitment(&bytes, config.chunk_size);
                let info = blobs.entry(id).or_insert(BlobInfo {
                    size: bytes.len() as u64,
                    chunk_count,
                    holders: Vec::new(),
                    certified_height: None,
                });
                if !info.holders.contains(&config.node_id) {
                    info.holders.push(config.node_id.clone());
                }
            }
        }
        let addresses: HashMap<String, String> = config
            .peers
            .iter()
            .filter_map(|p| Some((p.id.clone(), p.address.clone()?)))
            .collect();
        let metrics = Metrics::new();
        let membership = Membership::new(&config, metrics.membership_refused.clone());
        if let Some(fingerprint) = membership.fingerprint() {
            tracing::info!(%fingerprint, "strict membership: cluster fingerprint");
        }
        let peer_ids: Vec<String> = config.peers.iter().map(|p| p.id.clone()).collect();
        let fingerprint = membership.fingerprint().map(str::to_owned);
        let net = Network::start(config.node_id.clone(), fingerprint, &peer_ids, addresses);
        metrics
            .known_peers
            .set(gauge_value(net.known().len() as u64));
        let (commits, _) = watch::channel(consensus.commit());
        let node = Arc::new(Self {
            state: Mutex::new(State {
                consensus,
                store,
                pool,
                commit_times: loaded.commit_times,
                blobs,
                last_heard: HashMap::new(),
                leader_seen: None,
                last_append: None,
                doomed: Vec::new(),
            }),
            commits,
            metrics,
            net,
            membership,
            config,
        });
        node.refresh_gauges(&node.lock());
        node
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run one consensus step, persist and account for its effects, then send.
    fn step(&self, run: impl FnOnce(&mut Consensus, Instant) -> Effects) {
        let sends = {
            let mut state = self.lock();
            let effects = run(&mut state.consensus, Instant::now());
            self.apply(&mut state, effects)
        };
        for (to, message) in sends {
            self.net.send(&to, PeerMessage::Consensus { message });
        }
    }

    fn apply(
        &self,
        state: &mut State,
        effects: Effects,
    ) -> Vec<(String, crate::consensus::Message)> {
        if let Err(error) = self.persist(state, &effects) {
            // A node that cannot persist must not acknowledge anything: crash.
            tracing::error!("cannot persist consensus state: {error:#}");
            std::process::exit(1);
        }
        if let Some((from, to)) = effects.committed {
            let at = now_ms();
            let mut lines = Vec::new();
            for height in from + 1..=to {
                let Some(block) = state.consensus.block(height).cloned() else {
                    continue;
                };
                state.commit_times.entry(height).or_insert(at);
                lines.push((height, at));
                state.pool.committed(&block);
                record_certs(&mut state.blobs, &block);
                if let Some(after) = self.config.misbehave.lose_blobs_after {
                    self.doom_blobs(state, &block, after);
                }
                self.metrics.txs_included.inc_by(block.txs.len() as u64);
            }
            if let Err(error) = state.store.record_commits(&lines) {
                tracing::warn!("cannot record commit times: {error:#}");
            }
            self.commits.send_replace(to);
        }
        let leader = state.consensus.leader().map(str::to_owned);
        if leader.is_some() && leader != state.leader_seen {
            tracing::info!(leader = ?leader, term = state.consensus.term(), "following a new leader");
            self.metrics.leader_changes.inc();
            state.leader_seen = leader;
        }
        self.refresh_gauges(state);
        effects.send
    }

    fn persist(&self, state: &mut State, effects: &Effects) -> anyhow::Result<()> {
        if effects.truncated_to.is_some() {
            let chain = state.consensus.chain().to_vec();
            state.store.rewrite_chain(&chain)?;
        } else if !effects.appended.is_empty() {
            state.store.append_blocks(&effects.appended)?;
        }
        if effects.hard_state_changed || effects.committed.is_some() {
            state.store.save_hard_state(&HardState {
                term: state.consensus.term(),
                voted_for: state.consensus.voted_for().map(str::to_owned),
                commit: state.consensus.commit(),
            })?;
        }
        Ok(())
    }

    fn refresh_gauges(&self, state: &State) {
        let c = &state.consensus;
        // `--misbehave inflate-height` lies here as it does in `info`.
        let inflate = self.config.misbehave.inflate_height;
        self.metrics
            .height
            .set(gauge_value(c.height().saturating_add(inflate)));
        self.metrics
            .finalized_height
            .set(gauge_value(c.commit().saturating_add(inflate)));
        self.metrics.term.set(gauge_value(c.term()));
        self.metrics
            .mempool_size
            .set(gauge_value(state.pool.len() as u64));
        self.metrics
            .peers
            .set(gauge_value(fresh_peers(state).len() as u64));
    }

    fn produce_block(&self) {
        let sends = {
            let mut state = self.lock();
            if state.consensus.role() != Role::Leader
                || self.config.misbehave.stalls_at(state.consensus.height())
            {
                return;
            }
            let commit = state.consensus.commit();
            let in_flight: HashSet<String> = state.consensus.chain()
                [usize::try_from(commit).unwrap_or(usize::MAX)..]
                .iter()
                .flat_map(Mempool::keys_of)
                .collect();
            let (txs, certs) = state.pool.for_block(self.config.max_block_txs, &in_flight);
            match state.consensus.propose(now_ms(), txs, certs) {
                Some(effects) => self.apply(&mut state, effects),
                None => Vec::new(),
            }
        };
        for (to, message) in sends {
            self.net.send(&to, PeerMessage::Consensus { message });
        }
    }

    /// A message from a peer.
    pub(crate) fn receive(&self, from: &str, message: PeerMessage) {
        self.lock()
            .last_heard
            .insert(from.to_owned(), Instant::now());
        match message {
            PeerMessage::Consensus { message } => {
                if matches!(message, crate::consensus::Message::Append { .. }) {
                    self.lock().last_append = Some(Instant::now());
                }
                self.step(|c, now| c.receive(from, message, now));
            }
            PeerMessage::Forward { items } => {
                let mut state = self.lock();
                for item in items {
                    state.pool.admit(item);
                }
                self.refresh_gauges(&state);
            }
            PeerMessage::Ping => {}
        }
    }

    /// Admit an item; forward it to the leader right away when this node is not it.
    pub(crate) fn submit(&self, item: PoolItem) -> Admission {
        let (admission, leader) = {
            let mut state = self.lock();
            let admission = state.pool.admit(item.clone());
            self.refresh_gauges(&state);
            (admission, state.consensus.leader().map(str::to_owned))
        };
        if admission == Admission::Added
            && let Some(leader) = leader
            && leader != self.config.node_id
        {
            self.net
                .send(&leader, PeerMessage::Forward { items: vec![item] });
        }
        admission
    }

    fn forward_pending(&self) {
        let (leader, items) = {
            let mut state = self.lock();
            let leader = state.consensus.leader().map(str::to_owned);
            match leader {
                Some(leader) if leader != self.config.node_id => {
                    let items = state.pool.due_for_forward(Instant::now(), FORWARD_AGAIN);
                    (leader, items)
                }
                _ => return,
            }
        };
        for batch in items.chunks(500) {
            self.net.send(
                &leader,
                PeerMessage::Forward {
                    items: batch.to_vec(),
                },
            );
        }
    }
}

fn fresh_peers(state: &State) -> Vec<String> {
    let now = Instant::now();
    let mut peers: Vec<String> = state
        .last_heard
        .iter()
        .filter(|(_, at)| now.duration_since(**at) < PEER_FRESH)
        .map(|(id, _)| id.clone())
        .collect();
    peers.sort();
    peers
}
