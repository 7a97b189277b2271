//! Can this machine run the plane? Asked before anything starts, so a plan
//! that needs namespaces is rejected naming the missing piece and its fix,
//! never run as a silent no-op.
//!
//! The probe does for real what the plane needs, on a throwaway thread:
//! it checks the capabilities, opens `/dev/net/tun`, enters a new network
//! namespace and creates a TUN device there (the thread's end frees both).

use std::fmt;
use std::io;

use nix::sched::{CloneFlags, unshare};

/// CAP_NET_ADMIN: TUN devices, links, addresses, routes.
const CAP_NET_ADMIN: u32 = 12;
/// CAP_SYS_ADMIN: `unshare(CLONE_NEWNET)` and `setns`.
const CAP_SYS_ADMIN: u32 = 21;

/// The piece a machine lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    /// Neither root nor CAP_NET_ADMIN + CAP_SYS_ADMIN.
    Privileges,
    /// `/dev/net/tun` is absent or cannot be opened.
    TunDevice,
    /// `unshare(CLONE_NEWNET)` fails (no CONFIG_NET_NS, or a seccomp
    /// profile forbids it).
    NetworkNamespaces,
    /// A TUN device cannot be created inside a new namespace.
    TunInNamespace,
}

impl Missing {
    /// How to get it.
    pub fn fix(self) -> &'static str {
        match self {
            Self::Privileges => {
                "run as root; or, without root where the kernel allows unprivileged user \
                 namespaces, run the runner inside one where it is root, e.g. \
                 `unshare --user --map-root-user --net -- cargo test` (local processes \
                 only: Docker's namespaces belong to the real root); or grant the test \
                 binary the capabilities (`setcap cap_net_admin,cap_sys_admin+ep <binary>`; \
                 in a container `--cap-add NET_ADMIN --cap-add SYS_ADMIN`)"
            }
            Self::TunDevice => {
                "load the tun module (`modprobe tun`) and let your user open it \
                 (`chmod 0666 /dev/net/tun`, most distributions' default); in a container \
                 pass the device (`--device /dev/net/tun`)"
            }
            Self::NetworkNamespaces => {
                "use a kernel with network namespaces (CONFIG_NET_NS); in a container \
                 allow unshare (`--privileged`, or a seccomp profile that permits it)"
            }
            Self::TunInNamespace => {
                "allow TUN devices inside network namespaces (a container needs \
                 `--device /dev/net/tun` and CAP_NET_ADMIN)"
            }
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Privileges => "root or CAP_NET_ADMIN and CAP_SYS_ADMIN",
            Self::TunDevice => "a usable /dev/net/tun",
            Self::NetworkNamespaces => "network namespaces (unshare(CLONE_NEWNET))",
            Self::TunInNamespace => "TUN devices inside a network namespace",
        })
    }
}

/// Why the plane cannot run here.
#[derive(Debug, thiserror::Error)]
#[error("the network plane cannot run on this machine: it needs {missing} ({detail}); fix: {}", missing.fix())]
pub struct Unavailable {
    /// What is missing.
    pub missing: Missing,
    /// What the probe saw.
    pub detail: String,
}

impl From<Unavailable> for crate::Error {
    fn from(unavailable: Unavailable) -> Self {
        Self::Unavailable(Box::new(unavailable))
    }
}

fn unavailable(missing: Missing, detail: impl fmt::Display) -> Unavailable {
    Unavailable {
        missing,
        detail: detail.to_string(),
    }
}

/// Check every piece the plane needs; the first missing one is the error.
pub fn probe() -> Result<(), Unavailable> {
    let effective = effective_capabilities().map_err(|e| {
        unavailable(
            Missing::Privileges,
            format!("reading /proc/self/status: {e}"),
        )
    })?;
    let has = |cap: u32| effective & (1 << cap) != 0;
    if !(has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN)) {
        return Err(unavailable(
            Missing::Privileges,
            format!(
                "effective uid {}, capabilities {effective:#x}",
                nix::unistd::geteuid()
            ),
        ));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| unavailable(Missing::TunDevice, format!("opening /dev/net/tun: {e}")))?;
    let in_new_namespace = std::thread::spawn(|| -> Result<(), Unavailable> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| unavailable(Missing::NetworkNamespaces, e))?;
        tun_rs::DeviceBuilder::new()
            .name(crate::netns::DEVICE)
            .packet_information(false)
            .build_sync()
            .map(drop)
            .map_err(|e| unavailable(Missing::TunInNamespace, e))
    });
    in_new_namespace.join().unwrap_or_else(|_| {
        Err(unavailable(
            Missing::NetworkNamespaces,
            "the probe thread died",
        ))
    })
}

/// The effective capability set of this process.
fn effective_capabilities() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .ok_or_else(|| io::Error::other("no CapEff line"))?;
    u64::from_str_radix(line.trim(), 16).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_piece_names_a_fix() {
        for missing in [
            Missing::Privileges,
            Missing::TunDevice,
            Missing::NetworkNamespaces,
            Missing::TunInNamespace,
        ] {
            let error = unavailable(missing, "seen");
            let text = error.to_string();
            assert!(
                text.contains("fix:") && text.contains(missing.fix()),
                "{text}"
            );
        }
    }

    #[test]
    fn the_probe_answers_on_this_machine() {
        // Root here runs the plane; elsewhere the answer must name a piece.
        match probe() {
            Ok(()) => assert!(effective_capabilities().unwrap() & (1 << CAP_NET_ADMIN) != 0),
            Err(unavailable) => assert!(!unavailable.missing.fix().is_empty()),
        }
    }
}
