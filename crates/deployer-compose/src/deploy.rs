//! The compose deployer's deploy: reach the engine and check every image
//! (and, on the network plane, the machine) before anything starts; then
//! the run's network (the plane's switch and a holder container per node,
//! or the fallback's bridge network and link proxies), a volume and a
//! container per node, all started at once and waited for; the
//! docker-compose file written beside the report.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use deploykit::proxy::Target;
use deploykit::ready::{Starting, wait_all_ready};
use netplane::RunPlane;
use scenario_core::{DeployEnv, Deployment, HostPort, NodeId, NodeKind, NodeSlot, Scenario};

use crate::ComposeDeployer;
use crate::cleanup::{self, Resources};
use crate::control::ComposeNodeControl;
use crate::error::{Error, Result};
use crate::image::image_exists;
use crate::join::ComposeMembership;
use crate::network::{Proxied, RunNetwork, Wiring};
use crate::plan::{self, Addressing, NodePlan};
use crate::readiness::PROBE_EVERY;
use crate::{compose_file, engine};

/// The image `cargo xtask image` builds when given no `--tag`.
const XTASK_IMAGE: &str = "testbed/demo-node:dev";

/// The hint printed when an image is missing, per image name: the command
/// that builds exactly that tag.
pub(crate) fn build_hint(image: &str) -> String {
    if image == XTASK_IMAGE {
        ": run `cargo xtask image`".to_owned()
    } else if image.contains("demo-node") {
        format!(": run `cargo xtask image --tag {image}`")
    } else {
        ": build it from your node's binary with `deployer_compose::image::ImageBuilder` (or `docker build`)"
            .to_owned()
    }
}

pub(crate) async fn deploy(
    deployer: &ComposeDeployer,
    scenario: &Scenario,
    env: &DeployEnv,
) -> Result<Deployment> {
    let docker = engine::connect(deployer.host.as_deref()).await?;
    // What runners that died (SIGKILL) left in the engine goes first, as a
    // fresh local run kills what dead local runners left.
    match crate::reap::reap(&docker).await {
        Ok(reaped) => {
            for run in reaped {
                env.timeline().record(
                    scenario_core::EventKind::Note,
                    None,
                    format!(
                        "reaped the containers of dead run {} (runner {})",
                        run.run_id, run.runner
                    ),
                );
            }
        }
        Err(error) => env.timeline().record(
            scenario_core::EventKind::Note,
            None,
            format!("could not reap dead runs' containers: {error}"),
        ),
    }
    let kind = scenario.node_kind();
    let ports = kind.ports();
    let slots = scenario.nodes();

    // Render once without proxies to learn and check the images: nothing
    // is created unless every image is there.
    for plan in plan::render(kind, slots, &Addressing::Proxies(BTreeMap::new()))? {
        if !image_exists(&docker, &plan.image).await? {
            return Err(Error::ImageMissing {
                hint: build_hint(&plan.image),
                image: plan.image,
                node: plan.slot.id,
            });
        }
    }

    let resources = Resources::new(docker.clone(), env.run_id(), deployer.grace);
    cleanup::register(
        env,
        &resources,
        deployer.keep.unwrap_or_else(deploykit::Keep::from_env),
    );
    let ids: Vec<NodeId> = slots.iter().map(|slot| slot.id.clone()).collect();
    let net = RunNetwork::create(
        docker,
        env,
        scenario.name(),
        (ports.clone(), deployer.network),
        ids,
        resources,
    )
    .await?;

    let Wired {
        plans,
        mut endpoints,
        follow,
        addresses,
    } = match &net.wiring {
        Wiring::Plane(run_plane) => wire_plane(&net, run_plane, kind, slots).await?,
        Wiring::Proxies(proxied) => wire_proxies(&net, proxied, kind, slots).await?,
    };
    compose_file::write(env.artifacts_dir(), env.run_id(), &plans, &ports)?;

    // Volumes and containers, created and started all at once.
    let creates = plans.iter().map(|plan| {
        let endpoints = endpoints.remove(&plan.slot.id).unwrap_or_default();
        net.create_node(plan, endpoints)
    });
    let mut nodes = BTreeMap::new();
    let mut first_error = None;
    for created in futures::future::join_all(creates).await {
        match created {
            Ok(node) => {
                nodes.insert(node.id.clone(), node);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    for (node, port, target) in follow {
        nodes[&node].follow_with(&port, target);
    }

    let starts = nodes.values().map(|node| node.start());
    for started in futures::future::join_all(starts).await {
        started?;
    }
    for node in nodes.values() {
        net.resources.follow_logs(Arc::clone(node));
    }
    let limit = deployer.ready_timeout_for(slots.len());
    let waiting = nodes.values().map(|node| node.as_ref() as &dyn Starting);
    wait_all_ready(waiting, limit, PROBE_EVERY).await?;

    let clients = deploykit::plan::clients(
        kind.as_ref(),
        slots
            .iter()
            .map(|slot| (slot, nodes[&slot.id].endpoints.clone())),
    )?;
    let control = Arc::new(ComposeNodeControl {
        nodes: std::sync::RwLock::new(nodes),
        grace: deployer.grace,
        ready_timeout: limit,
    });
    let network_control = net.control();
    let membership = ComposeMembership {
        net,
        kind: Arc::clone(kind),
        members: tokio::sync::Mutex::new(slots.to_vec()),
        addresses: tokio::sync::Mutex::new(addresses),
        control: Arc::clone(&control),
    };
    Ok(Deployment {
        clients,
        node_control: Some(control),
        network_control: Some(network_control),
        membership: Some(Arc::new(membership)),
    })
}

/// The nodes rendered for their network, where the runner reaches each,
/// and which proxy targets must follow which node's published port.
struct Wired {
    plans: Vec<NodePlan>,
    endpoints: BTreeMap<NodeId, BTreeMap<String, HostPort>>,
    follow: Vec<(NodeId, String, Target)>,
    /// Each node's one address (network plane only).
    addresses: BTreeMap<NodeId, Ipv4Addr>,
}

/// On the plane: each node's holder started and adopted by the switch (its
/// one address), fronts for the runner; nothing to follow.
async fn wire_plane(
    net: &RunNetwork,
    run_plane: &RunPlane,
    kind: &Arc<dyn NodeKind>,
    slots: &[NodeSlot],
) -> Result<Wired> {
    let placed = slots.iter().map(|slot| net.place(run_plane, &slot.id));
    let mut addresses = BTreeMap::new();
    let mut endpoints = BTreeMap::new();
    for (slot, placed) in slots.iter().zip(futures::future::join_all(placed).await) {
        let (address, fronts) = placed?;
        addresses.insert(slot.id.clone(), address);
        endpoints.insert(slot.id.clone(), fronts);
    }
    Ok(Wired {
        plans: plan::render(kind, slots, &Addressing::Plane(addresses.clone()))?,
        endpoints,
        follow: Vec::new(),
        addresses,
    })
}

/// On the fallback: a link proxy per directed peer link, a front per node
/// port; each target follows the published port of the node it leads to.
async fn wire_proxies(
    net: &RunNetwork,
    proxied: &Proxied,
    kind: &Arc<dyn NodeKind>,
    slots: &[NodeSlot],
) -> Result<Wired> {
    let mut via = BTreeMap::new();
    let mut follow = Vec::new();
    for from in slots {
        for to in slots.iter().filter(|to| to.id != from.id) {
            for port in net.ports.iter().filter(|port| port.peer) {
                let (target, address) = net.link(proxied, &from.id, &to.id).await?;
                via.insert((from.id.clone(), to.id.clone(), port.name.clone()), address);
                follow.push((to.id.clone(), port.name.clone(), target));
            }
        }
    }
    let mut endpoints: BTreeMap<NodeId, BTreeMap<String, _>> = BTreeMap::new();
    for slot in slots {
        for port in &net.ports {
            let (target, address) = net.front(proxied, &slot.id).await?;
            endpoints
                .entry(slot.id.clone())
                .or_default()
                .insert(port.name.clone(), address);
            follow.push((slot.id.clone(), port.name.clone(), target));
        }
    }
    Ok(Wired {
        plans: plan::render(kind, slots, &Addressing::Proxies(via))?,
        endpoints,
        follow,
        addresses: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_builds_the_tag_that_is_missing() {
        assert_eq!(
            build_hint("testbed/demo-node:dev"),
            ": run `cargo xtask image`"
        );
        assert_eq!(
            build_hint("testbed/demo-node:absent"),
            ": run `cargo xtask image --tag testbed/demo-node:absent`"
        );
        assert!(build_hint("my-node:1").contains("ImageBuilder"));
    }
}
