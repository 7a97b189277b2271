//! Whether a run's network namespaces are gone: after cleanup no process
//! (or thread) may run in one, nor hold one open through an fd. (A TUN
//! device's or a socket's own reference is not seen here, but such files
//! belong to processes that would be listed for them anyway only if they
//! also run in or hold the namespace; the plane's own are closed with the
//! switch.) The kernel removes a namespace, and every device in it, with
//! its last reference.

use std::path::Path;

/// A process that still runs in, or holds open, one of the namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceHolder {
    /// The namespace (`net:[<inode>]`).
    pub inode: u64,
    /// The process.
    pub pid: u32,
    /// Whether it (or one of its threads) runs inside (`true`), or holds an
    /// fd on it.
    pub inside: bool,
}

/// Every process on this machine with a thread in, or an fd on, one of
/// `inodes`; each process and namespace once.
pub fn namespace_holders(inodes: &[u64]) -> Vec<NamespaceHolder> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let wanted = |link: &Path| {
        let text = link.to_string_lossy();
        let inode = text
            .strip_prefix("net:[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        inodes.contains(&inode).then_some(inode)
    };
    let entries = |dir: &Path| std::fs::read_dir(dir).into_iter().flatten().flatten();
    let mut holders = Vec::new();
    for process in processes.flatten() {
        let Ok(pid) = process.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let threads =
            entries(&process.path().join("task")).map(|t| (t.path().join("ns/net"), true));
        let fds = entries(&process.path().join("fd")).map(|fd| (fd.path(), false));
        for (link, inside) in threads.chain(fds) {
            let Some(inode) = std::fs::read_link(&link).ok().and_then(|l| wanted(&l)) else {
                continue;
            };
            let holder = NamespaceHolder { inode, pid, inside };
            if !holders.contains(&holder) {
                holders.push(holder);
            }
        }
    }
    holders
}
