//! Each run's own block of 198.18.0.0/15 (the range RFC 2544 sets aside for
//! test beds): a /22 out of 128, claimed with a lock file that the kernel
//! releases when the process ends, even by SIGKILL.
//!
//! Lock files do not pile up: a claim removes its file on release (while
//! still holding the lock), and every claim first sweeps the files of runs
//! that died (unlocked ones). A claimant that locked a file which was swept
//! under it notices (the path no longer names its inode) and tries again.

use std::fs::{File, OpenOptions, TryLockError};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::error::{Error, Result};

/// The range every run's block is carved from.
pub const RANGE: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 15);
/// The prefix length of one run's block.
pub const PREFIX: u8 = 22;
const BLOCKS: u32 = 1 << (PREFIX - RANGE.1);

/// One run's block of addresses; the claim ends when it is dropped.
#[derive(Debug)]
pub struct RunSubnet {
    network: Ipv4Addr,
    lock: Option<(File, PathBuf)>,
}

impl RunSubnet {
    /// Claim a block no other live run of this user holds, under the
    /// system temp dir. (Runs of different users may hold the same block:
    /// every run's nodes and runner port sit in namespaces of its own, so
    /// equal addresses never meet; the claim keeps a user's runs apart in
    /// logs and reports.)
    pub fn claim() -> Result<Self> {
        let dir = format!("testbed-netplane-{}", crate::user::outer_uid());
        Self::claim_in(&std::env::temp_dir().join(dir))
    }

    /// Claim a block, keeping lock files in `dir` (tests use their own).
    pub fn claim_in(dir: &Path) -> Result<Self> {
        let failed = |source| Error::SubnetClaimFailed {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        sweep(dir).map_err(failed)?;
        let start = rand::rng().random_range(0..BLOCKS);
        for offset in 0..BLOCKS {
            let block = (start + offset) % BLOCKS;
            let network = Ipv4Addr::from(u32::from(RANGE.0) + (block << (32 - PREFIX)));
            let path = dir.join(format!("{network}.lock"));
            // A file swept between our open and our lock: try it again.
            for _ in 0..3 {
                match try_claim(&path).map_err(failed)? {
                    Claim::Ours(file) => {
                        return Ok(Self {
                            network,
                            lock: Some((file, path)),
                        });
                    }
                    Claim::Taken => break,
                    Claim::Swept => continue,
                }
            }
        }
        Err(Error::NoFreeSubnet { blocks: BLOCKS })
    }

    /// The block's network address, e.g. `198.18.4.0`.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The block's prefix length ([`PREFIX`]).
    pub fn prefix(&self) -> u8 {
        PREFIX
    }

    /// Host `n` of the block (1 is the runner), if the block has it.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u32 << (32 - PREFIX);
        (1..size - 1)
            .contains(&n)
            .then(|| Ipv4Addr::from(u32::from(self.network) + n))
    }

    /// Whether `address` is in the block.
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - PREFIX);
        u32::from(address) & mask == u32::from(self.network)
    }

    /// Give the block back: remove the lock file while holding it, then
    /// unlock. Done on drop too.
    pub fn release(&mut self) {
        if let Some((file, path)) = self.lock.take() {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

impl Drop for RunSubnet {
    fn drop(&mut self) {
        self.release();
    }
}

impl std::fmt::Display for RunSubnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, PREFIX)
    }
}

enum Claim {
    Ours(File),
    Taken,
    Swept,
}

fn try_claim(path: &Path) -> std::io::Result<Claim> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) if names(path, &file) => Ok(Claim::Ours(file)),
        Ok(()) => Ok(Claim::Swept),
        Err(TryLockError::WouldBlock) => Ok(Claim::Taken),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

/// Whether `path` still names the inode `file` has open.
fn names(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(on_disk), Ok(open)) => on_disk.ino() == open.ino() && on_disk.dev() == open.dev(),
        _ => false,
    }
}

/// Remove the lock files of runs that ended without releasing (unlocked).
fn sweep(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "lock") {
            continue;
        }
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && names(&path, &file) {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn two_claims_get_different_blocks_and_release_removes_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunSubnet::claim_in(dir.path()).unwrap();
        let b = RunSubnet::claim_in(dir.path()).unwrap();
        assert_ne!(a.network(), b.network());
        assert_eq!(locks(dir.path()).len(), 2);
        drop(a);
        assert_eq!(locks(dir.path()), vec![format!("{}.lock", b.network())]);
        drop(b);
        assert!(locks(dir.path()).is_empty());
    }

    #[test]
    fn a_dead_runs_lock_file_is_swept_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("198.18.8.0.lock"), b"").unwrap();
        let live = dir.path().join("198.18.12.0.lock");
        let holder = File::create(&live).unwrap();
        holder.lock().unwrap();
        let claimed = RunSubnet::claim_in(dir.path()).unwrap();
        assert_ne!(claimed.network(), Ipv4Addr::new(198, 18, 12, 0));
        let left = locks(dir.path());
        assert!(!left.contains(&"198.18.8.0.lock".to_owned()), "{left:?}");
        assert!(left.contains(&"198.18.12.0.lock".to_owned()), "{left:?}");
    }

    #[test]
    fn hosts_stay_inside_the_block() {
        let dir = tempfile::tempdir().unwrap();
        let subnet = RunSubnet::claim_in(dir.path()).unwrap();
        let first = subnet.host(1).unwrap();
        let last = subnet.host(1022).unwrap();
        assert!(subnet.contains(first) && subnet.contains(last));
        assert_eq!(subnet.host(0), None);
        assert_eq!(subnet.host(1023), None, "the broadcast address");
        assert!(!subnet.contains(Ipv4Addr::new(198, 20, 0, 1)));
        let (range, prefix) = RANGE;
        let mask = u32::MAX << (32 - prefix);
        assert_eq!(u32::from(subnet.network()) & mask, u32::from(range));
    }
}
