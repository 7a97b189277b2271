//! Node actions under way on the live timeline: shown as they will be
//! recorded while they last, recorded once when done, gone without a trace
//! when they fail; fault windows start when they were asked for.

use super::*;
use crate::faults::fault_windows;

fn node() -> NodeId {
    NodeId::new("validator-1")
}

#[test]
fn a_stop_under_way_is_a_window_from_when_it_was_asked_for_and_is_recorded_once() {
    let timeline = Timeline::new();
    let stop = timeline.begin_node_action(&node(), NodeCause::Stop);
    let began = stop.began_ms();
    assert!(
        timeline.events().is_empty(),
        "nothing is recorded before it is done"
    );
    let live = timeline.live_events();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].kind, EventKind::NodeStopped);
    assert_eq!(live[0].began_ms, Some(began));
    let windows = fault_windows(&live);
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].from_ms, began);
    assert_eq!(windows[0].until_ms, None);

    stop.done("stop (took 8.1 s)");
    let events = timeline.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail, "stop (took 8.1 s)");
    assert_eq!(events[0].began_ms, Some(began));
    assert_eq!(timeline.live_events(), events, "done: no longer under way");
}

#[test]
fn a_failed_action_leaves_no_trace_and_a_start_under_way_does_not_end_a_window() {
    let timeline = Timeline::new();
    drop(timeline.begin_node_action(
        &node(),
        NodeCause::Kill {
            signal: crate::control::Signal::Kill,
        },
    ));
    assert!(timeline.live_events().is_empty());

    timeline.record_node(&node(), NodeCause::Stop, "stop");
    let start = timeline.begin_node_action(&node(), NodeCause::Start);
    let windows = fault_windows(&timeline.live_events());
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].until_ms, None, "still down while it starts");
    start.done("start");
    let windows = fault_windows(&timeline.live_events());
    assert!(windows[0].until_ms.is_some());
}

#[test]
fn a_restart_under_way_shows_as_down_and_once_done_is_a_closed_window() {
    let timeline = Timeline::new();
    let restart = timeline.begin_node_action(&node(), NodeCause::Restart);
    let began = restart.began_ms();
    let live = fault_windows(&timeline.live_events());
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].from_ms, live[0].until_ms), (began, None));
    std::thread::sleep(std::time::Duration::from_millis(5));
    restart.done("restart");
    let windows = fault_windows(&timeline.events());
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].from_ms, began);
    assert!(windows[0].until_ms.is_some_and(|until| until > began));
}
