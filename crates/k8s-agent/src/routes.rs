//! The pod's side of the diversion, through rtnetlink: which interface and
//! address the pod has, and routes one bit more specific than each of its
//! own, through the agent's TUN device, so every packet leaving the pod
//! reaches the agent first. The pod's own routes stay; the agent's raw
//! socket, bound to the pod's interface, is routed by them.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, bail};
use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

/// The main routing table's id.
const MAIN_TABLE: u8 = 254;

/// The pod's network interface.
#[derive(Clone, Debug)]
pub(crate) struct Interface {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) mtu: u32,
}

/// An IPv4 route of the main table: destination, prefix length, device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) destination: Ipv4Addr,
    pub(crate) prefix: u8,
    pub(crate) device: u32,
}

fn route_of(message: &RouteMessage) -> Option<Route> {
    if message.header.table != MAIN_TABLE || message.header.kind != RouteType::Unicast {
        return None;
    }
    let mut destination = Ipv4Addr::UNSPECIFIED;
    let mut device = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(address)) => destination = *address,
            RouteAttribute::Oif(index) => device = Some(*index),
            _ => {}
        }
    }
    Some(Route {
        destination,
        prefix: message.header.destination_prefix_length,
        device: device?,
    })
}

/// The two halves of a route, one bit more specific each; none for a /32.
pub(crate) fn halves(route: Route) -> Vec<(Ipv4Addr, u8)> {
    if route.prefix >= 32 {
        return Vec::new();
    }
    let prefix = route.prefix + 1;
    let mask = if route.prefix == 0 {
        0
    } else {
        u32::MAX << (32 - route.prefix)
    };
    let low = u32::from(route.destination) & mask;
    let high = low | (1 << (31 - route.prefix));
    vec![
        (Ipv4Addr::from(low), prefix),
        (Ipv4Addr::from(high), prefix),
    ]
}

async fn routes(handle: &Handle) -> anyhow::Result<Vec<Route>> {
    let query = RouteMessageBuilder::<Ipv4Addr>::new().build();
    let messages: Vec<RouteMessage> = handle
        .route()
        .get(query)
        .execute()
        .try_collect()
        .await
        .context("list the pod's routes")?;
    Ok(messages.iter().filter_map(route_of).collect())
}

/// The pod's interface: the one its default route leaves by, else the one
/// of its first route that is not loopback.
pub(crate) async fn pod_interface(handle: &Handle) -> anyhow::Result<Interface> {
    let routes = routes(handle).await?;
    let lo = index_of(handle, "lo").await.ok();
    let index = routes
        .iter()
        .find(|route| route.prefix == 0)
        .or_else(|| routes.iter().find(|route| Some(route.device) != lo))
        .map(|route| route.device)
        .context("the pod has no IPv4 route to leave by")?;
    let mut links = handle.link().get().match_index(index).execute();
    let link = links
        .try_next()
        .await?
        .context("the pod's interface vanished")?;
    let mut name = String::new();
    let mut mtu = 1500;
    for attribute in link.attributes {
        match attribute {
            LinkAttribute::IfName(found) => name = found,
            LinkAttribute::Mtu(found) => mtu = found,
            _ => {}
        }
    }
    let mut addresses = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(message) = addresses.try_next().await? {
        for attribute in message.attributes {
            if let AddressAttribute::Address(IpAddr::V4(address)) = attribute {
                return Ok(Interface {
                    index,
                    name,
                    address,
                    mtu,
                });
            }
        }
    }
    bail!("the pod's interface {name} has no IPv4 address")
}

async fn index_of(handle: &Handle, name: &str) -> anyhow::Result<u32> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await? {
        Some(link) => Ok(link.header.index),
        None => bail!("no link {name}"),
    }
}

/// Bring the TUN device `tun` up with the pod's MTU and route the halves
/// of every route of the pod's interface through it, from the pod's own
/// address. Returns the routes added.
pub(crate) async fn divert(
    handle: &Handle,
    pod: &Interface,
    tun: &str,
) -> anyhow::Result<Vec<(Ipv4Addr, u8)>> {
    let tun = index_of(handle, tun).await?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(tun).mtu(pod.mtu).up().build())
        .execute()
        .await
        .context("bring the TUN device up")?;
    let mut added = Vec::new();
    for route in routes(handle).await? {
        if route.device != pod.index {
            continue;
        }
        for (destination, prefix) in halves(route) {
            let message = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(destination, prefix)
                .output_interface(tun)
                .pref_source(pod.address)
                .build();
            handle
                .route()
                .add(message)
                .execute()
                .await
                .with_context(|| format!("route {destination}/{prefix} through the agent"))?;
            added.push((destination, prefix));
        }
    }
    if added.is_empty() {
        bail!("no route of {} could be diverted", pod.name);
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(destination: [u8; 4], prefix: u8) -> Route {
        Route {
            destination: Ipv4Addr::from(destination),
            prefix,
            device: 2,
        }
    }

    #[test]
    fn a_default_route_splits_into_the_two_halves_of_the_address_space() {
        assert_eq!(
            halves(route([0, 0, 0, 0], 0)),
            [
                (Ipv4Addr::new(0, 0, 0, 0), 1),
                (Ipv4Addr::new(128, 0, 0, 0), 1)
            ]
        );
    }

    #[test]
    fn a_subnet_route_splits_into_its_two_halves_and_a_host_route_not_at_all() {
        assert_eq!(
            halves(route([172, 17, 0, 0], 16)),
            [
                (Ipv4Addr::new(172, 17, 0, 0), 17),
                (Ipv4Addr::new(172, 17, 128, 0), 17)
            ]
        );
        assert_eq!(halves(route([10, 1, 2, 3], 32)), []);
    }
}
