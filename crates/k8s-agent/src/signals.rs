//! Signals to the node: with the pod's process namespace shared, the node's
//! processes are those in another mount namespace than the agent's own,
//! other than the pod's PID 1 (the sandbox's pause process). No `exec` into
//! the node's image, which may hold no shell.

use std::str::FromStr;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn mount_namespace(pid: &str) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok()
}

/// The node's processes, as the pod's process namespace numbers them.
pub(crate) fn node_processes() -> Vec<i32> {
    let own = mount_namespace("self");
    let own_pid = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<i32> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != 1 && u32::try_from(*pid).ok() != Some(own_pid))
        .filter(|pid| {
            let theirs = mount_namespace(&pid.to_string());
            theirs.is_some() && theirs != own
        })
        .collect();
    found.sort_unstable();
    found
}

/// Send `name` (e.g. `SIGSTOP`) to every process of the node.
pub(crate) fn send(name: &str) -> Result<Vec<i32>, String> {
    let signal = Signal::from_str(name).map_err(|_| format!("no signal is named {name}"))?;
    let processes = node_processes();
    if processes.is_empty() {
        return Err(
            "no process of the node is visible: the pod must share its process \
                    namespace (shareProcessNamespace) and the node must be running"
                .to_owned(),
        );
    }
    for pid in &processes {
        kill(Pid::from_raw(*pid), signal).map_err(|error| format!("{name} to {pid}: {error}"))?;
    }
    Ok(processes)
}
