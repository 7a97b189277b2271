//! The local deployer's deploy: set up the run's network and put every node
//! on it, plan and check every node before anything starts, then start them
//! all and wait until each is ready.

use std::collections::BTreeMap;
use std::sync::Arc;

use deploykit::ready::{Starting, wait_all_ready};
use deploykit::{Keep, plan};
use scenario_core::{
    DeployEnv, Deployment, EventKind, HostPort, NodeId, NodeSlot, PortSpec, Scenario,
};

use crate::LocalDeployer;
use crate::cleanup;
use crate::control::LocalNodeControl;
use crate::error::{Result, io};
use crate::join::LocalMembership;
use crate::launcher::Launcher;
use crate::marker::{self, MarkerFile};
use crate::network::RunNetwork;
use crate::plan::plan_node;
use crate::readiness::PROBE_EVERY;

/// Kill what runners that died left behind next to this run.
fn sweep_dead_runs(env: &DeployEnv) {
    let beside = env
        .artifacts_dir()
        .parent()
        .map(|root| marker::reap(root).unwrap_or_default())
        .unwrap_or_default();
    let registered = marker::reap_registered().unwrap_or_default();
    for reaped in beside.into_iter().chain(registered) {
        env.timeline().record(
            EventKind::Note,
            None,
            format!(
                "reaped a dead run at {}: killed {:?}",
                reaped.run_dir.display(),
                reaped.killed
            ),
        );
    }
}

/// Lift the open-files limit to its maximum: proxies and fronts hold sockets.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

pub(crate) async fn deploy(
    deployer: &LocalDeployer,
    scenario: &Scenario,
    env: &DeployEnv,
) -> Result<Deployment> {
    sweep_dead_runs(env);
    raise_fd_limit();
    let kind = scenario.node_kind();
    let nodes = scenario.nodes();
    let ports = kind.ports();
    let ids = nodes.iter().map(|slot| slot.id.clone()).collect();
    let net = RunNetwork::create(deployer.network, ids, env.seed()).await?;
    let marker = Arc::new(
        MarkerFile::create(env.artifacts_dir(), net.label()).map_err(io("write the run marker"))?,
    );
    cleanup::register_network(env, &net, &marker);

    // Every node placed (its address, or ports held until it starts), then
    // where each reaches each peer.
    let mut placed = BTreeMap::new();
    for slot in nodes {
        placed.insert(slot.id.clone(), net.place(&slot.id, &ports).await?);
    }
    let listen = |id: &NodeId| &placed[id].listen;
    let mut reaches: BTreeMap<(&NodeId, &NodeId, &str), HostPort> = BTreeMap::new();
    for from in nodes {
        for to in nodes.iter().filter(|to| to.id != from.id) {
            for port in &ports {
                let at = &listen(&to.id)[&port.name];
                let address = if port.peer {
                    net.peer_address(&from.id, &to.id, at)?
                } else {
                    at.clone()
                };
                reaches.insert((&from.id, &to.id, &port.name), address);
            }
        }
    }
    let mut plans = Vec::new();
    for slot in nodes {
        let reach = |peer: &NodeSlot, port: &PortSpec| {
            reaches[&(&slot.id, &peer.id, port.name.as_str())].clone()
        };
        let own = listen(&slot.id).clone();
        let mut plan = plan_node(kind.as_ref(), env.artifacts_dir(), slot, nodes, own, &reach)?;
        plan.namespace = placed[&slot.id].namespace.clone();
        plans.push(plan);
    }
    let mut endpoints = BTreeMap::new();
    for slot in nodes {
        let reached = net
            .runner_endpoints(&slot.id, &ports, listen(&slot.id))
            .await?;
        endpoints.insert(slot.id.clone(), reached);
    }

    // Everything checked: from here on, node processes start.
    let keep = deployer.keep.unwrap_or_else(Keep::from_env);
    let started = cleanup::register_nodes(env, deployer.grace, keep);
    let launcher = Launcher::new(env, Arc::clone(&net), started, marker);
    for held in placed.into_values().filter_map(|placed| placed.held) {
        held.release();
    }
    let mut running = BTreeMap::new();
    for plan in &plans {
        let node = launcher.start(plan, endpoints[&plan.slot.id].clone(), &ports)?;
        running.insert(plan.slot.id.clone(), node);
    }
    let limit = deployer.ready_timeout_for(nodes.len());
    let waiting = running.values().map(|node| node as &dyn Starting);
    wait_all_ready(waiting, limit, PROBE_EVERY).await?;

    let clients = plan::clients(
        kind.as_ref(),
        nodes.iter().map(|slot| (slot, endpoints[&slot.id].clone())),
    )?;
    let control = Arc::new(LocalNodeControl {
        nodes: std::sync::RwLock::new(running),
        grace: deployer.grace,
        ready_timeout: limit,
        marker: Arc::clone(&launcher.marker),
    });
    let membership = LocalMembership {
        kind: Arc::clone(kind),
        run_dir: env.artifacts_dir().to_path_buf(),
        members: tokio::sync::Mutex::new(
            plans
                .iter()
                .map(|plan| (plan.slot.clone(), plan.listen.clone()))
                .collect(),
        ),
        net: Arc::clone(&net),
        launcher,
        control: Arc::clone(&control),
    };
    Ok(Deployment {
        clients,
        node_control: Some(control),
        network_control: Some(net.control()),
        membership: Some(Arc::new(membership)),
    })
}
