//! Each link fault measured by its effect on demo-node's own UDP traffic
//! (heartbeats every 10 ms, each answered): a one-way cut silences one
//! direction only, latency raises the measured round trip by what was
//! asked, loss drops the asked share, a bandwidth cap holds the bytes that
//! arrive under it. Every fault is applied on validator-0 → validator-1
//! from 2 s to 8 s of the window; the switch's counters say what it did.

use std::time::Duration;

use scenario_core::prelude::*;
use scenario_core::{LinkShape, Report};
use workloads::{Chaos, ChaosAction};

use crate::support::{
    Backend, Snapshot, Snapshots, UDP_RECEIVED, UDP_SENT, grew, on_both_backends, per_peer,
};

const FROM: &str = "validator-0";
const TO: &str = "validator-1";
/// Inside the fault (applied at 2 s, healed at 8 s), with a second's margin.
const DURING: (u64, u64) = (3_000, 7_000);
/// After the heal.
const AFTER: (u64, u64) = (9_000, 10_500);

/// Three validators chattering over UDP every 10 ms (with `padding` bytes
/// in each heartbeat), `action` on the link from 2 s to 8 s, and metric
/// snapshots at `moments`.
async fn run_with(
    backend: Backend,
    name: &str,
    (action, padding): (ChaosAction, usize),
    moments: &[u64],
) -> Option<(Report, Snapshots)> {
    let deployer = backend.deployer(name).await?;
    let root = tempfile::tempdir().unwrap();
    let (snapshots, taken) = Snapshot::at(moments);
    let node = e2e_support::demo_node()
        .seed(e2e_support::SEED)
        .arg("--udp-interval-ms=10")
        .arg(format!("--udp-padding={padding}"));
    let plan = e2e_support::scenario(name, 3, 0, 11, root.path())
        .node_kind(node)
        .workload(snapshots)
        .workload(
            Chaos::new()
                .at(Duration::from_secs(2), action)
                .heal_after(Duration::from_secs(6)),
        )
        .build()
        .unwrap();
    let report = plan.run(&*deployer).await.unwrap();
    assert!(report.passed, "{report}");
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    assert!(!report.faults[0].untouched, "{:?}", report.faults[0]);
    Some((report, taken))
}

async fn a_one_way_cut_silences_one_direction_only(backend: Backend) {
    let cut = ChaosAction::cut(FROM, TO);
    let moments = [DURING.0, DURING.1, AFTER.0, AFTER.1];
    let Some((report, taken)) = run_with(backend, "one-way-cut", (cut, 0), &moments).await else {
        return;
    };
    assert_eq!(grew(&taken, DURING, TO, UDP_RECEIVED, FROM), 0.0);
    assert!(
        grew(&taken, DURING, FROM, UDP_RECEIVED, TO) > 0.0,
        "the other way is open"
    );
    assert!(grew(&taken, DURING, TO, UDP_RECEIVED, "validator-2") > 0.0);
    assert!(grew(&taken, AFTER, TO, UDP_RECEIVED, FROM) > 0.0, "healed");
    let effect = report.faults[0].effect.expect("counted");
    assert!(effect.dropped_packets > 0, "{effect:?}");
}

/// The median of `node`'s last round trip to `peer` over `moments`, in ms.
fn median_round_trip_ms(taken: &Snapshots, moments: &[u64], node: &str, peer: &str) -> f64 {
    let taken = taken.lock().unwrap();
    let mut samples: Vec<f64> = moments
        .iter()
        .map(|at| {
            let text = &taken[at][&NodeId::new(node)];
            per_peer(text, "demo_node_udp_round_trip_seconds", peer) * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn latency_raises_the_round_trip_by_what_was_asked(backend: Backend) {
    let asked = Duration::from_millis(150);
    let shape = LinkShape {
        latency: asked,
        ..LinkShape::default()
    };
    let before = [1_000, 1_200, 1_400, 1_600, 1_800];
    let during = [4_000, 4_500, 5_000, 5_500, 6_000, 6_500, 7_000];
    let moments: Vec<u64> = before.iter().chain(&during).copied().collect();
    let action = ChaosAction::shape(FROM, TO, shape);
    let Some((report, taken)) = run_with(backend, "latency", (action, 0), &moments).await else {
        return;
    };
    // Either way round, one of the two legs crosses the slow direction.
    for (node, peer) in [(FROM, TO), (TO, FROM)] {
        let base = median_round_trip_ms(&taken, &before, node, peer);
        let slow = median_round_trip_ms(&taken, &during, node, peer);
        let added = slow - base;
        eprintln!(
            "{backend:?}: {node} → {peer} round trip {base:.1} ms, {slow:.1} ms with 150 ms asked"
        );
        assert!(
            (120.0..=180.0).contains(&added),
            "{node}'s round trip to {peer} rose by {added:.1} ms ({base:.1} → {slow:.1}); 150 ms asked"
        );
    }
    let effect = report.faults[0].effect.expect("counted");
    assert!(effect.delayed_packets > 0, "{effect:?}");
}

async fn loss_drops_the_share_asked(backend: Backend) {
    let shape = LinkShape {
        loss: 0.5,
        ..LinkShape::default()
    };
    let action = ChaosAction::shape(FROM, TO, shape);
    let Some((report, taken)) = run_with(backend, "loss", (action, 0), &[DURING.0, DURING.1]).await
    else {
        return;
    };
    let sent = grew(&taken, DURING, FROM, UDP_SENT, TO);
    let arrived = grew(&taken, DURING, TO, UDP_RECEIVED, FROM);
    let share = arrived / sent;
    eprintln!("{backend:?}: {arrived} of {sent} heartbeats arrived ({share:.3}) with loss 0.5");
    assert!(sent > 200.0, "only {sent} heartbeats sent");
    assert!(
        (0.38..=0.62).contains(&share),
        "{share:.3} arrived with loss 0.5"
    );
    let effect = report.faults[0].effect.expect("counted");
    assert!(effect.dropped_packets > 0, "{effect:?}");
}

async fn a_bandwidth_cap_holds_what_arrives_under_it(backend: Backend) {
    let cap: u64 = 20_000;
    let shape = LinkShape {
        bandwidth: Some(cap),
        ..LinkShape::default()
    };
    let before = (500, 1_800);
    let moments = [before.0, before.1, DURING.0, DURING.1];
    let action = ChaosAction::shape(FROM, TO, shape);
    let Some((report, taken)) = run_with(backend, "bandwidth", (action, 1_000), &moments).await
    else {
        return;
    };
    let rate = |(from, to): (u64, u64)| {
        let bytes = grew(
            &taken,
            (from, to),
            TO,
            "demo_node_udp_received_bytes_total",
            FROM,
        );
        #[allow(clippy::cast_precision_loss)] // Milliseconds of a test window.
        let seconds = (to - from) as f64 / 1e3;
        bytes / seconds
    };
    let (free, capped) = (rate(before), rate(DURING));
    eprintln!("{backend:?}: {free:.0} B/s arrived before, {capped:.0} B/s under a {cap} B/s cap");
    #[allow(clippy::cast_precision_loss)]
    let cap = cap as f64;
    assert!(
        free > 3.0 * cap,
        "the load ({free:.0} B/s) would not feel the cap"
    );
    assert!(
        capped <= 1.1 * cap,
        "{capped:.0} B/s arrived under a {cap} B/s cap"
    );
    assert!(
        capped >= 0.3 * cap,
        "only {capped:.0} B/s arrived under a {cap} B/s cap"
    );
    let effect = report.faults[0].effect.expect("counted");
    assert!(
        effect.delayed_packets + effect.dropped_packets > 0,
        "{effect:?}"
    );
}

on_both_backends!(
    a_one_way_cut_silences_one_direction_and_heals,
    super::a_one_way_cut_silences_one_direction_only
);
on_both_backends!(
    added_latency_shows_in_the_nodes_measured_round_trip,
    super::latency_raises_the_round_trip_by_what_was_asked
);
on_both_backends!(
    loss_drops_the_asked_share_of_a_nodes_datagrams,
    super::loss_drops_the_share_asked
);
on_both_backends!(
    a_bandwidth_cap_holds_the_bytes_that_arrive_under_it,
    super::a_bandwidth_cap_holds_what_arrives_under_it
);
