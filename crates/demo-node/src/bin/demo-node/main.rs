//! demo-node: testbed's reference chain. One validator or executor process:
//! leader-based crash-fault-tolerant consensus over hash-chained blocks, a
//! mempool, DA blob storage and sampling, state under `--data-dir`, the node
//! testing API on `--api-listen` and peer traffic on `--p2p-listen`.
//!
//! Exit codes: 0 after SIGTERM/SIGINT, 1 on a runtime failure (e.g. a port
//! in use, a store that cannot be written), 2 on a bad flag or config.

#![allow(clippy::print_stderr)] // A program: it reports why it could not start on stderr.

mod api;
mod block;
mod config;
mod consensus;
mod da;
mod discovery;
mod membership;
mod mempool;
mod metrics;
mod misbehave;
mod node;
mod p2p;
mod store;
mod udp;

use std::process::ExitCode;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = match config::load() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("demo-node: invalid configuration: {message}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("demo-node: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo-node: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: config::Config) -> anyhow::Result<()> {
    let (store, loaded) = store::Store::open(&config.data_dir)?;
    let api_listener = TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("cannot listen on --api-listen {}", config.api_listen))?;
    let p2p_listener = TcpListener::bind(config.p2p_listen)
        .await
        .with_context(|| format!("cannot listen on --p2p-listen {}", config.p2p_listen))?;
    let udp_socket = tokio::net::UdpSocket::bind(config.p2p_listen)
        .await
        .with_context(|| format!("cannot bind UDP on --p2p-listen {}", config.p2p_listen))?;
    tracing::info!(
        node = %config.node_id,
        role = config.role.as_str(),
        height = loaded.chain.len(),
        term = loaded.hard_state.term,
        "state loaded"
    );
    let node = node::Node::new(config, store, loaded);
    node.start_timers();
    udp::start(&node, udp_socket);
    discovery::start(&node);
    let api = axum::serve(api_listener, api::router(node.clone()));
    let p2p = axum::serve(p2p_listener, p2p::router(node.clone()));
    tracing::info!(
        node = %node.config.node_id,
        api = %node.config.api_listen,
        p2p = %node.config.p2p_listen,
        "demo-node ready"
    );
    // Everything is already on disk (writes happen before replies), so a
    // signal ends the process at once rather than waiting for open streams.
    tokio::select! {
        served = api => served.context("the API server failed"),
        served = p2p => served.context("the peer server failed"),
        () = shutdown() => Ok(()),
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot watch SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}
