//! Link proxies on real loopback sockets: clean links pass bytes, cuts hold
//! them one way until healed, latency delays, loss resets connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scenario_core::{ControlError, LinkShape, NetworkControl, NetworkFault, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{Links, Proxy, Target, serve};

/// An echo server that counts the bytes it received.
async fn echo() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                    if socket.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (address, received)
}

struct Setup {
    links: Arc<Links>,
    target: Target,
    client: TcpStream,
    received: Arc<AtomicUsize>,
    proxy_address: std::net::SocketAddr,
    _stop: tokio_util::sync::DropGuard,
}

fn a() -> NodeId {
    NodeId::new("a")
}
fn b() -> NodeId {
    NodeId::new("b")
}

/// A proxy for the link a → b in front of an echo server, and a client on it.
async fn setup() -> Setup {
    let (target, received) = echo().await;
    let links = Links::new(vec![a(), b()]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let target = Target::new(target);
    serve(
        Proxy {
            from: a(),
            to: b(),
            listener,
        },
        target.clone(),
        &links,
        stop.clone(),
    );
    let client = TcpStream::connect(proxy_address).await.unwrap();
    Setup {
        links,
        target,
        proxy_address,
        client,
        received,
        _stop: stop.drop_guard(),
    }
}

async fn round_trip(client: &mut TcpStream, text: &[u8]) -> Vec<u8> {
    client.write_all(text).await.unwrap();
    let mut answer = vec![0u8; text.len()];
    client.read_exact(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_clean_link_passes_bytes_both_ways() {
    let mut s = setup().await;
    assert_eq!(round_trip(&mut s.client, b"hello").await, b"hello");
}

#[tokio::test]
async fn a_moved_target_gets_the_next_connection_and_the_open_one_stays() {
    let mut s = setup().await;
    assert_eq!(round_trip(&mut s.client, b"first").await, b"first");
    let (moved, received_there) = echo().await;
    s.target.set(moved);
    let mut second = TcpStream::connect(s.proxy_address).await.unwrap();
    assert_eq!(round_trip(&mut second, b"second").await, b"second");
    assert_eq!(received_there.load(Ordering::SeqCst), b"second".len());
    assert_eq!(round_trip(&mut s.client, b"again").await, b"again");
    assert_eq!(s.received.load(Ordering::SeqCst), b"firstagain".len());
}

#[tokio::test]
async fn a_cut_holds_bytes_until_it_heals() {
    let mut s = setup().await;
    let fault = s
        .links
        .apply(&NetworkFault::Cut { from: a(), to: b() })
        .await
        .unwrap();
    s.client.write_all(b"held").await.unwrap();
    let mut answer = [0u8; 4];
    let early =
        tokio::time::timeout(Duration::from_millis(300), s.client.read_exact(&mut answer)).await;
    assert!(early.is_err(), "nothing crosses a cut link");
    assert_eq!(s.received.load(Ordering::SeqCst), 0);
    s.links.heal(fault).await.unwrap();
    s.client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"held");
}

#[tokio::test]
async fn a_one_way_cut_lets_requests_in_but_holds_the_answers() {
    let mut s = setup().await;
    s.links
        .apply(&NetworkFault::Cut { from: b(), to: a() })
        .await
        .unwrap();
    s.client.write_all(b"ping").await.unwrap();
    let mut answer = [0u8; 4];
    let early =
        tokio::time::timeout(Duration::from_millis(300), s.client.read_exact(&mut answer)).await;
    assert!(early.is_err(), "the answer direction is cut");
    assert_eq!(
        s.received.load(Ordering::SeqCst),
        4,
        "the request direction still works"
    );
    s.links.heal_all().await.unwrap();
    s.client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"ping");
}

#[tokio::test]
async fn latency_delays_each_direction() {
    let mut s = setup().await;
    let shape = LinkShape {
        latency: Duration::from_millis(100),
        ..LinkShape::default()
    };
    s.links
        .apply(&NetworkFault::Shape {
            from: a(),
            to: b(),
            shape,
        })
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(round_trip(&mut s.client, b"slow").await, b"slow");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn total_loss_resets_the_connection() {
    let mut s = setup().await;
    let shape = LinkShape {
        loss: 1.0,
        ..LinkShape::default()
    };
    s.links
        .apply(&NetworkFault::Shape {
            from: a(),
            to: b(),
            shape,
        })
        .await
        .unwrap();
    s.client.write_all(b"lost").await.unwrap();
    let mut answer = [0u8; 4];
    let read = s.client.read(&mut answer).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the connection was closed: {read:?}"
    );
}

#[tokio::test]
async fn faults_on_unknown_nodes_or_with_bad_loss_are_refused() {
    let s = setup().await;
    let unknown = s
        .links
        .apply(&NetworkFault::Cut {
            from: a(),
            to: NodeId::new("z"),
        })
        .await;
    assert!(matches!(unknown, Err(ControlError::UnknownNode(id)) if id == "z"));
    let shape = LinkShape {
        loss: 1.5,
        ..LinkShape::default()
    };
    let bad = s
        .links
        .apply(&NetworkFault::Shape {
            from: a(),
            to: b(),
            shape,
        })
        .await;
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("loss must be between 0 and 1")
    );
}
