//! The packet path: read the pod's outgoing packets off the TUN device,
//! ask the [`Agent`], and send each on at once, later (earliest first), or
//! never.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use netplane::release::release;
use tokio::sync::mpsc;
use tun_rs::AsyncDevice;

use crate::agent::{Agent, Step};
use crate::sender::Sender;

/// The agent's TUN device in the pod.
pub(crate) const TUN: &str = "tb-agent";

/// Create the TUN device (making `/dev/net/tun` first where the container
/// lacks it).
pub(crate) fn open_tun() -> anyhow::Result<AsyncDevice> {
    let node = std::path::Path::new("/dev/net/tun");
    if !node.exists() {
        std::fs::create_dir_all("/dev/net").context("create /dev/net")?;
        nix::sys::stat::mknod(
            node,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(10, 200),
        )
        .context("create /dev/net/tun (the agent needs MKNOD where the runtime gives none)")?;
    }
    let device = tun_rs::DeviceBuilder::new()
        .name(TUN)
        .packet_information(false)
        .build_sync()
        .context("create the TUN device (the agent needs NET_ADMIN)")?;
    AsyncDevice::new(device).context("make the TUN device async")
}

/// Carries out the agent's decisions.
#[derive(Clone)]
pub(crate) struct Path {
    agent: Arc<Agent>,
    sender: Arc<Sender>,
    later: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
}

impl Path {
    /// The path, with its task holding delayed packets.
    pub(crate) fn start(agent: Arc<Agent>, sender: Sender) -> Self {
        let (later, queue) = mpsc::unbounded_channel();
        let path = Self {
            agent,
            sender: Arc::new(sender),
            later,
        };
        tokio::spawn(path.clone().release_delayed(queue));
        path
    }

    /// Do what the agent decided.
    pub(crate) fn carry_out(&self, steps: impl IntoIterator<Item = Step>) {
        for step in steps {
            match step {
                Step::Send(packet) => self.agent.sent(self.sender.send(&packet)),
                Step::SendAt(at, packet) => {
                    let _ = self.later.send((at, packet));
                }
                Step::Nothing => {}
            }
        }
    }

    /// Read the TUN device until it fails.
    pub(crate) async fn read(self, device: AsyncDevice) -> anyhow::Result<()> {
        let mut buffer = vec![0u8; 65_536];
        loop {
            let length = device
                .recv(&mut buffer)
                .await
                .context("read the TUN device")?;
            let step = self.agent.on_packet(&buffer[..length]);
            self.carry_out([step]);
        }
    }

    async fn release_delayed(self, queue: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>) {
        release(queue, |packet: Vec<u8>| {
            self.agent.sent(self.sender.send(&packet));
            std::future::ready(())
        })
        .await;
    }

    /// Check the lease and the hold four times a second.
    pub(crate) async fn watch_lease(self) {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            every.tick().await;
            let (resume, steps) = self.agent.tick(Instant::now());
            self.carry_out(steps);
            if resume {
                match crate::signals::send("SIGCONT") {
                    Ok(_) => self.agent.set_paused(false),
                    Err(error) => tracing::warn!(%error, "resuming the node failed"),
                }
            }
        }
    }
}
