//! Who this process is on the machine, also from inside a user namespace:
//! per-user files (lock files, registries) must be named after the user
//! that owns them outside, since only that user can write them.

/// The user this process runs as on the machine: its effective uid mapped
/// out of any user namespace it is in (a runner started with
/// `unshare --map-root-user` is uid 0 inside, its own user outside, and
/// only the outside one can write what that user created).
pub fn outer_uid() -> u32 {
    let uid = nix::unistd::geteuid().as_raw();
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    outer_of(uid, &map).unwrap_or(uid)
}

/// `uid` mapped through a `/proc/<pid>/uid_map` text.
fn outer_of(uid: u32, map: &str) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut fields = line.split_whitespace().map(str::parse::<u32>);
        let (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count))) =
            (fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let offset = uid.checked_sub(inside)?;
        (offset < count).then(|| outside + offset)
    })
}

#[cfg(test)]
mod tests {
    use super::outer_of;

    #[test]
    fn a_uid_is_mapped_out_of_its_user_namespace() {
        // The initial namespace maps every uid to itself.
        assert_eq!(
            outer_of(1000, "         0          0 4294967295\n"),
            Some(1000)
        );
        // `unshare --map-root-user` run by uid 1000: root inside is 1000.
        assert_eq!(
            outer_of(0, "         0       1000          1\n"),
            Some(1000)
        );
        assert_eq!(outer_of(5, "         0       1000          1\n"), None);
        assert_eq!(outer_of(0, ""), None);
    }
}
