//! Each misbehaviour, planted in one node, is caught by the judge meant for
//! it, whose message names the node or the height.

use std::time::Duration;

use demo_node::Misbehaviour;

use crate::support::{Run, failed, failing, says};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_stops_proposing_fails_liveness_at_its_height_naming_it() {
    let report = Run::new("stall-proposals")
        .led_by("validator-0")
        .misbehave(
            "validator-0",
            Misbehaviour::StallProposals { after_height: 15 },
        )
        .report()
        .await;
    let message = failed(&report, "liveness");
    assert!(
        says(
            message,
            &[
                "finalization stalled at height 15:",
                "the leader was validator-0"
            ]
        ),
        "{message}"
    );
    assert!(
        report.failures[0].starts_with("expectation 'liveness' failed during the run at "),
        "liveness stops the run as soon as a window falls short: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_percent_of_transactions_silently_dropped_fail_inclusion_naming_the_node() {
    let report = Run::new("drop-txs")
        .misbehave("validator-1", Misbehaviour::DropTxs { percent: 4 })
        .txs_to("validator-1")
        .report()
        .await;
    assert_eq!(failing(&report), ["tx-inclusion"], "{report}");
    let message = failed(&report, "tx-inclusion");
    assert!(
        says(
            message,
            &[
                "accepted transactions that had time to settle were finalized",
                "every one must be; e.g. ",
                "submitted to validator-1 at ",
            ]
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_finalizes_another_block_fails_agreement_at_that_height() {
    let report = Run::new("fork-at")
        .following("validator-3")
        .misbehave("validator-3", Misbehaviour::ForkAt { height: 20 })
        .report()
        .await;
    // Stuck on its own block, the forker cannot converge either.
    assert_eq!(failing(&report), ["agreement", "recovery"], "{report}");
    let message = failed(&report, "agreement");
    assert!(
        message.starts_with("nodes finalized different blocks at height 20: "),
        "{message}"
    );
    assert!(message.contains("validator-3 → "), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_deleted_after_certification_fail_availability_at_evaluation() {
    let report = Run::new("lose-blobs-after")
        .misbehave(
            "executor-0",
            Misbehaviour::LoseBlobsAfter(Duration::from_secs(4)),
        )
        .report()
        .await;
    assert_eq!(failing(&report), ["da-availability"], "{report}");
    let message = failed(&report, "da-availability");
    assert!(
        says(
            message,
            &[
                "could no longer be sampled at evaluation; the first: blob ",
                "(certified at height ",
                "no executor holds it any more",
            ]
        ),
        "{message}"
    );
    let figures = &report.expectation("da-availability").unwrap().figures;
    assert_eq!(
        figures["sample_failures"], 0.0,
        "each blob was still there when first sampled: {figures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_that_never_catches_up_fails_recovery_naming_it() {
    let report = Run::new("no-catch-up")
        .misbehave("validator-2", Misbehaviour::NoCatchUp)
        .outage(
            "validator-2",
            Duration::from_secs(3),
            Duration::from_secs(3),
        )
        .report()
        .await;
    assert_eq!(failing(&report), ["recovery"], "{report}");
    let message = failed(&report, "recovery");
    assert!(
        says(
            message,
            &[
                "not every node reached finalized height ",
                "validator-2 at "
            ]
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_claiming_a_height_it_cannot_serve_fails_agreement_and_recovery() {
    let report = Run::new("inflate-height")
        .misbehave("validator-1", Misbehaviour::InflateHeight { by: 1000 })
        .report()
        .await;
    assert_eq!(failing(&report), ["agreement", "recovery"], "{report}");
    for judge in ["agreement", "recovery"] {
        let message = failed(&report, judge);
        assert!(
            says(
                message,
                &[
                    "validator-1 claims finalized height ",
                    " but cannot serve block "
                ]
            ),
            "{judge}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_proposes_late_fails_the_inclusion_latency_bound() {
    let report = Run::new("delay-proposals")
        .led_by("validator-0")
        .misbehave(
            "validator-0",
            Misbehaviour::DelayProposals(Duration::from_millis(800)),
        )
        .report()
        .await;
    assert_eq!(failing(&report), ["tx-inclusion"], "{report}");
    let message = failed(&report, "tx-inclusion");
    assert!(
        says(
            message,
            &[
                "inclusion latency p50 outside fault windows is ",
                "above the bound of 300 ms"
            ]
        ),
        "{message}"
    );
}
