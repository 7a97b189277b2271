//! The fault engine on synthetic packets: cuts, partitions, stacking and
//! heal, shapes, loss and jitter against the seed, the bandwidth queue, and
//! the counters every fault keeps.

use std::time::{Duration, Instant};

use scenario_core::{ControlError, LinkShape, NetworkFault, NodeId};

use super::{DropCause, Engine, NodeIndex, Verdict};
use crate::fault::{Fault, Peer};

fn id(name: &str) -> NodeId {
    NodeId::new(name)
}

/// An engine with nodes a, b, c (indices 0, 1, 2).
fn engine(seed: u64) -> (Engine, [NodeIndex; 3]) {
    let mut engine = Engine::new(seed);
    let nodes = [
        engine.add_node(id("a")),
        engine.add_node(id("b")),
        engine.add_node(id("c")),
    ];
    (engine, nodes)
}

fn cut(from: &str, to: &str) -> Fault {
    Fault::from_network(&NetworkFault::Cut {
        from: id(from),
        to: id(to),
    })
    .unwrap()
}

fn shape(from: &str, to: &str, shape: LinkShape) -> Fault {
    Fault::Shape {
        from: Peer::Node(id(from)),
        to: Peer::Node(id(to)),
        shape,
    }
}

fn latency(ms: u64) -> LinkShape {
    LinkShape {
        latency: Duration::from_millis(ms),
        ..LinkShape::default()
    }
}

#[test]
fn a_clean_engine_forwards_everything_and_counts_nothing() {
    let (mut engine, [a, b, _]) = engine(1);
    assert!(!engine.is_faulted());
    assert_eq!(engine.decide(a, b, 100, Instant::now()), Verdict::Forward);
    assert!(engine.reports().is_empty());
}

#[test]
fn a_cut_drops_one_direction_only_and_heal_resumes_it() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let fault = engine.apply(cut("a", "b")).unwrap();
    assert_eq!(engine.decide(a, b, 100, now), Verdict::Drop(DropCause::Cut));
    assert_eq!(engine.decide(b, a, 100, now), Verdict::Forward);
    engine.heal(fault);
    assert_eq!(engine.decide(a, b, 100, now), Verdict::Forward);
    let report = engine.report(fault).unwrap();
    assert!(!report.active);
    assert_eq!(report.counters.matched_packets, 1, "{report:?}");
    assert_eq!(report.counters.dropped_packets, 1);
    assert_eq!(report.counters.dropped_bytes, 100);
    assert!(!report.counters.touched_nothing());
}

#[test]
fn a_partition_cuts_across_groups_both_ways_and_spares_unlisted_nodes() {
    let (mut engine, [a, b, c]) = engine(1);
    let now = Instant::now();
    let d = engine.add_node(id("d"));
    engine
        .apply(
            Fault::from_network(&NetworkFault::Partition {
                groups: vec![vec![id("a"), id("d")], vec![id("b")]],
            })
            .unwrap(),
        )
        .unwrap();
    let cut = Verdict::Drop(DropCause::Cut);
    assert_eq!(engine.decide(a, b, 1, now), cut);
    assert_eq!(engine.decide(b, a, 1, now), cut);
    assert_eq!(engine.decide(d, b, 1, now), cut);
    assert_eq!(engine.decide(a, d, 1, now), Verdict::Forward);
    assert_eq!(engine.decide(c, a, 1, now), Verdict::Forward);
    assert_eq!(engine.decide(b, c, 1, now), Verdict::Forward);
}

#[test]
fn a_link_stays_cut_while_any_fault_cuts_it() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let first = engine.apply(cut("a", "b")).unwrap();
    let second = engine.apply(Fault::Isolate { node: id("b") }).unwrap();
    assert_eq!(engine.decide(a, b, 10, now), Verdict::Drop(DropCause::Cut));
    engine.heal(first);
    assert_eq!(engine.decide(a, b, 10, now), Verdict::Drop(DropCause::Cut));
    engine.heal(first); // healing twice does nothing
    engine.heal(second);
    assert_eq!(engine.decide(a, b, 10, now), Verdict::Forward);
    assert!(!engine.is_faulted());
    // Both cut the first packet, only the isolation the second.
    assert_eq!(engine.report(first).unwrap().counters.dropped_packets, 1);
    assert_eq!(engine.report(second).unwrap().counters.dropped_packets, 2);
}

#[test]
fn heal_all_heals_everything_and_keeps_the_counters() {
    let (mut engine, [a, b, c]) = engine(1);
    let now = Instant::now();
    let one = engine.apply(cut("a", "b")).unwrap();
    let two = engine.apply(shape("b", "c", latency(5))).unwrap();
    engine.decide(a, b, 1, now);
    engine.decide(b, c, 1, now);
    engine.heal_all();
    assert_eq!(engine.decide(a, b, 1, now), Verdict::Forward);
    assert_eq!(engine.decide(b, c, 1, now), Verdict::Forward);
    let reports = engine.reports();
    assert_eq!(reports.len(), 2);
    assert!(
        reports
            .iter()
            .all(|r| !r.active && r.counters.matched_packets == 1)
    );
    assert_eq!(reports[0].id, one);
    assert_eq!(reports[1].id, two);
}

#[test]
fn latency_delays_by_the_strongest_shape_and_is_charged_to_it() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let weak = engine.apply(shape("a", "b", latency(50))).unwrap();
    let strong = engine.apply(shape("a", "b", latency(100))).unwrap();
    assert_eq!(
        engine.decide(a, b, 200, now),
        Verdict::ForwardAt(now + Duration::from_millis(100))
    );
    assert_eq!(engine.decide(b, a, 200, now), Verdict::Forward);
    let weak = engine.report(weak).unwrap().counters;
    let strong = engine.report(strong).unwrap().counters;
    assert_eq!((weak.matched_packets, weak.delayed_packets), (1, 0));
    assert_eq!((strong.matched_packets, strong.delayed_packets), (1, 1));
    assert_eq!(strong.delayed_bytes, 200);
}

#[test]
fn jitter_stays_within_its_bound() {
    let (mut engine, [a, b, _]) = engine(7);
    let now = Instant::now();
    let asked = LinkShape {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        ..LinkShape::default()
    };
    engine.apply(shape("a", "b", asked)).unwrap();
    let mut spread = Vec::new();
    for _ in 0..1000 {
        let Verdict::ForwardAt(at) = engine.decide(a, b, 100, now) else {
            panic!("a shaped link must delay");
        };
        spread.push(at - now);
    }
    let (min, max) = (spread.iter().min().unwrap(), spread.iter().max().unwrap());
    assert!(*min >= Duration::from_millis(20), "{min:?}");
    assert!(*max <= Duration::from_millis(30), "{max:?}");
    assert!(*max - *min > Duration::from_millis(8), "jitter must spread");
}

/// Decisions for `count` packets on a → b of an engine with 30 % loss and
/// jitter, optionally with traffic on another link in between: `None` for a
/// drop, else the delay.
fn lossy_run(seed: u64, count: usize, other_traffic: bool) -> Vec<Option<Duration>> {
    let (mut engine, [a, b, c]) = engine(seed);
    let now = Instant::now();
    let asked = LinkShape {
        loss: 0.3,
        jitter: Duration::from_millis(5),
        ..LinkShape::default()
    };
    engine.apply(shape("a", "b", asked.clone())).unwrap();
    engine.apply(shape("c", "b", asked)).unwrap();
    (0..count)
        .map(|_| {
            if other_traffic {
                engine.decide(c, b, 100, now);
            }
            match engine.decide(a, b, 100, now) {
                Verdict::Drop(DropCause::Loss) => None,
                Verdict::ForwardAt(at) => Some(at - now),
                Verdict::Forward => Some(Duration::ZERO),
                Verdict::Drop(other) => panic!("unexpected drop {other:?}"),
            }
        })
        .collect()
}

#[test]
fn loss_is_near_what_was_asked_and_a_seed_replays_the_same_decisions() {
    let first = lossy_run(42, 10_000, false);
    let lost = first.iter().filter(|v| v.is_none()).count();
    assert!(
        (2_700..=3_300).contains(&lost),
        "lost {lost} of 10000 at 30 %"
    );
    assert!(
        first == lossy_run(42, 10_000, false),
        "same seed, same packets"
    );
    assert!(
        first == lossy_run(42, 10_000, true),
        "another link's traffic does not change this link's stream"
    );
    assert!(
        first != lossy_run(43, 10_000, false),
        "another seed differs"
    );
}

#[test]
fn the_loss_counters_add_up() {
    let (mut engine, [a, b, _]) = engine(3);
    let now = Instant::now();
    let fault = engine
        .apply(shape(
            "a",
            "b",
            LinkShape {
                loss: 1.0,
                ..LinkShape::default()
            },
        ))
        .unwrap();
    for _ in 0..10 {
        assert_eq!(engine.decide(a, b, 50, now), Verdict::Drop(DropCause::Loss));
    }
    let counters = engine.report(fault).unwrap().counters;
    assert_eq!(counters.matched_packets, 10);
    assert_eq!(counters.dropped_packets, 10);
    assert_eq!(counters.dropped_bytes, 500);
    assert_eq!(counters.delayed_packets, 0);
}

#[test]
fn a_bandwidth_limit_paces_packets_and_drops_beyond_its_queue() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let rate = 100_000; // 100 kB/s: a 1000-byte packet every 10 ms
    let slow = engine.apply(shape(
        "a",
        "b",
        LinkShape {
            bandwidth: Some(rate),
            ..LinkShape::default()
        },
    ));
    let fault = slow.unwrap();
    let verdicts: Vec<Verdict> = (0..40).map(|_| engine.decide(a, b, 1000, now)).collect();
    // The burst (3000 bytes) passes at once.
    assert!(
        verdicts[..3].iter().all(|v| *v == Verdict::Forward),
        "{verdicts:?}"
    );
    // Then one packet per 10 ms.
    assert_eq!(
        verdicts[3],
        Verdict::ForwardAt(now + Duration::from_millis(10))
    );
    assert_eq!(
        verdicts[4],
        Verdict::ForwardAt(now + Duration::from_millis(20))
    );
    // The queue holds 24000 bytes: packets 4..=27 wait, the rest is dropped.
    let dropped = verdicts
        .iter()
        .filter(|v| **v == Verdict::Drop(DropCause::QueueFull))
        .count();
    assert_eq!(dropped, 40 - 3 - 24, "{verdicts:?}");
    // A second later the bucket is full again.
    let later = now + Duration::from_secs(1);
    assert_eq!(engine.decide(a, b, 1000, later), Verdict::Forward);
    let counters = engine.report(fault).unwrap().counters;
    assert_eq!(counters.matched_packets, 41);
    assert_eq!(counters.delayed_packets, 24);
    assert_eq!(counters.dropped_packets, 13);
}

#[test]
fn the_smallest_bandwidth_wins() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let rate = |bandwidth| LinkShape {
        bandwidth: Some(bandwidth),
        ..LinkShape::default()
    };
    engine.apply(shape("a", "b", rate(1_000_000))).unwrap();
    let slowest = engine.apply(shape("a", "b", rate(100_000))).unwrap();
    for _ in 0..4 {
        engine.decide(a, b, 1000, now);
    }
    assert_eq!(engine.report(slowest).unwrap().counters.delayed_packets, 1);
}

#[test]
fn impossible_faults_are_rejected_and_change_nothing() {
    let (mut engine, _) = engine(1);
    assert!(matches!(
        engine.apply(cut("a", "nobody")),
        Err(ControlError::UnknownNode(node)) if node.as_str() == "nobody"
    ));
    let lossy = |loss| LinkShape {
        loss,
        ..LinkShape::default()
    };
    for bad in [lossy(1.5), lossy(-0.1), lossy(f64::NAN)] {
        let error = engine.apply(shape("a", "b", bad)).unwrap_err();
        assert!(
            error.to_string().contains("loss must be between 0 and 1"),
            "{error}"
        );
    }
    let zero = LinkShape {
        bandwidth: Some(0),
        ..LinkShape::default()
    };
    assert!(engine.apply(shape("a", "b", zero)).is_err());
    assert!(engine.reports().is_empty());
    assert!(!engine.is_faulted());
}

#[test]
fn a_fault_on_a_link_without_traffic_touched_nothing() {
    let (mut engine, [a, b, _]) = engine(1);
    let now = Instant::now();
    let idle = engine.apply(cut("b", "c")).unwrap();
    let busy = engine.apply(cut("a", "b")).unwrap();
    engine.decide(a, b, 10, now);
    assert!(engine.report(idle).unwrap().counters.touched_nothing());
    assert!(!engine.report(busy).unwrap().counters.touched_nothing());
}

#[test]
fn any_peer_covers_nodes_that_join_later() {
    let (mut engine, [a, _, _]) = engine(1);
    let now = Instant::now();
    engine
        .apply(Fault::Cut {
            from: Peer::Any,
            to: Peer::Node(id("a")),
        })
        .unwrap();
    let late = engine.add_node(id("late"));
    assert_eq!(
        engine.decide(late, a, 1, now),
        Verdict::Drop(DropCause::Cut)
    );
    assert_eq!(engine.decide(a, late, 1, now), Verdict::Forward);
}

#[test]
fn cut_links_are_the_directed_links_cut_by_active_faults_and_nothing_shaped() {
    let (mut engine, _) = engine(1);
    let partition = engine
        .apply(Fault::Partition {
            groups: vec![vec![id("a")], vec![id("b"), id("c")]],
        })
        .unwrap();
    engine.apply(cut("b", "c")).unwrap();
    engine.apply(shape("c", "a", latency(50))).unwrap();
    let links = |engine: &Engine| -> Vec<(String, String)> {
        engine
            .cut_links()
            .into_iter()
            .map(|(from, to)| (from.to_string(), to.to_string()))
            .collect()
    };
    let pair = |from: &str, to: &str| (from.to_owned(), to.to_owned());
    assert_eq!(
        links(&engine),
        vec![
            pair("a", "b"),
            pair("a", "c"),
            pair("b", "a"),
            pair("b", "c"),
            pair("c", "a"),
        ]
    );
    engine.heal(partition);
    assert_eq!(links(&engine), vec![pair("b", "c")]);
}
