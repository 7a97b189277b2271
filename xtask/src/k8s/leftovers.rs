//! What a stopped kubelet leaves behind: its pods' containers in Docker
//! (named `k8s_…` and labelled `io.kubernetes.pod.name` by dockershim) and
//! the volumes it mounted under its root directory.

use std::path::{Path, PathBuf};

use deployer_compose::bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use nix::mount::{MntFlags, umount2};

/// The label dockershim puts on every pod sandbox and container.
const POD_LABEL: &str = "io.kubernetes.pod.name";

/// Remove (forcibly) every container dockershim made for a pod; their names.
pub(crate) fn remove_pod_containers() -> anyhow::Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let docker = deployer_compose::connect(None).await?;
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default().all(true).build(),
            ))
            .await?;
        let mut removed = Vec::new();
        for container in containers {
            let name = container
                .names
                .iter()
                .flatten()
                .find_map(|name| name.strip_prefix('/'))
                .unwrap_or_default()
                .to_owned();
            let labelled = container
                .labels
                .as_ref()
                .is_some_and(|labels| labels.contains_key(POD_LABEL));
            // Both marks, so no container of anyone else is touched.
            if !(labelled && name.starts_with("k8s_")) {
                continue;
            }
            let Some(id) = container.id else { continue };
            let options = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            docker.remove_container(&id, Some(options)).await?;
            removed.push(name);
        }
        Ok(removed)
    })
}

/// Unmount (lazily, deepest first) every mount under `dir`; their paths.
pub(crate) fn unmount_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(unescape(point)))
        .filter(|point| point.starts_with(dir))
        .collect();
    mounts.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    mounts.dedup();
    for point in &mounts {
        umount2(point, MntFlags::MNT_DETACH)
            .map_err(|e| anyhow::anyhow!("cannot unmount {}: {e}", point.display()))?;
    }
    Ok(mounts)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}
