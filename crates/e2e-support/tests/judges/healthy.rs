//! The same judges pass on a healthy network, through a real outage of the
//! node the no-catch-up run stops, so each failure of the other runs is the
//! misbehaviour's doing.

use std::time::Duration;

use crate::support::Run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_network_through_an_outage_passes_every_judge() {
    let report = Run::new("healthy")
        .outage(
            "validator-2",
            Duration::from_secs(3),
            Duration::from_secs(3),
        )
        .report()
        .await;
    assert!(report.passed, "{report}");
    assert_eq!(report.expectations.len(), 5, "{report}");
}
