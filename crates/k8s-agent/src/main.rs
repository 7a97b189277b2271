//! `testbed-agent`: the sidecar beside each node of a Kubernetes run. It
//! diverts the pod's outgoing packets through the network plane's fault
//! engine (a TUN device and routes one bit more specific than the pod's),
//! pauses and signals the node's processes, and heals everything by itself
//! when the runner stops renewing its lease. See `netplane::agent` for its
//! API and `docs/src/k8s-deployer.md` for the design.

mod agent;
mod api;
mod routes;
mod sender;
mod signals;
mod tap;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::SignalKind;

use crate::agent::Agent;
use crate::api::Shared;
use crate::tap::Path;

/// The fault agent of one Kubernetes pod.
#[derive(Parser, Debug)]
#[command(name = "testbed-agent", version)]
struct Args {
    /// The control API's port, on 127.0.0.1 (0: any free one, printed).
    #[arg(long, default_value_t = netplane::agent::CONTROL_PORT)]
    control_port: u16,
    /// The probe listener's port, on every address (0: any free one,
    /// printed).
    #[arg(long, default_value_t = netplane::agent::PROBE_PORT)]
    probe_port: u16,
    /// How long outgoing packets wait for the runner's first sync before
    /// they go on unjudged, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    hold_ms: u64,
    /// Divert nothing and need no privilege: only the probe listener and
    /// `/connect` (the NetworkPolicy probe's pods).
    #[arg(long)]
    probe_only: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

#[allow(clippy::print_stdout)] // The pod's log says what the agent did.
async fn run(args: Args) -> anyhow::Result<()> {
    let (connection, handle, _) = rtnetlink::new_connection().context("open rtnetlink")?;
    tokio::spawn(connection);
    let pod = routes::pod_interface(&handle).await?;
    let agent = Arc::new(Agent::new(pod.address, Duration::from_millis(args.hold_ms)));
    let path = if args.probe_only {
        None
    } else {
        let device = tap::open_tun()?;
        let sender = sender::Sender::open(&pod.name)?;
        let diverted = routes::divert(&handle, &pod, tap::TUN).await?;
        let path = Path::start(agent.clone(), sender);
        tokio::spawn(path.clone().watch_lease());
        let reader = path.clone();
        tokio::spawn(async move {
            if let Err(error) = reader.read(device).await {
                tracing::error!(%error, "the packet path stopped");
                std::process::exit(1);
            }
        });
        let routes: Vec<String> = diverted.iter().map(|(a, p)| format!("{a}/{p}")).collect();
        println!(
            "testbed-agent: {} on {} ({}), routes {} diverted through {}",
            pod.address,
            pod.name,
            pod.mtu,
            routes.join(" "),
            tap::TUN
        );
        Some(path)
    };
    let probe = tokio::net::TcpListener::bind(("0.0.0.0", args.probe_port))
        .await
        .with_context(|| format!("listen on 0.0.0.0:{}", args.probe_port))?;
    let probe_port = probe.local_addr()?.port();
    tokio::spawn(async move {
        if let Err(error) = api::serve_probe(probe).await {
            tracing::error!(%error, "the probe listener stopped");
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.control_port))
        .await
        .with_context(|| format!("listen on 127.0.0.1:{}", args.control_port))?;
    println!(
        "testbed-agent ready: control {}, probe port {probe_port}",
        listener.local_addr()?
    );
    let shared = Shared { agent, path };
    axum::serve(listener, api::router(shared))
        .with_graceful_shutdown(async {
            // SIGTERM from the kubelet, SIGINT by hand: stop at once (the
            // TUN device, and with it every diverted route, goes with us).
            let Ok(mut term) = tokio::signal::unix::signal(SignalKind::terminate()) else {
                return std::future::pending().await;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    Ok(())
}
