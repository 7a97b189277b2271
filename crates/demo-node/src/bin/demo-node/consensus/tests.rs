//! The consensus protocol tested as such: nodes on a simulated network with
//! virtual time, partitions and restarts, checking election safety,
//! agreement on committed blocks, and progress whenever a quorum can talk.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::{Consensus, Effects, Message, Role, Settings};

mod misbehaviour;

const STEP: Duration = Duration::from_millis(10);
const LATENCY: Duration = Duration::from_millis(5);
const BLOCK_TIME: Duration = Duration::from_millis(100);

struct Sim {
    start: Instant,
    now: Instant,
    nodes: BTreeMap<String, Consensus>,
    down: BTreeSet<String>,
    cut: BTreeSet<(String, String)>,
    queue: VecDeque<(Instant, String, String, Message)>,
    leaders_by_term: BTreeMap<u64, String>,
    committed: BTreeMap<String, Vec<String>>,
    next_block: Instant,
    /// Nodes misbehaving on purpose, left out of the agreement check.
    unchecked: BTreeSet<String>,
}

fn settings(id: &str, validators: &[String], all: &[String]) -> Settings {
    Settings {
        id: id.to_owned(),
        validators: validators.to_vec(),
        peers: all.iter().filter(|p| *p != id).cloned().collect(),
        heartbeat: Duration::from_millis(50),
        election_timeout: Duration::from_millis(300),
        seed: None,
        faults: Default::default(),
    }
}

impl Sim {
    fn new(validators: usize, executors: usize) -> Self {
        Self::with(validators, executors, |_| {})
    }

    /// A network whose nodes' settings `adjust` may change.
    fn with(validators: usize, executors: usize, adjust: impl Fn(&mut Settings)) -> Self {
        let v: Vec<String> = (0..validators).map(|i| format!("validator-{i}")).collect();
        let e: Vec<String> = (0..executors).map(|i| format!("executor-{i}")).collect();
        let all: Vec<String> = v.iter().chain(&e).cloned().collect();
        let start = Instant::now();
        let nodes = all
            .iter()
            .map(|id| {
                let mut settings = settings(id, &v, &all);
                adjust(&mut settings);
                (
                    id.clone(),
                    Consensus::new(settings, 0, None, Vec::new(), 0, start),
                )
            })
            .collect();
        Self {
            start,
            now: start,
            nodes,
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            queue: VecDeque::new(),
            leaders_by_term: BTreeMap::new(),
            committed: all.iter().map(|id| (id.clone(), Vec::new())).collect(),
            next_block: start,
            unchecked: BTreeSet::new(),
        }
    }

    fn apply(&mut self, from: &str, effects: Effects) {
        for (to, message) in effects.send {
            self.queue
                .push_back((self.now + LATENCY, from.to_owned(), to, message));
        }
        let node = &self.nodes[from];
        if node.role() == Role::Leader {
            let previous = self.leaders_by_term.insert(node.term(), from.to_owned());
            assert!(
                previous.as_deref().is_none_or(|p| p == from),
                "two leaders in term {}: {previous:?} and {from}",
                node.term()
            );
        }
        self.check_committed(from);
    }

    /// Committed blocks never change, and every node agrees on them.
    fn check_committed(&mut self, id: &str) {
        if self.unchecked.contains(id) {
            return;
        }
        let node = &self.nodes[id];
        let hashes: Vec<String> = node.chain()[..node.commit() as usize]
            .iter()
            .map(|b| b.hash.clone())
            .collect();
        let seen = &self.committed[id];
        assert!(hashes.len() >= seen.len(), "{id} commit went back");
        assert_eq!(
            &hashes[..seen.len()],
            &seen[..],
            "{id} changed a committed block"
        );
        for (other, theirs) in &self.committed {
            if self.unchecked.contains(other) {
                continue;
            }
            let common = theirs.len().min(hashes.len());
            assert_eq!(
                &hashes[..common],
                &theirs[..common],
                "{id} and {other} disagree on committed blocks"
            );
        }
        self.committed.insert(id.to_owned(), hashes);
    }

    fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        while self.now < until {
            self.now += STEP;
            let ids: Vec<String> = self.nodes.keys().cloned().collect();
            for id in &ids {
                if self.down.contains(id) {
                    continue;
                }
                let now = self.now;
                let effects = self.nodes.get_mut(id).unwrap().tick(now);
                self.apply(id, effects);
            }
            if self.now >= self.next_block {
                self.next_block = self.now + BLOCK_TIME;
                for id in &ids {
                    if self.down.contains(id) {
                        continue;
                    }
                    let ms = (self.now - self.start).as_millis() as u64;
                    if let Some(effects) = self.nodes.get_mut(id).unwrap().propose(
                        ms,
                        vec![format!("tx-{ms}")],
                        vec![],
                    ) {
                        self.apply(id, effects);
                    }
                }
            }
            while self.queue.front().is_some_and(|(at, ..)| *at <= self.now) {
                let (_, from, to, message) = self.queue.pop_front().unwrap();
                if self.down.contains(&to)
                    || self.down.contains(&from)
                    || self.cut.contains(&(from.clone(), to.clone()))
                {
                    continue;
                }
                let now = self.now;
                let effects = self
                    .nodes
                    .get_mut(&to)
                    .unwrap()
                    .receive(&from, message, now);
                self.apply(&to, effects);
            }
        }
    }

    fn partition(&mut self, groups: &[&[&str]]) {
        self.cut.clear();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for x in *a {
                        for y in *b {
                            self.cut.insert(((*x).to_owned(), (*y).to_owned()));
                        }
                    }
                }
            }
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    fn commit(&self, id: &str) -> u64 {
        self.nodes[id].commit()
    }

    fn min_commit(&self, ids: &[&str]) -> u64 {
        ids.iter().map(|id| self.commit(id)).min().unwrap()
    }

    /// Rebuild a node from what it would have persisted.
    fn restart(&mut self, id: &str) {
        let old = &self.nodes[id];
        let (settings, term, vote, chain, commit) = (
            old.settings.clone(),
            old.term(),
            old.voted_for().map(str::to_owned),
            old.chain().to_vec(),
            old.commit(),
        );
        self.nodes.insert(
            id.to_owned(),
            Consensus::new(settings, term, vote, chain, commit, self.now),
        );
        self.down.remove(id);
    }
}

const ALL5: [&str; 5] = [
    "validator-0",
    "validator-1",
    "validator-2",
    "validator-3",
    "executor-0",
];

#[test]
fn four_validators_and_an_executor_elect_a_leader_and_finalize_blocks() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(4));
    assert!(
        sim.min_commit(&ALL5) >= 15,
        "commits: {:?}",
        ALL5.map(|id| sim.commit(id))
    );
}

#[test]
fn with_one_of_four_validators_down_the_chain_keeps_finalizing() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(2));
    let leader = sim
        .nodes
        .values()
        .find(|n| n.role() == Role::Leader)
        .unwrap()
        .id()
        .to_owned();
    sim.down.insert(leader.clone());
    let alive: Vec<&str> = ALL5.iter().copied().filter(|id| *id != leader).collect();
    let before = sim.min_commit(&alive);
    sim.run_for(Duration::from_secs(3));
    assert!(
        sim.min_commit(&alive) >= before + 10,
        "before {before}, after {}",
        sim.min_commit(&alive)
    );
}

#[test]
fn a_two_two_split_halts_finalization_and_healing_resumes_it() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(2));
    sim.partition(&[
        &["validator-0", "validator-1", "executor-0"],
        &["validator-2", "validator-3"],
    ]);
    sim.run_for(Duration::from_secs(1));
    let halted = ALL5.map(|id| sim.commit(id));
    sim.run_for(Duration::from_secs(3));
    assert_eq!(
        ALL5.map(|id| sim.commit(id)),
        halted,
        "no quorum, no new commits"
    );
    sim.heal();
    sim.run_for(Duration::from_secs(3));
    let max_halted = *halted.iter().max().unwrap();
    assert!(
        sim.min_commit(&ALL5) >= max_halted + 10,
        "resumed: {:?}",
        ALL5.map(|id| sim.commit(id))
    );
}

#[test]
fn a_minority_catches_up_to_identical_hashes_after_a_partition_heals() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(2));
    sim.partition(&[
        &["validator-0", "validator-1", "validator-2", "executor-0"],
        &["validator-3"],
    ]);
    sim.run_for(Duration::from_secs(3));
    assert!(sim.commit("validator-0") > sim.commit("validator-3") + 10);
    sim.heal();
    sim.run_for(Duration::from_secs(2));
    let target = sim.commit("validator-0").min(sim.commit("validator-3"));
    assert!(sim.commit("validator-3") + 3 >= sim.commit("validator-0"));
    let a = &sim.nodes["validator-0"].chain()[..target as usize];
    let b = &sim.nodes["validator-3"].chain()[..target as usize];
    assert_eq!(a, b);
}

#[test]
fn a_deposed_leader_with_a_long_uncommitted_chain_is_repaired_at_once() {
    let mut sim = Sim::new(4, 0);
    sim.run_for(Duration::from_secs(2));
    let old = sim.nodes["validator-0"]
        .leader()
        .expect("a leader after two seconds")
        .to_owned();
    let others: Vec<String> = sim.nodes.keys().filter(|id| **id != old).cloned().collect();
    let majority: Vec<&str> = others.iter().map(String::as_str).collect();
    sim.partition(&[&majority, &[old.as_str()]]);
    sim.run_for(Duration::from_secs(5));
    // Alone, the old leader kept proposing blocks that can never commit.
    assert!(sim.nodes[&old].height() > sim.commit(&old) + 20);
    sim.heal();
    // The majority's leader restarts: whoever leads next starts out
    // knowing nothing of where the old leader's chain parts from its own.
    let current = sim.nodes[others[0].as_str()]
        .leader()
        .expect("the majority has a leader")
        .to_owned();
    sim.restart(&current);
    // An election and a few round trips, not one round trip per height of
    // the old leader's uncommitted suffix.
    sim.run_for(Duration::from_millis(1200));
    let (behind, ahead) = (sim.commit(&old), sim.commit(others[0].as_str()));
    assert!(
        behind + 3 >= ahead,
        "{old} at {behind}, the majority at {ahead}"
    );
}

#[test]
fn a_restarted_node_resumes_from_its_state_and_catches_up() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(2));
    sim.down.insert("validator-2".to_owned());
    sim.run_for(Duration::from_secs(2));
    sim.restart("validator-2");
    sim.run_for(Duration::from_secs(2));
    assert!(sim.commit("validator-2") + 3 >= sim.commit("validator-0"));
}

#[test]
fn random_partitions_and_crashes_never_break_agreement_and_progress_returns() {
    use rand::{Rng, SeedableRng};
    for seed in 0..12u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut sim = Sim::new(5, 1);
        let ids: Vec<String> = sim.nodes.keys().cloned().collect();
        for _ in 0..8 {
            sim.cut.clear();
            for a in &ids {
                for b in &ids {
                    if a != b && rng.random_bool(0.3) {
                        sim.cut.insert((a.clone(), b.clone()));
                    }
                }
            }
            if rng.random_bool(0.3) {
                let victim = ids[rng.random_range(0..ids.len())].clone();
                sim.down.insert(victim);
            }
            sim.run_for(Duration::from_millis(rng.random_range(200..800)));
            for id in sim.down.clone() {
                if rng.random_bool(0.5) {
                    sim.restart(&id);
                }
            }
        }
        sim.heal();
        for id in sim.down.clone() {
            sim.restart(&id);
        }
        let before = sim.nodes.values().map(Consensus::commit).max().unwrap();
        sim.run_for(Duration::from_secs(4));
        let all: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert!(
            sim.min_commit(&all) > before,
            "seed {seed}: no progress after healing"
        );
    }
}
