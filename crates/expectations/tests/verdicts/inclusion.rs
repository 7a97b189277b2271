//! Transaction inclusion and DA availability against a stub feed and ledger.

use super::*;

#[test]
fn inclusion_without_a_block_feed_or_a_workload_writing_its_ledger_is_refused_at_build() {
    let ledger = Ledger::new();
    let error = Scenario::builder("verdicts")
        .topology(Topology::new().validators(1))
        .node_kind(StubKind {
            finalized: same,
            forks: never,
        })
        .window(Duration::from_secs(1))
        .expectation(TxInclusion::at_least(99.0, &ledger))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"tx-inclusion\" needs a block feed, but the plan has none"),
        "{error}"
    );
    assert!(
        error.contains("reads a ledger that no workload of the plan writes"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn inclusion_fails_below_its_share_naming_a_missing_transaction_and_on_a_latency_bound() {
    // A ledger is read once: each run gets its own, filled alike.
    let filled = || {
        let ledger = Ledger::new();
        for id in ["a", "b", "c", "d"] {
            accepted(&ledger, id, 400);
        }
        ledger
    };
    let feed = || StubFeed {
        txs: vec!["a"],
        blobs: vec![],
    };
    let ledger = filled();
    let (passed, message) =
        judge_with_feed(feed(), &ledger, TxInclusion::at_least(90.0, &ledger)).await;
    assert!(!passed);
    assert!(
        message.starts_with(
            "1 of 4 accepted transactions that had time to settle were finalized (25.0 %), at least 90 % must be; e.g. b submitted to validator-0 at "
        ),
        "{message}"
    );

    let ledger = filled();
    let (passed, message) = judge_with_feed(
        feed(),
        &ledger,
        TxInclusion::at_least(20.0, &ledger).p50_below(Duration::from_millis(100)),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "inclusion latency p50 outside fault windows is 600 ms, above the bound of 100 ms (1 transactions sent outside faults)"
    );
    let ledger = filled();
    let (passed, message) =
        judge_with_feed(feed(), &ledger, TxInclusion::at_least(20.0, &ledger)).await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn da_availability_fails_on_uncertified_blobs_and_on_a_bad_sample() {
    use scenario_core::ledger::BlobRecord;
    let ledger = Ledger::new();
    let blob = |id: &str| BlobRecord {
        id: Some(BlobId(id.to_owned())),
        node: NodeId::new("executor-0"),
        dispersed_at_ms: 0,
        error: None,
    };
    ledger.blob(blob("x"));
    ledger.blob(blob("y"));
    let (passed, message) = judge_with_feed(
        StubFeed {
            txs: vec![],
            blobs: vec!["y"],
        },
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "50.0 % of 2 accepted blobs were certified, below 90 %"
    );

    // A ledger is read once: the second run gets its own.
    let ledger = Ledger::new();
    ledger.blob(blob("x"));
    ledger.blob(blob("y"));
    ledger.sampled(
        &BlobId("y".to_owned()),
        Err("executor-0's proof for chunk 3 of y does not verify".to_owned()),
    );
    let (passed, message) = judge_with_feed(
        StubFeed {
            txs: vec![],
            blobs: vec!["x", "y"],
        },
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "1 samples failed; the first: executor-0's proof for chunk 3 of y does not verify"
    );
}

#[tokio::test(start_paused = true)]
async fn a_blob_that_disappears_after_certification_fails_at_evaluation() {
    use scenario_core::ledger::BlobRecord;
    let ledger = Ledger::new();
    for id in ["kept", "gone-1"] {
        ledger.blob(BlobRecord {
            id: Some(BlobId(id.to_owned())),
            node: NodeId::new("executor-0"),
            dispersed_at_ms: 0,
            error: None,
        });
    }
    let feed = |blobs| StubFeed { txs: vec![], blobs };
    let (passed, message) = judge_with_feed(
        feed(vec!["kept", "gone-1"]),
        &ledger,
        DaAvailability::at_least(90.0, &ledger),
    )
    .await;
    assert!(!passed);
    assert_eq!(
        message,
        "1 of the 2 certified blobs checked could no longer be sampled at evaluation; the first: blob gone-1 (certified at height 1): no executor holds it any more"
    );
    let only_kept = Ledger::new();
    only_kept.blob(BlobRecord {
        id: Some(BlobId("kept".to_owned())),
        node: NodeId::new("executor-0"),
        dispersed_at_ms: 0,
        error: None,
    });
    let (passed, message) = judge_with_feed(
        feed(vec!["kept"]),
        &only_kept,
        DaAvailability::at_least(90.0, &only_kept),
    )
    .await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn strict_inclusion_fails_on_one_silently_dropped_transaction() {
    let ledger = Ledger::new();
    for id in ["a", "b", "c", "d"] {
        accepted(&ledger, id, 400);
    }
    let feed = StubFeed {
        txs: vec!["a", "b", "c"],
        blobs: vec![],
    };
    let (passed, message) = judge_with_feed(feed, &ledger, TxInclusion::all(&ledger)).await;
    assert!(!passed);
    assert!(
        message.starts_with("3 of 4 accepted transactions that had time to settle were finalized (75.0 %), every one must be; e.g. d submitted to validator-0"),
        "{message}"
    );
}

/// Writes the ledger (by hand, in the test) and stops validator-0 at once.
struct StopsValidatorZero(Ledger);

#[async_trait]
impl Workload for StopsValidatorZero {
    fn name(&self) -> &str {
        "stops-validator-0"
    }
    fn requirements(&self) -> Requirements {
        Requirements::none()
            .writes(&self.0)
            .capability(Capability::StopStart)
    }
    async fn run(&self, ctx: &RunContext, _: CancellationToken) -> Result<(), BoxError> {
        let control = ctx.node_control().ok_or("no node control")?;
        control.stop(&NodeId::new("validator-0")).await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_transaction_lost_with_a_node_that_was_stopped_is_not_a_silent_drop() {
    let ledger = Ledger::new();
    for id in ["a", "lost"] {
        accepted(&ledger, id, 400);
    }
    let plan = Scenario::builder("verdicts")
        .topology(Topology::new().validators(2))
        .node_kind(StubKind {
            finalized: same,
            forks: never,
        })
        .window(Duration::from_secs(1))
        .workload(StopsValidatorZero(ledger.clone()))
        .block_feed(StubFeed {
            txs: vec!["a"],
            blobs: vec![],
        });
    let (passed, message) = verdict_of(plan, TxInclusion::all(&ledger)).await;
    assert!(passed, "{message}");
    assert!(
        message.contains(
            "(1 more were lost with a node that went down: sent just before or while it was down"
        ),
        "{message}"
    );
}
