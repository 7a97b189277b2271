//! Liveness, agreement and recovery on stub chains.

use super::*;

#[tokio::test(start_paused = true)]
async fn agreement_names_the_height_and_the_nodes_that_disagree() {
    let kind = StubKind {
        finalized: same,
        forks: |id| id == "validator-1",
    };
    let (passed, message) = judge(kind, Agreement).await;
    assert!(!passed);
    assert!(
        message.starts_with("nodes finalized different blocks at height 3:"),
        "{message}"
    );
    assert!(
        message.contains("validator-0, validator-2 → h3; validator-1 → validator-1-"),
        "{message}"
    );
    let (passed, message) = judge(
        StubKind {
            finalized: same,
            forks: never,
        },
        Agreement,
    )
    .await;
    assert!(passed, "{message}");
}

#[tokio::test(start_paused = true)]
async fn liveness_names_the_stalled_window() {
    let (passed, message) = judge(
        StubKind {
            finalized: same,
            forks: never,
        },
        Liveness::new(1, Duration::from_secs(1)),
    )
    .await;
    assert!(!passed);
    assert!(
        message.starts_with("finalization stalled at height 9: between "),
        "{message}"
    );
    assert!(
        message.contains(
            "only 0 blocks were finalized (need 1 per 1000 ms window); no node reported a leader"
        ),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn recovery_names_the_node_left_behind() {
    let kind = StubKind {
        finalized: |id| if id == "validator-2" { 4 } else { 9 },
        forks: never,
    };
    let (passed, message) = judge(kind, Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.ends_with(
            "not every node reached finalized height 9 within 2000 ms: validator-2 at 4"
        ),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn agreement_checks_past_the_slowest_node_and_says_how_far() {
    let behind = StubKind {
        finalized: |id| if id == "validator-2" { 2 } else { 9 },
        forks: |id| id == "validator-1",
    };
    let (passed, message) = judge(behind, Agreement).await;
    assert!(!passed, "a fork above the slowest node's tip is caught");
    assert!(
        message.starts_with("nodes finalized different blocks at height 3:"),
        "{message}"
    );

    let healthy = StubKind {
        finalized: |id| if id == "validator-2" { 2 } else { 9 },
        forks: never,
    };
    let (passed, message) = judge(healthy, Agreement).await;
    assert!(passed, "{message}");
    assert_eq!(
        message,
        "3 nodes agree on every height two or more of them finalized, 1..=9 (all 3 nodes up to 2)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_node_claiming_more_than_it_can_serve_fails_agreement_and_recovery() {
    let (passed, message) = judge_with_a_liar(Agreement).await;
    assert!(!passed);
    assert!(
        message.contains("liar-0 claims finalized height 9 but cannot serve block 7"),
        "{message}"
    );
    let (passed, message) = judge_with_a_liar(Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.contains("liar-0 claims finalized height 9 but cannot serve block 9"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn agreement_fails_a_node_whose_claim_is_above_everyone_elses_and_unservable() {
    // liar-0 claims 12 and serves up to 9, as far as the others finalized:
    // every height two nodes share is servable, its own claim is not.
    let plan = Scenario::builder("verdicts")
        .topology(
            Topology::new()
                .validators(2)
                .node("liar-0", Role::Validator),
        )
        .node_kind(StubKind {
            finalized: |id| if id == "liar-0" { 12 } else { 9 },
            forks: never,
        })
        .window(Duration::from_secs(3));
    let (passed, message) = verdict_of(plan, Agreement).await;
    assert!(!passed);
    assert!(
        message.starts_with("liar-0 claims finalized height 12 but cannot serve block 12: "),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn recovery_on_a_chain_that_stopped_fails() {
    // Every stub node sits at height 9 for ever: converged, not progressing.
    let kind = StubKind {
        finalized: same,
        forks: never,
    };
    let (passed, message) = judge(kind, Recovery::within(Duration::from_secs(2))).await;
    assert!(!passed);
    assert!(
        message.ends_with("but the chain did not finalize height 10 within 2000 ms (validator-0 at 9, validator-1 at 9, validator-2 at 9): it stopped instead of recovering"),
        "{message}"
    );
}

/// A feed that saw every node finalize up to height 2 only.
struct SawTwo;

impl scenario_core::BlockFeed for SawTwo {
    fn subscribe(&self) -> futures::stream::BoxStream<'static, scenario_core::FeedEvent> {
        Box::pin(futures::stream::empty())
    }
    fn finalized_heights(&self) -> std::collections::BTreeMap<NodeId, u64> {
        ["validator-0", "validator-1", "validator-2"]
            .into_iter()
            .map(|id| (NodeId::new(id), 2))
            .collect()
    }
    fn finalized_blocks_from(&self, _height: u64) -> Vec<scenario_core::ObservedBlock> {
        Vec::new()
    }
    fn add_node(&self, _node: NodeId, _client: Arc<dyn NodeClient>) {}
}

#[async_trait]
impl scenario_core::BlockFeedFactory for SawTwo {
    async fn start(
        &self,
        _start: scenario_core::feed::FeedStart,
    ) -> Result<Arc<dyn scenario_core::BlockFeed>, BoxError> {
        Ok(Arc::new(SawTwo))
    }
}

#[tokio::test(start_paused = true)]
async fn a_claimed_height_far_above_what_the_feed_saw_fails_agreement() {
    // The stub nodes claim height 9 (and serve it), the feed saw 2: within
    // the feed's lag allowance that passes, so claim far more.
    let plan = Scenario::builder("verdicts")
        .topology(Topology::new().validators(3))
        .node_kind(StubKind {
            finalized: |id| if id == "validator-1" { 40 } else { 9 },
            forks: never,
        })
        .window(Duration::from_secs(2))
        .block_feed(SawTwo);
    let (passed, message) = verdict_of(plan, Agreement).await;
    assert!(!passed);
    assert_eq!(
        message,
        "validator-1 claims finalized height 40, but the block feed saw it finalize blocks only up to 2"
    );
}
