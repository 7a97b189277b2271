//! The network plane on Docker: every node's containers share one network
//! namespace, held by a small **holder** container (`sleep infinity` in a
//! scratch image, network mode `none`), the way a Kubernetes pod's sandbox
//! holds its pod's. The runner enters the holder's namespace through
//! `/proc/<pid>/ns/net` and adds the plane's TUN device with the node's one
//! address ([`netplane::RunPlane::adopt`]); the node's container joins it
//! (`network_mode: container:<holder>`), so it keeps that address, and its
//! packets keep crossing the runner's switch, across stops, kills and
//! restarts of the node. Nothing is needed in the node's image.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, InspectContainerOptions};
use scenario_core::NodeId;

use crate::error::{Error, Result, engine};
use crate::image::ImageBuilder;
use crate::labels::NODE_LABEL;

/// The holder image, built on the first run of a machine from its own
/// `sleep` (reused while that binary is unchanged).
pub(crate) const HOLDER_IMAGE: &str = "testbed/netns-holder:dev";

/// The label that marks a holder container (its value: the node's id).
pub const HOLDER_LABEL: &str = "dev.testbed.netns-holder";

/// The name of `node`'s holder, given the node container's name.
pub(crate) fn holder_name(container: &str) -> String {
    format!("{container}-net")
}

/// `sleep` on this machine: `PATH` first, then the usual places.
fn sleep_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("sleep"));
    on_path
        .chain([PathBuf::from("/usr/bin/sleep"), PathBuf::from("/bin/sleep")])
        .find(|candidate| candidate.is_file())
}

/// Make sure the engine has the holder image (built without a registry).
pub(crate) async fn ensure_holder_image(docker: &Docker) -> Result<()> {
    let binary = sleep_binary().ok_or_else(|| Error::ImageBuild {
        tag: HOLDER_IMAGE.to_owned(),
        reason: "no `sleep` program on PATH, /usr/bin or /bin to build it from (install coreutils)"
            .to_owned(),
    })?;
    ImageBuilder::new(binary, HOLDER_IMAGE)
        .label(HOLDER_LABEL, "image")
        .build(docker)
        .await
        .map(drop)
}

/// Create and start `node`'s holder, labelled like the node's own
/// resources; returns its namespace, opened through `/proc/<pid>/ns/net`.
pub(crate) async fn start_holder(
    docker: &Docker,
    node: &NodeId,
    container: &str,
    labels: &HashMap<String, String>,
) -> Result<std::fs::File> {
    let name = holder_name(container);
    let mut labels = labels.clone();
    labels.insert(NODE_LABEL.to_owned(), node.to_string());
    labels.insert(HOLDER_LABEL.to_owned(), node.to_string());
    let body = ContainerCreateBody {
        image: Some(HOLDER_IMAGE.to_owned()),
        cmd: Some(vec!["infinity".to_owned()]),
        labels: Some(labels),
        // PID 1 ignores SIGTERM: stopping it need not wait out a grace.
        stop_signal: Some("SIGKILL".to_owned()),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(engine(format!("create container {name}")))?;
    docker
        .start_container(&name, None)
        .await
        .map_err(engine(format!("start container {name}")))?;
    let inspected = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .map_err(engine(format!("inspect container {name}")))?;
    let pid = inspected
        .state
        .and_then(|state| state.pid)
        .filter(|pid| *pid > 0)
        .ok_or_else(|| Error::HolderNamespace {
            node: node.clone(),
            path: format!("(container {name} has no process)"),
            source: std::io::Error::other("the holder is not running"),
        })?;
    let path = format!("/proc/{pid}/ns/net");
    std::fs::File::open(&path).map_err(|source| Error::HolderNamespace {
        node: node.clone(),
        path,
        source,
    })
}
