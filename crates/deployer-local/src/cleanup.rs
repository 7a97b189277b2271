//! Undoing a local run, registered as soon as each thing exists: the run's
//! network released and its empty `nodes/` directory removed, every node
//! stopped at once (data removed unless kept, logs kept when the run failed),
//! the network closed (switch, fronts and TUN devices, or the link
//! proxies), then a leak audit that no node process survived, nothing the
//! runner served still accepts connections, and no namespace of the run is
//! left.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use deploykit::Keep;
use scenario_core::{BoxError, DeployEnv, NodeFiles, layout};

use crate::launcher::Started;
use crate::marker::MarkerFile;
use crate::network::RunNetwork;

/// Release the address and the marker, audit, and close the proxies:
/// registered before any proxy is served or node started, so these run
/// last (actions run newest first).
pub(crate) fn register_network(env: &DeployEnv, net: &Arc<RunNetwork>, marker: &Arc<MarkerFile>) {
    let (release, unmark) = (Arc::clone(net), Arc::clone(marker));
    let emptied = layout::nodes_dir(env.artifacts_dir());
    env.on_cleanup(
        format!("release the run's network {}", net.label()),
        move || async move {
            release.release();
            unmark.remove();
            // Gone only when every node's directory was removed (a passing run).
            let _ = std::fs::remove_dir(&emptied);
            Ok(())
        },
    );
    let (audited, proxies) = (Arc::clone(marker), Arc::clone(net));
    env.on_cleanup("leak audit", move || async move {
        let namespaces = proxies.leftover_namespaces();
        audit(&audited, &proxies.served_addresses(), namespaces).await
    });
    let closing = Arc::clone(net);
    env.on_cleanup("close the run's network", move || async move {
        closing.close().await;
        Ok(())
    });
}

/// Stop every node started so far, all at once: registered before any node
/// starts, so it runs first.
pub(crate) fn register_nodes(env: &DeployEnv, grace: Duration, keep: Keep) -> Started {
    let started = Started::default();
    let Keep { data, logs } = keep;
    let (to_stop, outcome, run_dir) = (
        Arc::clone(&started),
        env.run_passed(),
        env.artifacts_dir().to_path_buf(),
    );
    env.on_cleanup("stop every node", move || async move {
        let processes = to_stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
            if !data {
                let _ = std::fs::remove_dir_all(&process.data_dir);
            }
            if !logs && outcome.get() == Some(true) {
                let _ = std::fs::remove_dir_all(NodeFiles::of(&run_dir, &process.id).dir);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; ").into())
        }
    });
    started
}

/// After cleanup: every node process gone, every proxy port closed, and no
/// process in or holding a namespace of the run (`namespaces`: what is).
async fn audit(
    marker: &MarkerFile,
    proxies: &[SocketAddr],
    namespaces: Vec<String>,
) -> Result<(), BoxError> {
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
            .then(|| format!("{address} (a link proxy or front) still accepts connections"))
    });
    leaks.extend(
        futures::future::join_all(probes)
            .await
            .into_iter()
            .flatten(),
    );
    leaks.extend(namespaces);
    if leaks.is_empty() {
        Ok(())
    } else {
        Err(format!("leak audit: {}", leaks.join("; ")).into())
    }
}
