//! Sending packets on: a raw IPv4 socket (`IP_HDRINCL`) bound to the pod's
//! interface, so the kernel routes each by the pod's own routes and never
//! back into the agent's TUN device.

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use anyhow::Context;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, sendto, setsockopt,
    socket, sockopt,
};

/// The raw socket.
pub(crate) struct Sender {
    socket: OwnedFd,
}

impl Sender {
    /// A raw socket bound to `device`.
    pub(crate) fn open(device: &str) -> anyhow::Result<Self> {
        let socket = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        )
        .context("open a raw socket (the agent needs NET_RAW)")?;
        setsockopt(&socket, sockopt::BindToDevice, &device.into())
            .with_context(|| format!("bind the raw socket to {device}"))?;
        Ok(Self { socket })
    }

    /// Send one IPv4 packet as it is (its header included).
    pub(crate) fn send(&self, packet: &[u8]) -> nix::Result<()> {
        let destination = destination(packet).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let address = SockaddrIn::from(std::net::SocketAddrV4::new(destination, 0));
        sendto(
            std::os::fd::AsRawFd::as_raw_fd(&self.socket),
            packet,
            &address,
            MsgFlags::MSG_DONTWAIT,
        )
        .map(drop)
    }
}

/// The destination of an IPv4 packet; `None` for anything else.
pub(crate) fn destination(packet: &[u8]) -> Option<Ipv4Addr> {
    (packet.len() >= 20 && packet[0] >> 4 == 4)
        .then(|| Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]))
}
