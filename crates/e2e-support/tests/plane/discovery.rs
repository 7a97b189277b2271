//! Nodes that learn their peers at run time (one bootstrap address each,
//! peer lists exchanged, learned addresses dialled) and talk UDP cannot
//! escape a partition on the plane: a 2|2 split stops finalization and the
//! UDP heartbeats across it, while each side keeps hearing itself; the heal
//! resumes both.

use std::time::Duration;

use blockfeed::Feed;
use expectations::{Agreement, Liveness};
use scenario_core::EventKind;
use workloads::{Chaos, ChaosAction};

use e2e_support::{height_at, last_height_ms};

use crate::support::{Backend, Snapshot, UDP_RECEIVED, grew, on_both_backends};

/// Snapshot moments (ms into the window): before the split, inside it
/// (after it settled), and after the heal.
const BEFORE: (u64, u64) = (2_000, 3_500);
const DURING: (u64, u64) = (5_500, 8_500);
const AFTER: (u64, u64) = (11_000, 12_500);

async fn a_split_cuts_learned_connections_and_udp(backend: Backend) {
    let Some(deployer) = backend.deployer("discovery split").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (snapshots, taken) =
        Snapshot::at(&[BEFORE.0, BEFORE.1, DURING.0, DURING.1, AFTER.0, AFTER.1]);
    let split = ChaosAction::partition([
        ["validator-0", "validator-1"],
        ["validator-2", "validator-3"],
    ]);
    let plan = e2e_support::scenario("discovery-split", 4, 0, 14, root.path())
        .node_kind(e2e_support::demo_node().seed(e2e_support::SEED).discovery())
        .block_feed(Feed::new())
        .workload(snapshots)
        .workload(
            Chaos::new()
                .at(Duration::from_secs(4), split)
                .heal_after(Duration::from_secs(5)),
        )
        .expectation(Agreement)
        .expectation(Liveness::new(3, Duration::from_secs(2)).grace(Duration::from_secs(2)))
        .build()
        .unwrap();
    let report = plan.run(&*deployer).await.unwrap();
    assert!(report.passed, "{report}");

    let sides = [
        ["validator-0", "validator-1"],
        ["validator-2", "validator-3"],
    ];
    for (side, other) in [(sides[0], sides[1]), (sides[1], sides[0])] {
        for node in side {
            // Discovery formed the whole network before the split...
            for peer in side.iter().chain(&other).filter(|peer| **peer != node) {
                let heard = grew(&taken, BEFORE, node, UDP_RECEIVED, peer);
                assert!(
                    heard > 0.0,
                    "{node} heard nothing from {peer} before the split"
                );
                let again = grew(&taken, AFTER, node, UDP_RECEIVED, peer);
                assert!(
                    again > 0.0,
                    "{node} heard nothing from {peer} after the heal"
                );
            }
            // ...and during it, each node hears its own side only.
            let mate = side.iter().find(|peer| **peer != node).unwrap();
            let within = grew(&taken, DURING, node, UDP_RECEIVED, mate);
            assert!(
                within > 0.0,
                "{node} stopped hearing {mate} on its own side"
            );
            for peer in other {
                let across = grew(&taken, DURING, node, UDP_RECEIVED, peer);
                assert_eq!(across, 0.0, "{node} heard {peer} across the split");
            }
        }
    }

    // No side has a quorum (3 of 4): finalization stops, then resumes.
    let at = |kind| {
        report
            .events
            .iter()
            .find(|event| event.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?}"))
            .at_ms
    };
    let (applied, healed) = (at(EventKind::FaultApplied), at(EventKind::FaultHealed));
    let nodes = ["validator-0", "validator-1", "validator-2", "validator-3"];
    let highest = |ms| {
        nodes
            .iter()
            .map(|n| height_at(&report, n, ms))
            .max()
            .unwrap()
    };
    let halted = highest(applied + 1_500);
    assert_eq!(
        halted,
        highest(healed),
        "nothing finalizes without a quorum"
    );
    let end = last_height_ms(&report);
    for node in nodes {
        let after = height_at(&report, node, end);
        assert!(
            after >= halted + 5,
            "{node} resumed only to {after} (halted at {halted})"
        );
    }
    let effect = report.faults[0].effect.expect("the plane counts packets");
    assert!(effect.dropped_packets > 0, "{effect:?}");
}

on_both_backends!(
    a_two_two_split_of_discovering_nodes_stops_finalization_and_udp_across_it,
    super::a_split_cuts_learned_connections_and_udp
);
