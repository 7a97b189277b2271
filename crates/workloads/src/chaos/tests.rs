//! Unit tests of the chaos schedule: seeded targets, repeated faults,
//! selectors, scheduled actions with their heals, the schedule checks and
//! the requirements a schedule declares.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use scenario_core::prelude::*;
use scenario_core::{LinkShape, NetworkFault, NodeSlot, Signal};

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn nodes() -> Vec<NodeSlot> {
    Topology::new().validators(5).executors(1).slots()
}

fn chaos() -> Chaos {
    Chaos::new()
        .restart_at(secs(5), Selector::AnyOf(Role::Validator))
        .partition_at(secs(10), secs(5), Selector::Minority)
}

fn problems(chaos: &Chaos, window: Duration) -> Vec<ScheduleProblem> {
    match chaos.check(window, &nodes()) {
        Ok(()) => Vec::new(),
        Err(Error::InvalidSchedule { problems, .. }) => problems,
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn the_same_seed_plans_the_same_faults_and_another_seed_may_not() {
    assert_eq!(chaos().plan(42, &nodes()), chaos().plan(42, &nodes()));
    let plans: BTreeSet<String> = (0..20)
        .map(|seed| format!("{:?}", chaos().plan(seed, &nodes())))
        .collect();
    assert!(plans.len() > 1, "the seed chooses the targets");
}

#[test]
fn repeated_restarts_respect_the_bounds_and_the_per_target_cooldown() {
    let chaos = Chaos::new().window(secs(60)).cooldown(secs(20)).restarts(
        secs(2),
        secs(4),
        Selector::AnyOf(Role::Validator),
    );
    let plan = chaos.plan(3, &nodes());
    assert!(plan.len() >= 10, "{plan:?}");
    let mut last: BTreeMap<NodeId, Duration> = BTreeMap::new();
    let mut previous = Duration::ZERO;
    for fault in &plan {
        let PlannedFault::Node {
            at,
            node,
            action: NodeAction::Restart,
            heal_after: None,
        } = fault
        else {
            panic!("{fault:?}")
        };
        // Slots whose every candidate is cooling down are skipped, so gaps
        // may exceed the upper bound, never undercut the lower one.
        assert!(*at - previous >= secs(2), "{plan:?}");
        previous = *at;
        if let Some(before) = last.insert(node.clone(), *at) {
            assert!(
                *at - before >= secs(20),
                "{node} restarted again after {:?}",
                *at - before
            );
        }
    }
}

#[test]
fn repeated_partitions_never_overlap_and_cover_the_window() {
    let plan = Chaos::new()
        .window(secs(60))
        .partitions(secs(3), secs(6), secs(5), Selector::Minority)
        .plan(4, &nodes());
    assert!(plan.len() >= 4, "{plan:?}");
    let mut free_from = Duration::ZERO;
    for fault in &plan {
        let PlannedFault::Network {
            at,
            fault: NetworkFault::Partition { .. },
            heal_after: Some(duration),
        } = fault
        else {
            panic!("{fault:?}")
        };
        assert!(*at >= free_from + secs(3), "{plan:?}");
        free_from = *at + *duration;
    }
    assert!(
        free_from + secs(6) >= secs(60),
        "the last partition ends near the window's end"
    );
}

fn partition_groups(fault: &PlannedFault) -> &Vec<Vec<NodeId>> {
    match fault {
        PlannedFault::Network {
            fault: NetworkFault::Partition { groups },
            ..
        } => groups,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_majority_partition_puts_a_quorum_of_validators_on_one_side() {
    let plan = Chaos::new()
        .partition_at(secs(1), secs(1), Selector::Majority)
        .plan(9, &nodes());
    let groups = partition_groups(&plan[0]);
    assert_eq!(groups[0].len(), 3, "3 of 5 validators: {groups:?}");
    assert!(
        groups[0]
            .iter()
            .all(|id| id.as_str().starts_with("validator"))
    );
}

#[test]
fn a_minority_partition_cuts_off_fewer_than_half_of_the_validators() {
    let plan = chaos().plan(7, &nodes());
    let groups = partition_groups(&plan[1]);
    assert_eq!(groups[0].len(), 2);
    assert!(
        groups[0]
            .iter()
            .all(|id| id.as_str().starts_with("validator"))
    );
    assert_eq!(groups[0].len() + groups[1].len(), 6);
}

#[test]
fn scheduled_actions_keep_their_times_and_heal_after_in_time_order() {
    let split = ChaosAction::partition([vec!["validator-0", "validator-1"], vec!["validator-2"]]);
    let cut = NetworkFault::Cut {
        from: NodeId::new("validator-3"),
        to: NodeId::new("validator-4"),
    };
    let plan = Chaos::new()
        .at(secs(5), split.clone())
        .heal_after(secs(10))
        .at(secs(2), ChaosAction::kill("validator-1", Signal::Kill))
        .heal_after(secs(3))
        .at(secs(8), ChaosAction::stop(Selector::AnyOf(Role::Executor)))
        .at(secs(9), cut.clone())
        .plan(1, &nodes());
    let ChaosAction::Network(split) = split else {
        unreachable!()
    };
    assert_eq!(
        plan,
        [
            PlannedFault::Node {
                at: secs(2),
                node: NodeId::new("validator-1"),
                action: NodeAction::Kill(Signal::Kill),
                heal_after: Some(secs(3)),
            },
            PlannedFault::Network {
                at: secs(5),
                fault: split,
                heal_after: Some(secs(10)),
            },
            PlannedFault::Node {
                at: secs(8),
                node: NodeId::new("executor-0"),
                action: NodeAction::Stop,
                heal_after: None,
            },
            PlannedFault::Network {
                at: secs(9),
                fault: cut,
                heal_after: None,
            },
        ]
    );
}

#[test]
fn pause_at_is_a_scheduled_pause_resumed_after_its_duration() {
    let plan = Chaos::new()
        .pause_at(secs(4), secs(2), Selector::One(NodeId::new("validator-3")))
        .plan(1, &nodes());
    assert_eq!(
        plan,
        [PlannedFault::Node {
            at: secs(4),
            node: NodeId::new("validator-3"),
            action: NodeAction::Pause,
            heal_after: Some(secs(2)),
        }]
    );
    assert_eq!(NodeAction::Pause.undo(), Some(NodeAction::Resume));
    assert_eq!(
        NodeAction::Kill(Signal::Term).undo(),
        Some(NodeAction::Start)
    );
    assert_eq!(NodeAction::Restart.undo(), None);
}

#[test]
fn a_fault_scheduled_at_or_after_the_window_end_is_rejected_naming_it_and_the_window() {
    let chaos = Chaos::new()
        .at(secs(30), ChaosAction::cut("validator-0", "validator-1"))
        .heal_after(secs(5))
        .partition_at(secs(20), secs(1), Selector::Minority)
        .at(secs(19), ChaosAction::restart("validator-2"));
    let found = problems(&chaos, secs(20));
    assert_eq!(
        found,
        [
            ScheduleProblem::AfterWindow {
                action: "cut validator-0 -> validator-1".to_owned(),
                at: secs(30),
                window: secs(20),
            },
            ScheduleProblem::AfterWindow {
                action: "a partition of a minority of validators".to_owned(),
                at: secs(20),
                window: secs(20),
            },
        ]
    );
    let message = chaos.check(secs(20), &nodes()).unwrap_err().to_string();
    assert!(
        message.starts_with("chaos workload \"chaos\" has an invalid schedule"),
        "{message}"
    );
    assert!(
        message.contains("scheduled 30s into the window, but the window is only 20s long"),
        "{message}"
    );
    assert!(
        problems(&chaos, secs(31)).is_empty(),
        "a longer window fits"
    );
}

#[test]
fn heal_after_without_an_action_it_can_undo_is_a_schedule_problem() {
    let chaos = Chaos::new()
        .heal_after(secs(1))
        .at(secs(1), ChaosAction::restart("validator-0"))
        .heal_after(secs(2))
        .partition_at(secs(3), secs(1), Selector::Halves)
        .heal_after(secs(3));
    assert_eq!(
        problems(&chaos, secs(10)),
        [
            ScheduleProblem::HealAfterWithoutAction { duration: secs(1) },
            ScheduleProblem::CannotBeUndone {
                action: "restart validator-0".to_owned()
            },
            ScheduleProblem::HealAfterWithoutAction { duration: secs(3) },
        ]
    );
    assert!(
        chaos.plan(1, &nodes())[0].heal_after().is_none(),
        "a restart stays a restart"
    );
}

#[test]
fn an_action_on_a_node_the_run_lacks_is_rejected_listing_the_nodes() {
    let chaos = Chaos::new()
        .at(secs(1), ChaosAction::stop("validator-9"))
        .at(
            secs(2),
            ChaosAction::partition([["validator-0"], ["nobody"]]),
        )
        .restarts(secs(1), secs(2), Selector::One(NodeId::new("ghost")));
    let found = problems(&chaos, secs(10));
    let named: Vec<String> = found
        .iter()
        .map(|problem| match problem {
            ScheduleProblem::UnknownNode { node, known, .. } => {
                assert!(known.starts_with("validator-0, validator-1"), "{known}");
                node.to_string()
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(named, ["validator-9", "nobody", "ghost"]);
    assert!(
        found[0]
            .to_string()
            .contains("\"stop validator-9\" names validator-9")
    );
}

#[test]
fn requirements_cover_every_scheduled_action_and_its_undo() {
    let needs = |chaos: Chaos| chaos.requirements().capabilities.iter().collect::<Vec<_>>();
    assert_eq!(
        needs(Chaos::new().at(secs(1), ChaosAction::kill("validator-0", Signal::Kill))),
        [Capability::Kill]
    );
    assert_eq!(
        needs(
            Chaos::new()
                .at(secs(1), ChaosAction::kill("validator-0", Signal::Kill))
                .heal_after(secs(1))
        ),
        [Capability::StopStart, Capability::Kill],
        "starting the killed node again"
    );
    let slow = LinkShape {
        latency: Duration::from_millis(100),
        loss: 0.1,
        ..LinkShape::default()
    };
    assert_eq!(
        needs(
            Chaos::new()
                .at(secs(1), ChaosAction::cut("validator-0", "validator-1"))
                .at(
                    secs(2),
                    ChaosAction::shape("validator-1", "validator-2", slow)
                )
                .at(secs(3), ChaosAction::pause("validator-3"))
                .heal_after(secs(1))
        ),
        [
            Capability::Pause,
            Capability::OneWayCut,
            Capability::LinkLatency,
            Capability::LinkLoss,
        ]
    );
    let roles = Chaos::new()
        .at(secs(1), ChaosAction::stop(Selector::AnyOf(Role::Executor)))
        .restart_at(secs(2), Selector::AnyOf(Role::Executor))
        .requirements()
        .roles;
    assert_eq!(
        roles,
        [Role::Executor],
        "checked against the topology at build"
    );
}

#[test]
fn a_chaos_is_named_chaos_unless_named_and_its_name_is_its_seed_stream() {
    assert_eq!(Chaos::new().name(), "chaos");
    assert_eq!(Chaos::new().named("split-brain").name(), "split-brain");
    let plan = |name: &str, seed| chaos().named(name).plan(seed, &nodes());
    assert_eq!(plan("chaos", 3), chaos().plan(3, &nodes()));
    assert!(
        (0..20).any(|seed| plan("one", seed) != plan("other", seed)),
        "two chaos workloads with the same schedule draw their own targets"
    );
}

#[test]
fn restarts_with_downtime_are_stops_healed_after_the_downtime() {
    let chaos = Chaos::new()
        .window(secs(60))
        .restarts(secs(5), secs(8), Selector::AnyOf(Role::Validator))
        .down_for(secs(3))
        .restart_at(secs(2), Selector::One(NodeId::new("validator-0")))
        .down_for(secs(4));
    let plan = chaos.plan(5, &nodes());
    assert!(plan.len() >= 4, "{plan:?}");
    for fault in &plan {
        assert!(
            matches!(
                fault,
                PlannedFault::Node {
                    action: NodeAction::Stop,
                    heal_after: Some(down),
                    ..
                } if *down == secs(3) || *down == secs(4)
            ),
            "{fault:?}"
        );
    }
    // Downtime is not counted as the gap: each stop begins after the
    // previous repeated one was started again.
    let repeated: Vec<Duration> = plan
        .iter()
        .filter(|f| f.heal_after() == Some(secs(3)))
        .map(PlannedFault::at)
        .collect();
    for pair in repeated.windows(2) {
        assert!(pair[1] - pair[0] >= secs(8), "{repeated:?}");
    }
    let misuse = Chaos::new().down_for(secs(1));
    assert_eq!(
        problems(&misuse, secs(10)),
        [ScheduleProblem::DownForWithoutRestart { duration: secs(1) }]
    );
}

#[test]
fn restarts_without_a_gap_and_loss_outside_zero_to_one_are_refused() {
    let chaos = Chaos::new()
        .restarts(
            Duration::ZERO,
            Duration::ZERO,
            Selector::AnyOf(Role::Validator),
        )
        .link_fault_at(secs(1), secs(1), Duration::from_millis(10), 1.5);
    let found = problems(&chaos, secs(10));
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[0].to_string(),
        "restarts of any validator are at least 0ns apart; repeated faults need at least 1s between them"
    );
    assert_eq!(
        found[1].to_string(),
        "a slow, lossy link asks for a loss of 1.5; a loss is a probability from 0 to 1"
    );
}
