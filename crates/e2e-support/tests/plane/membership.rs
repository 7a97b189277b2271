//! Software whose members must agree on every member's address (etcd-style
//! ids derived from peer URLs) forms a cluster on the plane, where every
//! node has one address that every peer sees.

use std::time::Duration;

use blockfeed::Feed;
use expectations::{Agreement, Liveness};

use crate::support::{Backend, on_both_backends};

async fn a_strict_membership_cluster_forms(backend: Backend) {
    let Some(deployer) = backend.deployer("strict membership").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = e2e_support::scenario("strict", 3, 0, 4, root.path())
        .node_kind(
            e2e_support::demo_node()
                .seed(e2e_support::SEED)
                .strict_membership(),
        )
        .block_feed(Feed::new())
        .expectation(Liveness::new(3, Duration::from_secs(2)))
        .expectation(Agreement)
        .build()
        .unwrap();
    let report = plan.run(&*deployer).await.unwrap();
    assert!(report.passed, "{report}");
}

on_both_backends!(
    a_strict_membership_cluster_forms_when_every_member_sees_one_address,
    super::a_strict_membership_cluster_forms
);
