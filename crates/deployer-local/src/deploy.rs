//! The local deployer's deploy: claim a loopback address, allocate ports,
//! bind link proxies, render and check every launch before anything starts,
//! then start every node in parallel and wait until each is ready.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scenario_core::{
    DeployEnv, Deployment, EventKind, HostPort, LaunchSpec, NodeClient, NodeEndpoint, NodeId,
    NodeView, PeerView, Scenario,
};
use tokio_util::sync::CancellationToken;

use crate::LocalDeployer;
use crate::control::{LocalNode, LocalNodeControl};
use crate::error::{Error, Result, io};
use crate::join::LocalMembership;
use crate::loopback;
use crate::marker::{self, MarkerFile};
use crate::process::NodeProcess;
use crate::readiness::wait_ready;
use deploykit::Keep;
use deploykit::proxy::{self, Links, Proxy};

/// State shared between deploy, joins and cleanup.
pub(crate) type Shared<T> = Arc<std::sync::Mutex<T>>;

/// One node, rendered and checked, not yet started.
struct Launch {
    id: NodeId,
    view: NodeView,
    spec: LaunchSpec,
    program: PathBuf,
    node_dir: PathBuf,
    data_dir: PathBuf,
}

pub(crate) fn check_program(node: &NodeId, program: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let unusable = |problem: &str| Error::ProgramUnusable {
        node: node.clone(),
        program: program.to_path_buf(),
        problem: problem.to_owned(),
    };
    let metadata = std::fs::metadata(program).map_err(|_| unusable("does not exist"))?;
    if !metadata.is_file() {
        return Err(unusable("is not a file"));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(unusable("is not executable"));
    }
    Ok(())
}

pub(crate) fn socket(host_port: &HostPort) -> SocketAddr {
    format!("{host_port}")
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], host_port.port)))
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
    if let Some(root) = env.artifacts_dir().parent() {
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
    raise_fd_limit();
    let slots = scenario.topology().slots();
    let kind = scenario.node_kind();
    let ports = kind.ports();
    let loopback = loopback::claim().map_err(Error::LoopbackUnavailable)?;
    let ip = loopback.ip;
    let unavailable = |source| Error::PortsUnavailable { ip, source };

    // Held until the nodes start, so the proxies bound below cannot get them.
    let reserved = loopback
        .reserve(slots.len() * ports.len())
        .map_err(unavailable)?;
    let mut free = reserved
        .iter()
        .map(|listener| listener.local_addr().map(|a| a.port()).unwrap_or_default());
    let listen: BTreeMap<NodeId, BTreeMap<String, HostPort>> = slots
        .iter()
        .map(|slot| {
            let ports = ports
                .iter()
                .map(|port| {
                    (
                        port.name.clone(),
                        HostPort::new(ip.to_string(), free.next().unwrap_or_default()),
                    )
                })
                .collect();
            (slot.id.clone(), ports)
        })
        .collect();

    // Proxies are bound now and kept: their ports cannot be taken by anyone.
    let mut proxies = Vec::new();
    let mut via: BTreeMap<(NodeId, NodeId, String), HostPort> = BTreeMap::new();
    for from in &slots {
        for to in slots.iter().filter(|to| to.id != from.id) {
            for port in ports.iter().filter(|port| port.peer) {
                let listener = std::net::TcpListener::bind((ip, 0)).map_err(unavailable)?;
                listener.set_nonblocking(true).map_err(unavailable)?;
                let address = HostPort::new(
                    ip.to_string(),
                    listener.local_addr().map_err(unavailable)?.port(),
                );
                let listener = tokio::net::TcpListener::from_std(listener).map_err(unavailable)?;
                via.insert((from.id.clone(), to.id.clone(), port.name.clone()), address);
                let target = socket(&listen[&to.id][&port.name]);
                proxies.push((
                    Proxy {
                        from: from.id.clone(),
                        to: to.id.clone(),
                        listener,
                    },
                    target,
                ));
            }
        }
    }

    let mut launches = Vec::new();
    for slot in &slots {
        let node_dir = env.artifacts_dir().join("nodes").join(slot.id.as_str());
        let data_dir = node_dir.join("data");
        let peers = slots
            .iter()
            .filter(|peer| peer.id != slot.id)
            .map(|peer| PeerView {
                id: peer.id.clone(),
                role: peer.role.clone(),
                addresses: ports
                    .iter()
                    .map(|port| {
                        let address = if port.peer {
                            via[&(slot.id.clone(), peer.id.clone(), port.name.clone())].clone()
                        } else {
                            listen[&peer.id][&port.name].clone()
                        };
                        (port.name.clone(), address)
                    })
                    .collect(),
            })
            .collect();
        let view = NodeView {
            slot: slot.clone(),
            listen: listen[&slot.id].clone(),
            data_dir: data_dir.display().to_string(),
            peers,
        };
        let spec = kind
            .render(&view)
            .map_err(|source| Error::RenderFailed {
                node: slot.id.clone(),
                source,
            })?
            .with_override(&slot.overrides);
        let program = spec.program.clone().ok_or_else(|| Error::NoProgram {
            node: slot.id.clone(),
        })?;
        check_program(&slot.id, &program)?;
        for file in &spec.files {
            let relative = Path::new(&file.path);
            if relative
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
            {
                return Err(Error::RenderFailed {
                    node: slot.id.clone(),
                    source: format!(
                        "launch file {:?} must be a relative path inside the data directory",
                        file.path
                    )
                    .into(),
                });
            }
        }
        launches.push(Launch {
            id: slot.id.clone(),
            view,
            spec,
            program,
            node_dir,
            data_dir,
        });
    }

    // Everything checked: from here on, things start and are undone by cleanup
    // (actions run newest first, so these registered first run last).
    let marker = Arc::new(
        MarkerFile::create(env.artifacts_dir(), ip.to_string())
            .map_err(io("write the run marker"))?,
    );
    let release = Arc::clone(&marker);
    let mut loopback = Some(loopback);
    let emptied = env.artifacts_dir().join("nodes");
    env.on_cleanup(
        format!("release loopback address {ip}"),
        move || async move {
            if let Some(mut claimed) = loopback.take() {
                claimed.release();
            }
            release.remove();
            // Gone only when every node's directory was removed (a passing run).
            let _ = std::fs::remove_dir(&emptied);
            Ok(())
        },
    );
    let audited = Arc::clone(&marker);
    let proxy_addresses: Shared<Vec<SocketAddr>> =
        Arc::new(std::sync::Mutex::new(via.values().map(socket).collect()));
    let audited_proxies = Arc::clone(&proxy_addresses);
    env.on_cleanup("leak audit", move || async move {
        let proxies = audited_proxies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        audit(&audited, &proxies).await
    });

    let node_ids: Vec<NodeId> = slots.iter().map(|s| s.id.clone()).collect();
    let links = Links::new(node_ids);
    let stop_proxies = CancellationToken::new();
    let proxy_tasks: Shared<Vec<tokio::task::JoinHandle<()>>> = Arc::new(std::sync::Mutex::new(
        proxies
            .into_iter()
            .map(|(proxy, target)| {
                proxy::serve(
                    proxy,
                    proxy::Target::new(target),
                    &links,
                    stop_proxies.clone(),
                )
            })
            .collect(),
    ));
    let (closing, stopping) = (Arc::clone(&proxy_tasks), stop_proxies.clone());
    env.on_cleanup("close the link proxies", move || async move {
        stopping.cancel();
        let tasks = std::mem::take(
            &mut *closing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in tasks {
            let _ = task.await;
        }
        Ok(())
    });

    let Keep {
        data: keep,
        logs: keep_logs,
    } = Keep::from_env();
    // One action stops every node started so far, all at once.
    let started: Arc<std::sync::Mutex<Vec<Arc<NodeProcess>>>> = Arc::default();
    let (to_stop, grace, outcome) = (Arc::clone(&started), deployer.grace, env.run_passed());
    let nodes_dir = env.artifacts_dir().join("nodes");
    env.on_cleanup("stop every node", move || async move {
        let processes = to_stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let stops = processes.iter().map(|process| async move {
            process
                .stop(grace)
                .await
                .map_err(|e| format!("{}: {e}", process.id))
        });
        let failures: Vec<String> = futures::future::join_all(stops)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        for process in &processes {
            if !keep {
                let _ = std::fs::remove_dir_all(&process.data_dir);
            }
            if !keep_logs && outcome.get() == Some(true) {
                let _ = std::fs::remove_dir_all(nodes_dir.join(process.id.as_str()));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; ").into())
        }
    });
    drop(reserved);
    let mut nodes = BTreeMap::new();
    for launch in launches {
        std::fs::create_dir_all(&launch.data_dir)
            .map_err(io(format!("create the data directory of {}", launch.id)))?;
        for file in &launch.spec.files {
            std::fs::write(launch.data_dir.join(&file.path), &file.contents)
                .map_err(io(format!("write {} for {}", file.path, launch.id)))?;
        }
        let process = NodeProcess::new(
            launch.id.clone(),
            launch.program.clone(),
            launch.spec.args.clone(),
            launch.spec.env.clone(),
            launch.data_dir.clone(),
            launch.node_dir.join("node.log"),
            env.timeline().clone(),
            env.failure_reporter(),
        );
        let pid = process.spawn()?;
        started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::clone(&process));
        marker
            .add_node(launch.id.as_str(), pid)
            .map_err(io("update the run marker"))?;
        nodes.insert(
            launch.id.clone(),
            LocalNode {
                process,
                readiness: launch.spec.readiness.clone(),
                listen: launch.view.listen.clone(),
            },
        );
    }

    let limit = deployer.ready_timeout_for(slots.len());
    let waits = nodes
        .values()
        .map(|node| wait_ready(&node.process, &node.readiness, &node.listen, limit));
    for ready in futures::future::join_all(waits).await {
        ready?;
    }

    let mut clients: BTreeMap<NodeId, Arc<dyn NodeClient>> = BTreeMap::new();
    for slot in &slots {
        let endpoint = NodeEndpoint {
            id: slot.id.clone(),
            role: slot.role.clone(),
            addresses: listen[&slot.id].clone(),
        };
        let client = kind
            .client(&endpoint)
            .map_err(|source| Error::RenderFailed {
                node: slot.id.clone(),
                source,
            })?;
        clients.insert(slot.id.clone(), client);
    }
    let control = Arc::new(LocalNodeControl {
        nodes: std::sync::RwLock::new(nodes),
        grace: deployer.grace,
        ready_timeout: limit,
        marker: Arc::clone(&marker),
    });
    let members = slots
        .iter()
        .map(|slot| (slot.clone(), listen[&slot.id].clone()))
        .collect();
    let membership = LocalMembership {
        ip,
        kind: Arc::clone(kind),
        artifacts_dir: env.artifacts_dir().to_path_buf(),
        members: tokio::sync::Mutex::new(members),
        links: Arc::clone(&links),
        stop_proxies,
        proxy_tasks,
        proxy_addresses,
        started,
        control: Arc::clone(&control),
        marker,
        timeline: env.timeline().clone(),
        failures: env.failure_reporter(),
    };
    Ok(Deployment {
        clients,
        node_control: Some(control),
        network_control: Some(links),
        membership: Some(Arc::new(membership)),
    })
}

/// After cleanup: every node process gone and every proxy port closed.
async fn audit(
    marker: &MarkerFile,
    proxies: &[SocketAddr],
) -> std::result::Result<(), scenario_core::BoxError> {
    let mut leaks: Vec<String> = marker
        .nodes()
        .into_iter()
        .filter(|(_, process)| process.is_alive())
        .map(|(id, process)| format!("{id} (pid {}) still runs", process.pid))
        .collect();
    let probes = proxies.iter().map(|address| async move {
        let connect = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(address),
        )
        .await;
        matches!(connect, Ok(Ok(_)))
            .then(|| format!("link proxy {address} still accepts connections"))
    });
    leaks.extend(
        futures::future::join_all(probes)
            .await
            .into_iter()
            .flatten(),
    );
    if leaks.is_empty() {
        Ok(())
    } else {
        Err(format!("leak audit: {}", leaks.join("; ")).into())
    }
}
