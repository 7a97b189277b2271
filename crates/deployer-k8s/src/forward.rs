//! Port-forward fronts: a listener on 127.0.0.1 per node port, each
//! accepted connection carried to the node's pod over its own WebSocket
//! port-forward stream (kube's `Api::portforward`). The pod is named, not
//! pinned, so a front outlives pod restarts: while a node is down its
//! connections close at once, as a stopped node's would.

use std::net::SocketAddr;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Listen on 127.0.0.1 for `pod`'s `port`; serve until `closing`.
pub(crate) async fn open(
    pods: Api<Pod>,
    pod: String,
    port: u16,
    closing: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = closing.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((connection, _)) = accepted else {
                continue;
            };
            let (pods, pod, closing) = (pods.clone(), pod.clone(), closing.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = closing.cancelled() => {}
                    () = carry(&pods, &pod, port, connection) => {}
                }
            });
        }
    });
    Ok(address)
}

/// One connection, carried both ways until either side closes.
async fn carry(pods: &Api<Pod>, pod: &str, port: u16, mut connection: TcpStream) {
    let mut forwarder = match pods.portforward(pod, &[port]).await {
        Ok(forwarder) => forwarder,
        Err(error) => {
            tracing::debug!(%pod, port, %error, "no port-forward: closing the connection");
            return;
        }
    };
    let Some(mut upstream) = forwarder.take_stream(port) else {
        return;
    };
    if let Err(error) = tokio::io::copy_bidirectional(&mut connection, &mut upstream).await {
        tracing::debug!(%pod, port, %error, "port-forward connection ended");
    }
    drop(upstream);
    forwarder.abort();
    let _ = forwarder.join().await;
}
