//! Reaching the cluster and creating objects in it: a client from the
//! kubeconfig, checked to answer; creates that ride out what a real server
//! does right after a namespace appears (HTTP 500 with `retryAfterSeconds`
//! while the default service account's token is made, 429, 503) and that
//! take a 409 on a retried create as the object being there already; reads
//! sent again after a dropped connection ([`reads`]).

use std::fmt::Debug;
use std::time::Duration;

use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Error, Result, api, status_code};

mod reads;

/// How long creates keep retrying what the server says to retry.
const RETRY_WITHIN: Duration = Duration::from_secs(30);

/// A client from `KUBECONFIG` (or the in-cluster config), checked to answer
/// within 10 seconds; its reads are sent again after a dropped connection.
pub async fn connect() -> Result<Client> {
    let no_cluster = |source: scenario_core::BoxError| Error::NoCluster { source };
    let config = kube::Config::infer()
        .await
        .map_err(|e| no_cluster(e.into()))?;
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| no_cluster(e.into()))?
        .with_layer(&reads::RetryReadsLayer)
        .build();
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(error)) => Err(no_cluster(error.into())),
        Err(_) => Err(no_cluster(
            "the API server did not answer within 10 s".into(),
        )),
    }
}

/// How long the server asks to wait before retrying `error`, if it is one
/// to retry.
pub(crate) fn retry_after(error: &kube::Error) -> Option<Duration> {
    let kube::Error::Api(status) = error else {
        return None;
    };
    let asked = status
        .details
        .as_ref()
        .map(|details| details.retry_after_seconds)
        .filter(|seconds| *seconds > 0);
    match (status.code, asked) {
        (429 | 500 | 503 | 504, Some(seconds)) => Some(Duration::from_secs(u64::from(seconds))),
        (429 | 503 | 504, None) => Some(Duration::from_secs(1)),
        _ => None,
    }
}

/// Create `object` through `api`: retried while the server says to retry
/// (for at most 30 s); a 409 after a retry means an earlier attempt made it.
pub(crate) async fn create<K>(api_of: &Api<K>, object: &K) -> Result<()>
where
    K: Resource + Clone + Debug + serde::Serialize + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    let name = object.meta().name.clone().unwrap_or_default();
    let deadline = Instant::now() + RETRY_WITHIN;
    let mut retried = false;
    loop {
        match api_of.create(&PostParams::default(), object).await {
            Ok(_) => return Ok(()),
            Err(error) if retried && status_code(&error) == Some(409) => return Ok(()),
            Err(error) => match retry_after(&error) {
                Some(wait) if Instant::now() + wait < deadline => {
                    tracing::debug!(%kind, %name, %error, "retrying a create the server refused for now");
                    retried = true;
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(api(format!("create {kind} {name}"))(error)),
            },
        }
    }
}

/// A JSON merge patch.
pub(crate) fn merge(patch: Value) -> kube::api::Patch<Value> {
    kube::api::Patch::Merge(patch)
}

/// The cluster's default storage class, if it has one (`None` too when the
/// user may not list storage classes).
pub async fn default_storage_class(client: &Client) -> Result<Option<String>> {
    use k8s_openapi::api::storage::v1::StorageClass;
    const DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
    let classes: Api<StorageClass> = Api::all(client.clone());
    let listed = match classes.list(&Default::default()).await {
        Ok(listed) => listed,
        // Not allowed to look: act as if there were none.
        Err(error) if status_code(&error) == Some(403) => return Ok(None),
        Err(error) => return Err(api("list storage classes")(error)),
    };
    Ok(listed.items.into_iter().find_map(|class| {
        let default = class
            .metadata
            .annotations
            .as_ref()
            .and_then(|notes| notes.get(DEFAULT))
            .is_some_and(|value| value == "true");
        default.then(|| class.metadata.name.unwrap_or_default())
    }))
}

#[cfg(test)]
mod tests;
