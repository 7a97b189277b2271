//! The runner's hold on its run: a `coordination.k8s.io/v1` Lease in the
//! run's namespace, renewed a few times per lease duration. A namespace
//! whose lease expired belongs to a runner that is gone (SIGKILL, a closed
//! laptop, another machine), which is what [`crate::reap`] looks for.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PatchParams};
use scenario_core::FailureReporter;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::{create, merge};
use crate::error::Result;
use crate::manifest::{self, LEASE};

/// Who holds a run's lease: this host and process.
pub fn holder() -> String {
    format!("{}/{}", crate::names::host_name(), std::process::id())
}

/// The lease being renewed; cancelled by cleanup.
pub(crate) struct LeaseKeeper {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Stop renewing and wait for the renewer to end.
    pub(crate) async fn release(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Create the run's lease in `namespace` and renew it every third of
/// `duration`; a lease not renewed for a whole `duration` fails the run.
pub(crate) async fn hold(
    client: &Client,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    duration: Duration,
    failure: FailureReporter,
) -> Result<LeaseKeeper> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    create(
        &leases,
        &manifest::lease(&holder(), duration, now(), labels),
    )
    .await?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(renew(leases, duration, stop.clone(), failure));
    Ok(LeaseKeeper { stop, task })
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

async fn renew(
    leases: Api<Lease>,
    duration: Duration,
    stop: CancellationToken,
    failure: FailureReporter,
) {
    let every = duration / 3;
    let mut renewed = tokio::time::Instant::now();
    let mut reported = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let patch = merge(serde_json::json!({ "spec": { "renewTime": now() } }));
        match leases.patch(LEASE, &PatchParams::default(), &patch).await {
            Ok(_) => renewed = tokio::time::Instant::now(),
            Err(error) => {
                tracing::warn!(%error, "could not renew the run's lease");
                if renewed.elapsed() >= duration && !reported {
                    reported = true;
                    failure.fail(format!(
                        "the runner could not renew its lease for {duration:?} ({error}): the run's namespace may be reaped and its faults healed under it"
                    ));
                }
            }
        }
    }
}

/// Whether `lease` expired at `now`: not renewed for its whole duration.
/// A lease without a renew time or duration counts as expired.
pub(crate) fn expired(lease: &Lease, now: Timestamp) -> bool {
    let Some(spec) = &lease.spec else {
        return true;
    };
    let (Some(renewed), Some(seconds)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    let until = renewed.0 + k8s_openapi::jiff::SignedDuration::from_secs(i64::from(seconds));
    now > until
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_once_not_renewed_for_its_duration() {
        let renewed = Timestamp::from_second(1_000).unwrap();
        let lease = manifest::lease(
            "host/1",
            Duration::from_secs(15),
            MicroTime(renewed),
            &BTreeMap::new(),
        );
        let at = |s| Timestamp::from_second(s).unwrap();
        assert!(!expired(&lease, at(1_010)));
        assert!(!expired(&lease, at(1_015)));
        assert!(expired(&lease, at(1_016)));
        assert!(expired(&Lease::default(), at(0)));
    }
}
