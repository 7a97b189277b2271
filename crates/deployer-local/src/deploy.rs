//! The local deployer's deploy: claim the run's address, reserve every
//! node's ports and serve a link proxy per directed peer link, plan and
//! check every node before anything starts, then start them all and wait
//! until each is ready.

use std::collections::BTreeMap;
use std::sync::Arc;

use deploykit::plan;
use deploykit::ready::{Starting, wait_all_ready};
use scenario_core::{DeployEnv, Deployment, EventKind, HostPort, NodeId, Scenario};

use crate::LocalDeployer;
use crate::cleanup;
use crate::control::LocalNodeControl;
use crate::error::{Result, io};
use crate::join::LocalMembership;
use crate::launcher::Launcher;
use crate::marker::{self, MarkerFile};
use crate::network::RunNetwork;
use crate::plan::{NodePlan, plan_node};
use crate::readiness::PROBE_EVERY;

/// Kill what runners that died left behind next to this run.
fn sweep_dead_runs(env: &DeployEnv) {
    let Some(root) = env.artifacts_dir().parent() else {
        return;
    };
    for reaped in marker::reap(root).unwrap_or_default() {
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

/// Lift the open-files limit to its maximum: every link proxy holds sockets.
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
    let net = RunNetwork::claim(nodes.iter().map(|slot| slot.id.clone()).collect())?;
    let marker = Arc::new(
        MarkerFile::create(env.artifacts_dir(), net.ip.to_string())
            .map_err(io("write the run marker"))?,
    );
    cleanup::register_network(env, &net, &marker);

    // Ports are held until the nodes start, so the proxies cannot get them.
    let mut listen: BTreeMap<NodeId, BTreeMap<String, HostPort>> = BTreeMap::new();
    let mut held = Vec::new();
    for slot in nodes {
        let (ports, hold) = net.reserve(&ports)?;
        listen.insert(slot.id.clone(), ports);
        held.push(hold);
    }
    let mut via: BTreeMap<(&NodeId, &NodeId, &str), HostPort> = BTreeMap::new();
    for from in nodes {
        for to in nodes.iter().filter(|to| to.id != from.id) {
            for port in ports.iter().filter(|port| port.peer) {
                let proxy = net.link(&from.id, &to.id, &listen[&to.id][&port.name])?;
                via.insert((&from.id, &to.id, &port.name), proxy);
            }
        }
    }
    let plans = nodes
        .iter()
        .map(|slot| {
            let reach = |peer: &scenario_core::NodeSlot, port: &scenario_core::PortSpec| {
                if port.peer {
                    via[&(&slot.id, &peer.id, port.name.as_str())].clone()
                } else {
                    listen[&peer.id][&port.name].clone()
                }
            };
            let own = listen[&slot.id].clone();
            plan_node(kind.as_ref(), env.artifacts_dir(), slot, nodes, own, &reach)
        })
        .collect::<Result<Vec<NodePlan>>>()?;

    // Everything checked: from here on, node processes start.
    let launcher = Launcher::new(env, cleanup::register_nodes(env, deployer.grace), marker);
    held.into_iter().for_each(crate::network::Reserved::release);
    let mut started = BTreeMap::new();
    for plan in &plans {
        started.insert(plan.slot.id.clone(), launcher.start(plan)?);
    }
    let limit = deployer.ready_timeout_for(nodes.len());
    let waiting = started.values().map(|node| node as &dyn Starting);
    wait_all_ready(waiting, limit, PROBE_EVERY).await?;

    let clients = plan::clients(
        kind.as_ref(),
        nodes.iter().map(|slot| (slot, listen[&slot.id].clone())),
    )?;
    let control = Arc::new(LocalNodeControl {
        nodes: std::sync::RwLock::new(started),
        grace: deployer.grace,
        ready_timeout: limit,
        marker: Arc::clone(&launcher.marker),
    });
    let membership = LocalMembership {
        kind: Arc::clone(kind),
        run_dir: env.artifacts_dir().to_path_buf(),
        members: tokio::sync::Mutex::new(
            nodes
                .iter()
                .map(|slot| (slot.clone(), listen[&slot.id].clone()))
                .collect(),
        ),
        net: Arc::clone(&net),
        launcher,
        control: Arc::clone(&control),
    };
    Ok(Deployment {
        clients,
        node_control: Some(control),
        network_control: Some(Arc::clone(&net.links) as _),
        membership: Some(Arc::new(membership)),
    })
}
