//! A node's network namespace: made by a dedicated thread that calls
//! `unshare(CLONE_NEWNET)` (or adopted: the thread `setns`es into one that
//! exists, a container's), brings `lo` up and creates the node's TUN device
//! (`tb0`, its one address, the run's subnet and the default route through
//! it). The namespace is kept by an open fd to `/proc/thread-self/ns/net`;
//! later work (spawning a node process, opening a socket) runs on a fresh
//! thread that `setns`es into it, so no thread of the caller's runtime ever
//! changes namespace.
//!
//! Nothing is mounted and nothing is named (no `ip netns add`): the
//! namespace lives while this handle, the switch's TUN fd, a socket made
//! inside, or a process inside exists, and the kernel removes it (and the
//! non-persistent TUN device with it) when the last goes. A runner killed by
//! SIGKILL leaks no namespace or interface once its node processes are gone.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use nix::sched::{CloneFlags, setns, unshare};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

use crate::error::{Error, Result};
use crate::netlink;

/// The TUN device every namespace has (the name is free: one per namespace).
pub const DEVICE: &str = "tb0";

/// A handle on one node's (or the runner's) network namespace; cheap to
/// clone. The namespace lives at least as long as any clone.
#[derive(Clone, Debug)]
pub struct NodeNamespace {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    address: Ipv4Addr,
    fd: File,
    inode: u64,
}

/// Where a node's namespace comes from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// A new one, made for the node.
    New,
    /// One that exists: an open `/proc/<pid>/ns/net` of a process inside
    /// (a container's sandbox), which the plane configures but does not own.
    Existing(File),
}

/// Make (or adopt) a namespace with its TUN device on a dedicated thread,
/// without blocking the caller's runtime. The device is returned
/// unregistered (the caller wraps it in its runtime).
pub(crate) async fn create(
    name: String,
    origin: Origin,
    address: Ipv4Addr,
    prefix: u8,
) -> Result<(NodeNamespace, tun_rs::SyncDevice)> {
    let (done, result) = tokio::sync::oneshot::channel();
    let thread_name = format!("netns-{name}");
    let setup_failed = |name: &str, source| Error::NamespaceSetupFailed {
        name: name.to_owned(),
        step: "start the namespace thread",
        source,
    };
    let spawned = std::thread::Builder::new()
        .name(thread_name)
        .spawn({
            let name = name.clone();
            move || {
                let _ = done.send(build(name, origin, address, prefix));
            }
        })
        .map_err(|source| setup_failed(&name, source))?;
    let result = result.await;
    let _ = spawned.join();
    result.map_err(|_| setup_failed(&name, io::Error::other("the thread died")))?
}

/// On the dedicated thread: leave the caller's namespace for the node's.
fn build(
    name: String,
    origin: Origin,
    address: Ipv4Addr,
    prefix: u8,
) -> Result<(NodeNamespace, tun_rs::SyncDevice)> {
    let failed = |step: &'static str| {
        let name = name.clone();
        move |source: io::Error| Error::NamespaceSetupFailed { name, step, source }
    };
    match origin {
        Origin::New => unshare(CloneFlags::CLONE_NEWNET)
            .map_err(io::Error::from)
            .map_err(failed("unshare(CLONE_NEWNET)"))?,
        Origin::Existing(existing) => setns(&existing, CloneFlags::CLONE_NEWNET)
            .map_err(io::Error::from)
            .map_err(failed("setns into the existing namespace"))?,
    }
    let fd =
        File::open("/proc/thread-self/ns/net").map_err(failed("open /proc/thread-self/ns/net"))?;
    let inode = fd.metadata().map_err(failed("stat the namespace"))?.ino();
    // Only IPv4 crosses the switch; without this the TUN device would
    // carry IPv6 router solicitations nobody answers. (Best effort: a
    // kernel without IPv6 has no such file.)
    let _ = std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    let device = tun_rs::DeviceBuilder::new()
        .name(DEVICE)
        .packet_information(false)
        .build_sync()
        .map_err(failed("create the TUN device"))?;
    netlink::configure(DEVICE, address, prefix).map_err(failed("configure lo, tb0 and routes"))?;
    let inner = Inner {
        name,
        address,
        fd,
        inode,
    };
    Ok((
        NodeNamespace {
            inner: Arc::new(inner),
        },
        device,
    ))
}

impl NodeNamespace {
    /// The node's id (or `runner`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The one address every peer and the runner use for this node.
    pub fn address(&self) -> Ipv4Addr {
        self.inner.address
    }

    /// The namespace's inode: `/proc/<pid>/ns/net` of a process inside
    /// links to `net:[<inode>]` (what a leak audit looks for).
    pub fn inode(&self) -> u64 {
        self.inner.inode
    }

    /// Run `work` on a fresh thread inside the namespace and wait for it.
    /// Sockets it opens stay in the namespace for their whole life, whatever
    /// thread uses them later. Blocks the caller for the thread's life
    /// (keep `work` short: open sockets, fork a process).
    pub fn run<R: Send>(&self, work: impl FnOnce() -> R + Send) -> Result<R> {
        let entered = std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name(format!("in-netns-{}", self.inner.name))
                .spawn_scoped(scope, || -> io::Result<R> {
                    setns(&self.inner.fd, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                    Ok(work())
                })?;
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        entered.map_err(|source| Error::EnterFailed {
            name: self.inner.name.clone(),
            source,
        })
    }

    /// Start `command` inside the namespace, as a tokio child of the current
    /// runtime (so `kill_on_drop`, `wait` and the rest work as usual). The
    /// fork happens on a fresh thread that entered the namespace and the
    /// runtime; the child inherits that thread's namespace. Must be called
    /// from within a tokio runtime.
    pub fn spawn(&self, command: &mut tokio::process::Command) -> Result<tokio::process::Child> {
        let program = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        let failed = |source| Error::SpawnFailed {
            name: self.inner.name.clone(),
            program: program.clone(),
            source,
        };
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|e| failed(io::Error::other(e)))?;
        self.run(move || {
            let _entered = runtime.enter();
            command.spawn()
        })?
        .map_err(failed)
    }

    /// A TCP listener on `0.0.0.0:port` inside the namespace (0: any port).
    pub fn tcp_listener(&self, port: u16) -> Result<TcpListener> {
        let listener = self.socket(|| {
            let listener = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        })?;
        TcpListener::from_std(listener).map_err(|source| self.socket_failed(source))
    }

    /// A UDP socket on `0.0.0.0:port` inside the namespace (0: any port).
    pub fn udp_socket(&self, port: u16) -> Result<UdpSocket> {
        let socket = self.socket(|| {
            let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
            socket.set_nonblocking(true)?;
            Ok(socket)
        })?;
        UdpSocket::from_std(socket).map_err(|source| self.socket_failed(source))
    }

    /// An unconnected IPv4 TCP socket inside the namespace.
    pub fn tcp_socket(&self) -> Result<TcpSocket> {
        self.socket(TcpSocket::new_v4)
    }

    /// A TCP connection from inside the namespace to `to`.
    pub async fn connect(&self, to: SocketAddr) -> Result<TcpStream> {
        self.tcp_socket()?
            .connect(to)
            .await
            .map_err(|source| Error::ConnectFailed {
                address: to,
                source,
            })
    }

    /// The names of the interfaces inside the namespace (a leak audit:
    /// after the switch is gone only `lo` is left).
    pub fn interfaces(&self) -> Result<Vec<String>> {
        self.run(netlink::link_names)?
            .map_err(|source| self.socket_failed(source))
    }

    fn socket<S: Send>(&self, open: impl FnOnce() -> io::Result<S> + Send) -> Result<S> {
        self.run(open)?.map_err(|source| self.socket_failed(source))
    }

    fn socket_failed(&self, source: io::Error) -> Error {
        Error::SocketFailed {
            name: self.inner.name.clone(),
            source,
        }
    }
}
