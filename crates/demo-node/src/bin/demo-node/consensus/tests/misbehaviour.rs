//! The consensus-level misbehaviour switches and the seed, on the simulated
//! network: a fork sticks at its height while the others go on, a node that
//! refuses history never catches up after a restart, and a seed replays the
//! same elections.

use super::*;

#[test]
fn a_node_forking_at_a_height_finalizes_its_own_block_there_and_the_rest_go_on() {
    let mut sim = Sim::with(4, 1, |settings| {
        if settings.id == "validator-3" {
            settings.faults.fork_at = Some(5);
            // A follower: it never times out first.
            settings.election_timeout = Duration::from_secs(60);
        }
    });
    sim.unchecked.insert("validator-3".to_owned());
    sim.run_for(Duration::from_secs(4));

    assert_eq!(
        sim.commit("validator-3"),
        5,
        "it finalized its fork and stuck there"
    );
    assert!(sim.commit("validator-0") >= 20, "the others go on");
    let (forker, honest) = (&sim.nodes["validator-3"], &sim.nodes["validator-0"]);
    assert_eq!(forker.block(4), honest.block(4));
    assert_ne!(forker.block(5).unwrap().hash, honest.block(5).unwrap().hash);
    assert_eq!(
        honest.block(5).unwrap().hash,
        sim.nodes["executor-0"].block(5).unwrap().hash
    );
}

#[test]
fn a_restarted_node_that_refuses_history_never_catches_up() {
    let mut sim = Sim::new(4, 1);
    sim.run_for(Duration::from_secs(2));
    sim.down.insert("validator-2".to_owned());
    let stopped_at = sim.commit("validator-2");
    sim.run_for(Duration::from_secs(2));
    // The simulation's blocks carry milliseconds since its start.
    let restarted_ms = (sim.now - sim.start).as_millis() as u64;
    sim.nodes
        .get_mut("validator-2")
        .unwrap()
        .settings
        .faults
        .refuse_proposed_before_ms = Some(restarted_ms);
    sim.restart("validator-2");
    sim.run_for(Duration::from_secs(2));

    let ahead = sim.commit("validator-0");
    assert!(
        sim.commit("validator-2") <= stopped_at + 1 && ahead >= stopped_at + 30,
        "validator-2 stopped at {stopped_at} and is at {}, validator-0 at {ahead}",
        sim.commit("validator-2")
    );
}

#[test]
fn a_seed_replays_the_same_elections_and_each_node_draws_its_own_timeouts() {
    let run = |seed: u64| {
        let mut sim = Sim::with(4, 0, |settings| settings.seed = Some(seed));
        sim.run_for(Duration::from_secs(2));
        (sim.leaders_by_term.clone(), sim.nodes["validator-0"].term())
    };
    assert_eq!(run(7), run(7));

    let v: Vec<String> = (0..2).map(|i| format!("validator-{i}")).collect();
    let start = Instant::now();
    let deadlines = |id: &str, seed: Option<u64>| {
        let mut settings = settings(id, &v, &v);
        settings.seed = seed;
        let mut node = Consensus::new(settings, 0, None, Vec::new(), 0, start);
        (0..5)
            .map(|_| {
                node.reset_election_deadline(start);
                node.election_deadline
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        deadlines("validator-0", Some(7)),
        deadlines("validator-0", Some(7))
    );
    assert_ne!(
        deadlines("validator-0", Some(7)),
        deadlines("validator-1", Some(7))
    );
    assert_ne!(
        deadlines("validator-0", Some(7)),
        deadlines("validator-0", Some(8))
    );
}
