//! Undoing a run on every exit path: containers stopped (their output
//! drained into the node logs) and removed, link proxies closed, volumes
//! and the network removed, then a leak audit by the run's label that fails
//! the run if anything of it remains. Everything is found by label, so a
//! container created just before a failure is removed too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerSummary, Network, Volume};
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptions,
    StopContainerOptionsBuilder,
};
use deploykit::Keep;
use futures::StreamExt;
use scenario_core::{BoxError, DeployEnv};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::container::NodeContainer;
use crate::control::grace_seconds;
use crate::labels::run_filter;
use crate::logs;
use crate::plan::DATA_DIR;

/// How long the log followers get to drain once the containers stopped.
const DRAIN_WITHIN: Duration = Duration::from_secs(5);

/// Resources as the engine lists them under a label filter.
pub(crate) struct Listed {
    pub(crate) containers: Vec<ContainerSummary>,
    pub(crate) networks: Vec<Network>,
    pub(crate) volumes: Vec<Volume>,
}

/// Every container (running or not), network and volume matching `filter`.
pub(crate) async fn list(
    docker: &Docker,
    filter: &HashMap<String, Vec<String>>,
) -> Result<Listed, BoxError> {
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(filter)
                .build(),
        ))
        .await?;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(filter)
                .build(),
        ))
        .await?;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default().filters(filter).build(),
        ))
        .await?
        .volumes
        .unwrap_or_default();
    Ok(Listed {
        containers,
        networks,
        volumes,
    })
}

/// A run's resources as cleanup needs them; cheap to clone.
#[derive(Clone)]
pub(crate) struct Resources(Arc<Inner>);

struct Inner {
    docker: Docker,
    run_id: String,
    grace: Duration,
    nodes: Mutex<Vec<Arc<NodeContainer>>>,
    stop_proxies: CancellationToken,
    proxies: Mutex<Vec<JoinHandle<()>>>,
    plane: Mutex<Option<Arc<netplane::RunPlane>>>,
    followers: Mutex<Vec<JoinHandle<()>>>,
    closing: CancellationToken,
    abort: CancellationToken,
}

fn take<T: Default>(slot: &Mutex<T>) -> T {
    std::mem::take(&mut *slot.lock().unwrap_or_else(PoisonError::into_inner))
}

impl Resources {
    pub(crate) fn new(docker: Docker, run_id: &str, grace: Duration) -> Self {
        Self(Arc::new(Inner {
            docker,
            run_id: run_id.to_owned(),
            grace,
            nodes: Mutex::default(),
            stop_proxies: CancellationToken::new(),
            proxies: Mutex::default(),
            plane: Mutex::default(),
            followers: Mutex::default(),
            closing: CancellationToken::new(),
            abort: CancellationToken::new(),
        }))
    }

    /// A node's container exists.
    pub(crate) fn track(&self, node: Arc<NodeContainer>) {
        self.0
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(node);
    }

    /// Stream a node's output into its log until cleanup.
    pub(crate) fn follow_logs(&self, node: Arc<NodeContainer>) {
        let task = logs::follow(node, self.0.closing.clone(), self.0.abort.clone());
        self.0
            .followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    /// Cancelled when cleanup closes the proxies.
    pub(crate) fn proxy_stop(&self) -> CancellationToken {
        self.0.stop_proxies.clone()
    }

    /// The run's network plane, closed at cleanup with the proxies.
    pub(crate) fn set_plane(&self, run_plane: Arc<netplane::RunPlane>) {
        *self.0.plane.lock().unwrap_or_else(PoisonError::into_inner) = Some(run_plane);
    }

    /// The run's network plane, if it runs on one (kept after its close,
    /// for the audit).
    fn plane(&self) -> Option<Arc<netplane::RunPlane>> {
        self.0
            .plane
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A proxy that serves until cleanup.
    pub(crate) fn proxy(&self, task: JoinHandle<()>) {
        self.0
            .proxies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }
}

/// Register the cleanup actions (they run newest first: containers, then
/// proxies, then volumes and network, then the audit).
pub(crate) fn register(env: &DeployEnv, resources: &Resources, keep: Keep) {
    let audited = resources.clone();
    env.on_cleanup("leak audit by label", move || async move {
        let namespaces = audited
            .plane()
            .map(|plane| plane.leftover_namespaces())
            .unwrap_or_default();
        audit(&audited.0.docker, &audited.0.run_id, namespaces).await
    });
    let removed = resources.clone();
    env.on_cleanup("remove the run's volumes and network", move || async move {
        remove_volumes_and_network(&removed.0.docker, &removed.0.run_id).await
    });
    let closed = resources.clone();
    env.on_cleanup(
        "close the network plane or link proxies",
        move || async move {
            closed.0.stop_proxies.cancel();
            for task in take(&closed.0.proxies) {
                let _ = task.await;
            }
            if let Some(run_plane) = closed.plane() {
                run_plane.close().await;
            }
            Ok(())
        },
    );
    let stopped = resources.clone();
    let (nodes_dir, outcome) = (
        scenario_core::layout::nodes_dir(env.artifacts_dir()),
        env.run_passed(),
    );
    env.on_cleanup("stop and remove the containers", move || async move {
        let result = remove_containers(&stopped.0, keep, &nodes_dir).await;
        // Even when the engine failed us: no log follower outlives cleanup.
        stopped.0.closing.cancel();
        stopped.0.abort.cancel();
        if !keep.logs && outcome.get() == Some(true) {
            let _ = std::fs::remove_dir_all(&nodes_dir);
        }
        result
    });
}

async fn remove_containers(
    inner: &Inner,
    keep: Keep,
    nodes_dir: &std::path::Path,
) -> Result<(), BoxError> {
    let docker = &inner.docker;
    let nodes = take(&inner.nodes);
    for node in &nodes {
        node.expect_exit();
    }
    let listed = list(docker, &run_filter(&inner.run_id)).await?;
    let names: Vec<String> = listed.containers.into_iter().filter_map(|c| c.id).collect();
    let stops = names.iter().map(|name| {
        let options = StopContainerOptionsBuilder::default()
            .t(grace_seconds(inner.grace))
            .build();
        docker.stop_container(name, Some(options))
    });
    futures::future::join_all(stops).await;
    if keep.data {
        for node in &nodes {
            let options = DownloadFromContainerOptionsBuilder::default()
                .path(DATA_DIR)
                .build();
            let mut archive = docker.download_from_container(&node.name, Some(options));
            let path = nodes_dir.join(node.id.as_str()).join("data.tar");
            let mut contents = Vec::new();
            while let Some(Ok(chunk)) = archive.next().await {
                contents.extend_from_slice(&chunk);
            }
            let _ = std::fs::write(path, contents);
        }
    }
    inner.closing.cancel();
    for follower in take(&inner.followers) {
        let abort = inner.abort.clone();
        if tokio::time::timeout(DRAIN_WITHIN, follower).await.is_err() {
            abort.cancel();
        }
    }
    inner.abort.cancel();
    let mut failures = Vec::new();
    for name in &names {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        if let Err(e) = docker.remove_container(name, Some(options)).await {
            failures.push(format!("{name}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("could not remove containers: {}", failures.join("; ")).into())
    }
}

async fn remove_volumes_and_network(docker: &Docker, run_id: &str) -> Result<(), BoxError> {
    let listed = list(docker, &run_filter(run_id)).await?;
    let mut failures = Vec::new();
    for volume in listed.volumes {
        if let Err(e) = docker
            .remove_volume(&volume.name, None::<RemoveVolumeOptions>)
            .await
        {
            failures.push(format!("volume {}: {e}", volume.name));
        }
    }
    for network in listed.networks {
        let name = network.name.or(network.id).unwrap_or_default();
        if let Err(e) = docker.remove_network(&name).await {
            failures.push(format!("network {name}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("could not remove {}", failures.join("; ")).into())
    }
}

/// What of the run `run_id` is still in the engine, by label.
pub async fn leftovers(docker: &Docker, run_id: &str) -> Result<Vec<String>, BoxError> {
    let listed = list(docker, &run_filter(run_id)).await?;
    let containers = listed.containers.into_iter().map(|c| {
        let names = c.names.unwrap_or_default().join(",");
        format!("container {}", names.trim_start_matches('/'))
    });
    let networks = listed
        .networks
        .into_iter()
        .map(|n| format!("network {}", n.name.unwrap_or_default()));
    let volumes = listed
        .volumes
        .into_iter()
        .map(|v| format!("volume {}", v.name));
    Ok(containers.chain(networks).chain(volumes).collect())
}

/// After cleanup: nothing labelled with the run in the engine, and no
/// process in or holding one of its namespaces (`namespaces`: what is).
async fn audit(docker: &Docker, run_id: &str, namespaces: Vec<String>) -> Result<(), BoxError> {
    let found = leftovers(docker, run_id).await?;
    let mut leaks = Vec::new();
    if !found.is_empty() {
        leaks.push(format!("still in the engine: {}", found.join("; ")));
    }
    leaks.extend(namespaces);
    if leaks.is_empty() {
        Ok(())
    } else {
        Err(format!("leak audit: {}", leaks.join("; ")).into())
    }
}

/// Remove every container, volume and network of `run_id`, at once (the
/// runner that owned them is gone).
pub(crate) async fn remove_run(docker: &Docker, run_id: &str) -> Result<(), BoxError> {
    let listed = list(docker, &run_filter(run_id)).await?;
    for id in listed.containers.into_iter().filter_map(|c| c.id) {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        docker.remove_container(&id, Some(options)).await?;
    }
    remove_volumes_and_network(docker, run_id).await
}
