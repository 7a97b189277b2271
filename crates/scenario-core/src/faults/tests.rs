//! Tests of fault windows and quorum periods, on hand-written timelines.

use super::*;
use crate::control::Signal;

fn at(at_ms: u64, kind: EventKind) -> Event {
    Event {
        at_ms,
        kind,
        node: None,
        detail: String::new(),
        fault_id: None,
        fault: None,
        cause: None,
        began_ms: None,
    }
}

fn node(at_ms: u64, kind: EventKind, id: &str) -> Event {
    Event {
        node: Some(NodeId::new(id)),
        ..at(at_ms, kind)
    }
}

fn applied(at_ms: u64, id: u64, fault: NetworkFault) -> Event {
    Event {
        fault_id: Some(FaultId(id)),
        fault: Some(fault),
        ..at(at_ms, EventKind::FaultApplied)
    }
}

fn healed(at_ms: u64, id: Option<u64>) -> Event {
    Event {
        fault_id: id.map(FaultId),
        ..at(at_ms, EventKind::FaultHealed)
    }
}

fn partition(groups: &[&[&str]]) -> NetworkFault {
    NetworkFault::Partition {
        groups: groups
            .iter()
            .map(|g| g.iter().map(|id| NodeId::new(*id)).collect())
            .collect(),
    }
}

fn cut(from: &str, to: &str) -> NetworkFault {
    NetworkFault::Cut {
        from: NodeId::new(from),
        to: NodeId::new(to),
    }
}

fn validators(n: usize) -> BTreeSet<NodeId> {
    (0..n)
        .map(|i| NodeId::new(format!("validator-{i}")))
        .collect()
}

fn spans(windows: &[FaultWindow]) -> Vec<(u64, Option<u64>)> {
    windows.iter().map(|w| (w.from_ms, w.until_ms)).collect()
}

#[test]
fn a_heal_of_one_fault_closes_only_that_fault() {
    let events = [
        applied(100, 1, cut("validator-0", "validator-1")),
        applied(200, 2, cut("validator-1", "validator-2")),
        healed(300, Some(1)),
    ];
    let windows = fault_windows(&events);
    assert_eq!(spans(&windows), [(100, Some(300)), (200, None)]);
    assert_eq!(windows.iter().filter(|w| w.is_active()).count(), 1);
}

#[test]
fn a_heal_of_every_fault_closes_every_network_window_but_no_node_window() {
    let events = [
        applied(100, 1, cut("validator-0", "validator-1")),
        applied(200, 2, partition(&[&["validator-0"], &["validator-1"]])),
        node(250, EventKind::NodeStopped, "validator-2"),
        healed(300, None),
        applied(400, 3, cut("validator-2", "validator-0")),
    ];
    let windows = fault_windows(&events);
    assert_eq!(
        spans(&windows),
        [(100, Some(300)), (200, Some(300)), (250, None), (400, None)]
    );
    let active: Vec<bool> = windows.iter().map(FaultWindow::is_network).collect();
    assert_eq!(active, [true, true, false, true]);
}

#[test]
fn a_healed_fault_healed_again_changes_nothing() {
    let events = [
        applied(100, 1, cut("validator-0", "validator-1")),
        healed(200, Some(1)),
        healed(300, Some(1)),
    ];
    assert_eq!(spans(&fault_windows(&events)), [(100, Some(200))]);
}

#[test]
fn a_stop_that_took_seconds_is_a_window_from_when_it_was_asked_for() {
    // A pod that lingered while terminating: the stop was asked for at
    // 1 000 ms and done at 9 000 ms; a partition was applied in between.
    let stop = Event {
        cause: Some(NodeCause::Stop),
        began_ms: Some(1_000),
        ..node(9_000, EventKind::NodeStopped, "validator-1")
    };
    let events = [
        applied(4_000, 1, partition(&[&["validator-0"], &["validator-2"]])),
        stop,
        node(12_000, EventKind::NodeStarted, "validator-1"),
        healed(14_000, Some(1)),
    ];
    let windows = fault_windows(&events);
    assert_eq!(
        spans(&windows),
        [(1_000, Some(12_000)), (4_000, Some(14_000))]
    );
    assert_eq!(windows[0].node(), Some(&NodeId::new("validator-1")));
}

#[test]
fn a_node_is_down_from_stop_or_kill_or_exit_until_it_starts_and_paused_until_resumed() {
    let kill = Event {
        cause: Some(NodeCause::Kill {
            signal: Signal::Kill,
        }),
        ..node(300, EventKind::NodeKilled, "validator-1")
    };
    let events = [
        node(100, EventKind::NodeStopped, "validator-0"),
        node(150, EventKind::NodeStarted, "validator-1"),
        node(200, EventKind::NodeStarted, "validator-0"),
        kill,
        node(350, EventKind::NodeExited, "validator-1"),
        node(400, EventKind::NodeRestarted, "validator-1"),
        node(500, EventKind::NodePaused, "validator-2"),
        node(600, EventKind::NodeResumed, "validator-2"),
        node(700, EventKind::NodeExited, "executor-0"),
    ];
    let windows = fault_windows(&events);
    assert_eq!(
        spans(&windows),
        [
            (100, Some(200)),
            (300, Some(400)),
            (500, Some(600)),
            (700, None)
        ]
    );
    assert_eq!(
        windows[1].disruption,
        Disruption::NodeDown {
            node: NodeId::new("validator-1"),
            cause: Some(NodeCause::Kill {
                signal: Signal::Kill
            }),
        }
    );
    assert_eq!(
        windows[1].disruption.to_string(),
        "validator-1 down (kill with SIGKILL)"
    );
    assert!(matches!(
        windows[2].disruption,
        Disruption::NodePaused { .. }
    ));
}

#[test]
fn only_what_lists_a_node_touches_it() {
    let events = [
        applied(100, 1, partition(&[&["validator-0"], &["validator-1"]])),
        applied(100, 2, cut("executor-0", "executor-1")),
        node(100, EventKind::NodeStopped, "executor-2"),
    ];
    let windows = fault_windows(&events);
    let touched: Vec<bool> = windows.iter().map(|w| w.touches(&validators(3))).collect();
    assert_eq!(touched, [true, false, false]);
}

#[test]
fn a_partition_without_a_majority_group_loses_quorum_until_healed_by_heal_all() {
    let events = [
        applied(
            1000,
            1,
            partition(&[
                &["validator-0", "validator-1"],
                &["validator-2", "validator-3"],
            ]),
        ),
        healed(4000, None),
    ];
    let periods = no_quorum_periods(&fault_windows(&events), &validators(4));
    assert_eq!(
        periods,
        [Period {
            from_ms: 1000,
            until_ms: Some(4000)
        }]
    );
}

#[test]
fn a_partition_that_keeps_a_majority_together_keeps_quorum() {
    let events = [applied(
        1000,
        1,
        partition(&[
            &["validator-0", "validator-1", "validator-2"],
            &["validator-3"],
        ]),
    )];
    assert!(no_quorum_periods(&fault_windows(&events), &validators(4)).is_empty());
}

#[test]
fn stopped_validators_lose_quorum_together_not_alone() {
    let events = [
        node(1000, EventKind::NodeStopped, "validator-0"),
        node(2000, EventKind::NodeKilled, "validator-1"),
        node(3000, EventKind::NodeStarted, "validator-0"),
        node(5000, EventKind::NodeStopped, "validator-2"),
    ];
    let periods = no_quorum_periods(&fault_windows(&events), &validators(4));
    assert_eq!(
        periods,
        [
            Period {
                from_ms: 2000,
                until_ms: Some(3000)
            },
            Period {
                from_ms: 5000,
                until_ms: None
            }
        ]
    );
}

#[test]
fn a_stopped_node_outside_a_partition_counts_as_down_there_too() {
    // 5 validators, quorum 3; v3 and v4 are unlisted and v4 is down: group
    // {v1, v2} with v3 reaches 3 until v3 stops too.
    let events = [
        node(100, EventKind::NodeStopped, "validator-4"),
        applied(
            200,
            1,
            partition(&[&["validator-0"], &["validator-1", "validator-2"]]),
        ),
        node(300, EventKind::NodeStopped, "validator-3"),
    ];
    let periods = no_quorum_periods(&fault_windows(&events), &validators(5));
    assert_eq!(
        periods,
        [Period {
            from_ms: 300,
            until_ms: None
        }]
    );
}

#[test]
fn a_fault_replaced_by_another_at_once_leaves_no_gap() {
    let split = || partition(&[&["validator-0"], &["validator-1"], &["validator-2"]]);
    let events = [
        applied(100, 1, split()),
        healed(200, Some(1)),
        applied(200, 2, split()),
        healed(300, Some(2)),
    ];
    let periods = no_quorum_periods(&fault_windows(&events), &validators(3));
    assert_eq!(
        periods,
        [Period {
            from_ms: 100,
            until_ms: Some(300)
        }]
    );
}

#[test]
fn a_window_cuts_off_the_smaller_side_of_a_partition_and_both_ends_of_a_cut() {
    let window = |fault| FaultWindow {
        from_ms: 0,
        until_ms: None,
        disruption: Disruption::Network {
            id: None,
            fault: Some(fault),
        },
    };
    let ids = |names: &[&str]| names.iter().map(|n| NodeId::new(*n)).collect::<Vec<_>>();
    let partition = window(NetworkFault::Partition {
        groups: vec![ids(&["a"]), ids(&["b", "c", "d"])],
    });
    assert!(partition.cuts_off(&NodeId::new("a")));
    assert!(!partition.cuts_off(&NodeId::new("b")));
    let cut = window(NetworkFault::Cut {
        from: NodeId::new("a"),
        to: NodeId::new("b"),
    });
    assert!(cut.cuts_off(&NodeId::new("a")) && cut.cuts_off(&NodeId::new("b")));
    assert!(!cut.cuts_off(&NodeId::new("c")));
}
