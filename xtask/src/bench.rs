//! `cargo xtask bench <area>`: runs an area's benchmark binary in release
//! mode. Each prints its figures next to a floor measured in the same run.

use clap::ValueEnum;

use crate::ci::cargo;

/// What to measure.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Area {
    /// demo-node: start to ready, finalized blocks per second.
    Node,
    /// The local deployer: deploy-to-ready (4, 32 nodes), teardown, link proxy latency.
    Local,
    /// The compose deployer: deploy-to-ready for 4 containers against raw bollard calls.
    Compose,
    /// The Kubernetes deployer: deploy-to-ready for 4 pods against raw kube
    /// calls, on the cluster KUBECONFIG names (`cargo xtask k8s up`).
    K8s,
    /// Running scenarios: block-feed latency, runner CPU at 1000 tx/s, memory with 64 nodes.
    Run,
}

pub(crate) fn run(area: Area) -> anyhow::Result<()> {
    match area {
        Area::Node => cargo(&["bench", "-p", "demo-node", "--bench", "node"], &[]),
        // The benchmark launches the demo-node binary: build it in the same profile.
        Area::Local => {
            cargo(&["build", "--release", "-p", "demo-node"], &[])?;
            cargo(&["bench", "-p", "deployer-local", "--bench", "local"], &[])
        }
        Area::Compose => {
            cargo(&["build", "--release", "-p", "demo-node"], &[])?;
            cargo(
                &["bench", "-p", "deployer-compose", "--bench", "compose"],
                &[],
            )
        }
        // The pods run the demo-node image: built here into the local
        // Docker engine, where the local cluster's kubelet finds it.
        Area::K8s => {
            cargo(&["build", "--release", "-p", "demo-node"], &[])?;
            crate::image::run(true, None)?;
            cargo(&["bench", "-p", "deployer-k8s", "--bench", "k8s"], &[])
        }
        Area::Run => {
            cargo(&["build", "--release", "-p", "demo-node"], &[])?;
            cargo(&["bench", "-p", "examples", "--bench", "run"], &[])
        }
    }
}
