//! Each run gets its own loopback address (127.a.b.1; Linux routes all of
//! 127.0.0.0/8 to the loopback device), claimed with a lock file that the
//! kernel releases when the process ends, even by SIGKILL. Ports are then
//! allocated on that address only, so concurrent runs can never collide.

use std::fs::{File, OpenOptions, TryLockError};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::PathBuf;

use rand::Rng;

/// A claimed loopback address; released when dropped.
#[derive(Debug)]
pub(crate) struct Loopback {
    pub(crate) ip: Ipv4Addr,
    /// Held for the run's life. The file itself stays (deleting it would let
    /// two later claimants lock different files for one address).
    lock: Option<File>,
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("testbed-loopback")
}

/// Claim a free loopback address.
pub(crate) fn claim() -> std::io::Result<Loopback> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir)?;
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
                // Check the address works here before handing it out.
                TcpListener::bind(SocketAddrV4::new(ip, 0))?;
                return Ok(Loopback {
                    ip,
                    lock: Some(file),
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

impl Loopback {
    /// Give the address back.
    pub(crate) fn release(&mut self) {
        self.lock.take();
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
}
