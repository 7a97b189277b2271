//! Reaping runs whose runner is gone, from any machine: a run namespace
//! whose lease expired (not renewed for its whole duration), or that never
//! got a lease and is older than a lease would be, is deleted. Namespaces
//! kept on purpose (`TESTBED_KEEP`) and those already terminating are left.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, Resource};

use crate::cleanup::KEPT_ANNOTATION;
use crate::error::{Result, api, status_code};
use crate::lease::expired;
use crate::manifest::LEASE;
use crate::names::{self, RUN_LABEL};

/// How old a run namespace without a lease must be to be reaped.
const NO_LEASE_AFTER: Duration = Duration::from_secs(120);

/// A run whose namespace was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The namespace.
    pub namespace: String,
    /// The run id label.
    pub run_id: String,
    /// Who held the lease (`host/pid`), if anyone did.
    pub holder: Option<String>,
}

/// Delete every run namespace whose runner is gone; the runs reaped.
pub async fn reap(client: &Client) -> Result<Vec<Reaped>> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let listed = namespaces
        .list(&ListParams::default().labels(&names::any_run_selector()))
        .await
        .map_err(api("list run namespaces"))?;
    let now = Timestamp::now();
    let mut reaped = Vec::new();
    for namespace in listed.items {
        let meta = namespace.meta();
        let name = meta.name.clone().unwrap_or_default();
        let kept = meta
            .annotations
            .as_ref()
            .is_some_and(|notes| notes.get(KEPT_ANNOTATION).is_some_and(|v| v == "true"));
        if kept || meta.deletion_timestamp.is_some() {
            continue;
        }
        let leases: Api<Lease> = Api::namespaced(client.clone(), &name);
        let lease = leases
            .get_opt(LEASE)
            .await
            .map_err(api(format!("read the lease of {name}")))?;
        let gone = match &lease {
            Some(lease) => expired(lease, now),
            None => meta.creation_timestamp.as_ref().is_some_and(|created| {
                now > created.0
                    + SignedDuration::try_from(NO_LEASE_AFTER).unwrap_or(SignedDuration::MAX)
            }),
        };
        if !gone {
            continue;
        }
        match namespaces.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(error) if status_code(&error) == Some(404) => continue,
            Err(error) => return Err(api(format!("delete namespace {name}"))(error)),
        }
        reaped.push(Reaped {
            run_id: meta
                .labels
                .as_ref()
                .and_then(|labels| labels.get(RUN_LABEL).cloned())
                .unwrap_or_default(),
            holder: lease.and_then(|lease| lease.spec?.holder_identity),
            namespace: name,
        });
    }
    Ok(reaped)
}
