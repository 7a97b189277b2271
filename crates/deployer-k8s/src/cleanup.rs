//! Undoing a run on every exit path: the runner lets go of its lease and
//! fronts, deletes the run's namespace and waits until that namespace (by
//! uid) is gone, saying what holds it when it is not; then a leak audit by
//! the run's label across the cluster fails the run if anything of it
//! remains. `TESTBED_KEEP=1` keeps the namespace and says how to delete it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deploykit::Keep;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams, PatchParams};
use kube::{Client, Resource};
use scenario_core::{BoxError, DeployEnv, EventKind};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cluster::merge;
use crate::error::{Error, api, status_code};
use crate::lease::LeaseKeeper;
use crate::names;

/// How long cleanup waits for the namespace to be gone.
pub(crate) const GONE_WITHIN: Duration = Duration::from_secs(50);
/// The annotation that marks a namespace kept on purpose (reap leaves it).
pub const KEPT_ANNOTATION: &str = "testbed.dev/kept";

/// What a run holds that cleanup lets go of.
#[derive(Clone)]
pub(crate) struct RunHold {
    pub(crate) client: Client,
    pub(crate) namespace: String,
    pub(crate) uid: String,
    pub(crate) run_id: String,
    /// The pods' grace period.
    pub(crate) grace: Duration,
    /// Cancelled as cleanup starts: a node going down is expected from then.
    pub(crate) unsupervised: CancellationToken,
    /// Cancels fronts and (once the pods are gone) log followers.
    pub(crate) closing: CancellationToken,
    pub(crate) lease: Arc<Mutex<Option<LeaseKeeper>>>,
    pub(crate) followers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl RunHold {
    /// Keep following a log until cleanup.
    pub(crate) fn follower(&self, task: JoinHandle<()>) {
        self.followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }
}

/// Register the run's cleanup with `env`, right after its namespace exists.
pub(crate) fn register(env: &DeployEnv, hold: &RunHold, keep: Keep) {
    let audited = hold.clone();
    env.on_cleanup("leak audit by label", move || async move {
        if keep.data {
            return Ok(());
        }
        audit(&audited.client, &audited.run_id).await
    });
    let held = hold.clone();
    let (timeline, nodes_dir, outcome) = (
        env.timeline().clone(),
        scenario_core::layout::nodes_dir(env.artifacts_dir()),
        env.run_passed(),
    );
    env.on_cleanup("delete the run's namespace", move || async move {
        held.unsupervised.cancel();
        let lease = held.lease.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(lease) = lease {
            lease.release().await;
        }
        let result = if keep.data {
            keep_namespace(&held).await.map(|()| {
                timeline.record(
                    EventKind::Note,
                    None,
                    format!(
                        "kept namespace {0} (TESTBED_KEEP): delete it with `kubectl delete namespace {0}`",
                        held.namespace
                    ),
                );
            })
        } else {
            delete_namespace(&held.client, &held.namespace, &held.uid, held.grace).await
        };
        // The pods are gone (or kept): their logs are all in.
        held.closing.cancel();
        let followers: Vec<_> = std::mem::take(&mut *held.followers.lock().unwrap_or_else(PoisonError::into_inner));
        for follower in followers {
            let _ = follower.await;
        }
        if !keep.logs && outcome.get() == Some(true) {
            let _ = std::fs::remove_dir_all(&nodes_dir);
        }
        result
    });
}

async fn keep_namespace(hold: &RunHold) -> Result<(), BoxError> {
    let namespaces: Api<Namespace> = Api::all(hold.client.clone());
    let patch =
        merge(serde_json::json!({ "metadata": { "annotations": { KEPT_ANNOTATION: "true" } } }));
    namespaces
        .patch(&hold.namespace, &PatchParams::default(), &patch)
        .await
        .map_err(api(format!("mark namespace {} kept", hold.namespace)))?;
    Ok(())
}

/// Delete `namespace` (if it is still the one with `uid`) and wait until it
/// is gone; pods still there 3 s after their `grace` are deleted with
/// grace 0 (a kubelet can lose track of a container that already exited
/// and leave its pod Terminating); after [`GONE_WITHIN`], say what still
/// holds it.
pub(crate) async fn delete_namespace(
    client: &Client,
    namespace: &str,
    uid: &str,
    grace: Duration,
) -> Result<(), BoxError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ours = |found: &Namespace| found.meta().uid.as_deref() == Some(uid);
    match namespaces.get_opt(namespace).await {
        Ok(Some(found)) if ours(&found) => {}
        Ok(_) => return Ok(()),
        Err(error) => return Err(api(format!("look up namespace {namespace}"))(error).into()),
    }
    let background = DeleteParams::background();
    match namespaces.delete(namespace, &background).await {
        Ok(_) => {}
        Err(error) if status_code(&error) == Some(404) => return Ok(()),
        Err(error) => return Err(api(format!("delete namespace {namespace}"))(error).into()),
    }
    let deadline = Instant::now() + GONE_WITHIN;
    let force_at = Instant::now() + grace + Duration::from_secs(3);
    let mut forced = false;
    loop {
        let found = namespaces
            .get_opt(namespace)
            .await
            .map_err(api(format!("look up namespace {namespace}")))?;
        let Some(found) = found.filter(ours) else {
            return Ok(());
        };
        if !forced {
            // Pods whose containers have ended go at once; after their
            // grace (and 3 s), every pod left does.
            forced = Instant::now() >= force_at;
            force_delete_pods(client, namespace, forced).await;
        }
        if Instant::now() >= deadline {
            return Err(Error::NamespaceStuck {
                namespace: namespace.to_owned(),
                waited: GONE_WITHIN,
                stuck: what_holds(client, &found).await,
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Delete with grace 0 the pods in `namespace` being deleted whose
/// containers have all ended, or with `all`, every pod left.
async fn force_delete_pods(client: &Client, namespace: &str, all: bool) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let Ok(listed) = pods.list(&ListParams::default()).await else {
        return;
    };
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    for pod in listed.items {
        let name = pod.meta().name.clone().unwrap_or_default();
        if all {
            tracing::warn!(%namespace, pod = %name, "the pod outlived its grace period: deleting it with grace 0");
        } else if crate::pod::ended_while_deleting(&pod) {
            tracing::debug!(%namespace, pod = %name, "the pod's containers have ended: deleting it with grace 0");
        } else {
            continue;
        }
        let _ = pods.delete(&name, &now).await;
    }
}

/// What keeps a terminating namespace: its finalizers and conditions, and
/// the pods still in it.
async fn what_holds(client: &Client, namespace: &Namespace) -> String {
    let name = namespace.meta().name.clone().unwrap_or_default();
    let mut told = Vec::new();
    if let Some(finalizers) = namespace
        .spec
        .as_ref()
        .and_then(|spec| spec.finalizers.as_ref())
    {
        told.push(format!("finalizers {finalizers:?}"));
    }
    for condition in namespace
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
    {
        if condition.status == "True" {
            told.push(format!(
                "{}: {}",
                condition.type_,
                condition.message.as_deref().unwrap_or("")
            ));
        }
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), &name);
    if let Ok(listed) = pods.list(&ListParams::default()).await {
        let names: Vec<String> = listed
            .items
            .iter()
            .filter_map(|pod| pod.meta().name.clone())
            .collect();
        if !names.is_empty() {
            told.push(format!("pods still there: {}", names.join(", ")));
        }
    }
    if told.is_empty() {
        "the server says nothing about why".to_owned()
    } else {
        told.join("; ")
    }
}

/// Every object of the run still in the cluster, as `kind/namespace/name`.
pub async fn leftovers(client: &Client, run_id: &str) -> Result<Vec<String>, BoxError> {
    let selector = ListParams::default().labels(&names::run_selector(run_id));
    let mut left = Vec::new();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for found in namespaces.list(&selector).await?.items {
        left.push(format!(
            "namespace/{}",
            found.meta().name.clone().unwrap_or_default()
        ));
    }
    macro_rules! each {
        ($($kind:ty),*) => {$(
            let api_of: Api<$kind> = Api::all(client.clone());
            for found in api_of.list(&selector).await?.items {
                let meta = found.meta();
                left.push(format!(
                    "{}/{}/{}",
                    <$kind as Resource>::kind(&()).to_lowercase(),
                    meta.namespace.clone().unwrap_or_default(),
                    meta.name.clone().unwrap_or_default()
                ));
            }
        )*};
    }
    each!(
        Pod,
        StatefulSet,
        Service,
        ConfigMap,
        PersistentVolumeClaim,
        NetworkPolicy
    );
    Ok(left)
}

async fn audit(client: &Client, run_id: &str) -> Result<(), BoxError> {
    let left = leftovers(client, run_id).await?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("the run left objects in the cluster: {}", left.join(", ")).into())
    }
}
