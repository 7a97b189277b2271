//! Each run gets its own loopback address (127.a.b.1; Linux routes all of
//! 127.0.0.0/8 to the loopback device), claimed with a lock file that the
//! kernel releases when the process ends, even by SIGKILL. Ports are then
//! allocated on that address only, so concurrent runs can never collide.
//!
//! Lock files do not accumulate: a run deletes its file while it still holds
//! the lock, and a claimant that locked a file checks that the path still
//! names that very file (a deleted one no longer counts), so deleting never
//! lets two runs own one address. A SIGKILLed run's file is reused.

use std::fs::{File, OpenOptions, TryLockError};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::PathBuf;

use rand::Rng;

/// A claimed loopback address; released when dropped.
#[derive(Debug)]
pub(crate) struct Loopback {
    pub(crate) ip: Ipv4Addr,
    /// Held for the run's life; deleted (while locked) on release.
    lock: Option<(File, PathBuf)>,
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("testbed-loopback")
}

/// Delete the lock files no live run holds (left by runs that were killed,
/// or by versions that never deleted them).
fn sweep_stale(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && still_named(&file, &path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Claim a free loopback address.
pub(crate) fn claim() -> std::io::Result<Loopback> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir)?;
    sweep_stale(&dir);
    let mut rng = rand::rng();
    for _ in 0..512 {
        let ip = Ipv4Addr::new(127, rng.random_range(1..=254), rng.random(), 1);
        let lock_path = dir.join(format!("{ip}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        match file.try_lock() {
            Ok(()) => {
                if !still_named(&file, &lock_path) {
                    // Its owner deleted it after we opened it: not a claim.
                    continue;
                }
                // Check the address works here before handing it out.
                TcpListener::bind(SocketAddrV4::new(ip, 0))?;
                return Ok(Loopback {
                    ip,
                    lock: Some((file, lock_path)),
                });
            }
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(error)) => return Err(error),
        }
    }
    Err(std::io::Error::other(
        "every loopback address tried is in use by another run",
    ))
}

/// Whether `path` still names the open `file` (same device and inode).
fn still_named(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

impl Loopback {
    /// Give the address back: delete the lock file, then unlock it.
    pub(crate) fn release(&mut self) {
        if let Some((file, path)) = self.lock.take() {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_claims_get_different_addresses() {
        let a = claim().unwrap();
        let b = claim().unwrap();
        assert_ne!(a.ip, b.ip);
    }

    #[test]
    fn a_released_claim_leaves_no_lock_file() {
        let mut claimed = claim().unwrap();
        let path = lock_dir().join(format!("{}.lock", claimed.ip));
        assert!(path.exists());
        claimed.release();
        assert!(!path.exists(), "{} was left behind", path.display());
    }

    #[test]
    fn a_lock_file_deleted_after_opening_is_not_a_claim() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let file = File::create(&path).unwrap();
        assert!(still_named(&file, &path));
        std::fs::remove_file(&path).unwrap();
        assert!(!still_named(&file, &path));
        File::create(&path).unwrap();
        assert!(!still_named(&file, &path), "a new file under the same name");
    }
}
