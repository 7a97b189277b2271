//! Links, addresses and routes of the calling thread's network namespace,
//! through rtnetlink (no `ip` commands). Each call opens its own netlink
//! socket on a small current-thread runtime, so the socket, and every
//! change it makes, belongs to the namespace the calling thread is in.

use std::io;
use std::net::Ipv4Addr;

use futures::TryStreamExt;
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

fn on_this_thread<T>(
    work: impl AsyncFnOnce(&Handle) -> Result<T, rtnetlink::Error>,
) -> io::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        let connection = tokio::spawn(connection);
        let result = work(&handle).await.map_err(io::Error::other);
        connection.abort();
        result
    })
}

async fn index_of(handle: &Handle, name: &str) -> Result<u32, rtnetlink::Error> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await? {
        Some(link) => Ok(link.header.index),
        None => Err(rtnetlink::Error::RequestFailed),
    }
}

/// Packets a TUN device holds for the switch.
const TX_QUEUE_LEN: u32 = 4096;

/// Bring `lo` up; give `device` its `address/prefix`, bring it up, and route
/// everything not on `lo` through it (the subnet route comes with the
/// address; the default route makes "which address would reach the
/// internet" lookups answer with the node's own address).
pub(crate) fn configure(device: &str, address: Ipv4Addr, prefix: u8) -> io::Result<()> {
    on_this_thread(async |handle: &Handle| {
        lo_up(handle).await?;
        let tun = index_of(handle, device).await?;
        handle
            .address()
            .add(tun, address.into(), prefix)
            .execute()
            .await?;
        // A long transmit queue: bursts wait for the switch instead of
        // being dropped at the device. (Through netlink: the ioctl for it
        // is refused inside a user namespace.)
        handle
            .link()
            .set(
                LinkUnspec::new_with_index(tun)
                    .txqueuelen(TX_QUEUE_LEN)
                    .up()
                    .build(),
            )
            .execute()
            .await?;
        let default = RouteMessageBuilder::<Ipv4Addr>::new()
            .output_interface(tun)
            .build();
        handle.route().add(default).execute().await
    })
}

/// Bring `lo` up in the calling thread's namespace (a no-op where it is up).
pub(crate) fn loopback_up() -> io::Result<()> {
    on_this_thread(async |handle: &Handle| lo_up(handle).await)
}

async fn lo_up(handle: &Handle) -> Result<(), rtnetlink::Error> {
    let lo = index_of(handle, "lo").await?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(lo).up().build())
        .execute()
        .await
}

/// The names of the links in the calling thread's namespace.
pub(crate) fn link_names() -> io::Result<Vec<String>> {
    on_this_thread(async |handle: &Handle| {
        let mut links = handle.link().get().execute();
        let mut names = Vec::new();
        while let Some(link) = links.try_next().await? {
            for attribute in link.attributes {
                if let rtnetlink::packet_route::link::LinkAttribute::IfName(name) = attribute {
                    names.push(name);
                }
            }
        }
        Ok(names)
    })
}
