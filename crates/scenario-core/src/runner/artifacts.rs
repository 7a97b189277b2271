//! Where a run's artifacts go and what the run is called: the run id and the
//! `target/testbed/<run-id>/` directory of the workspace being tested
//! (overridable with `TESTBED_ARTIFACTS_DIR`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The environment variable that moves every run's artifacts under another root.
pub(crate) const ARTIFACTS_ENV: &str = "TESTBED_ARTIFACTS_DIR";

/// A run id: the scenario name, the UTC start time and a random suffix, e.g.
/// `smoke-20261127t070124-3fa2` (lowercase so every backend accepts it).
pub(crate) fn run_id(scenario: &str, now: SystemTime, suffix: u16) -> String {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let compact: String = stamp
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{scenario}-{compact}-{suffix:04x}")
}

/// Create the directory of a new run under `root`: its id and its path. The
/// directory is created exclusively, so two runs of one scenario started in
/// the same second never share one (a taken id is drawn again).
pub(crate) fn create_run_dir(
    root: &Path,
    scenario: &str,
    now: SystemTime,
) -> std::io::Result<(String, PathBuf)> {
    std::fs::create_dir_all(root)?;
    for _ in 0..64 {
        let id = run_id(scenario, now, rand::random());
        let dir = root.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("64 run ids drawn for '{scenario}' in one second were all taken"),
    ))
}

/// The root under which run directories are created, in order of precedence:
/// the scenario's own setting, `TESTBED_ARTIFACTS_DIR`, the `target/testbed`
/// of the enclosing Cargo workspace (`CARGO_TARGET_DIR` respected), or
/// `./target/testbed`.
pub(crate) fn root(
    from_scenario: Option<&Path>,
    from_env: Option<PathBuf>,
    target_dir_env: Option<PathBuf>,
    cwd: &Path,
) -> PathBuf {
    if let Some(root) = from_scenario {
        return root.to_path_buf();
    }
    if let Some(root) = from_env.filter(|p| !p.as_os_str().is_empty()) {
        return root;
    }
    if let Some(target) = target_dir_env.filter(|p| !p.as_os_str().is_empty()) {
        return cwd.join(target).join("testbed");
    }
    let workspace = workspace_root(cwd).unwrap_or(cwd);
    workspace.join("target").join("testbed")
}

/// The outermost ancestor of `start` holding a `Cargo.lock` (a workspace root).
fn workspace_root(start: &Path) -> Option<&Path> {
    start
        .ancestors()
        .filter(|dir| dir.join("Cargo.lock").is_file())
        .last()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn run_ids_carry_scenario_time_and_suffix() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_849_284);
        assert_eq!(run_id("smoke", at, 0x3fa2), "smoke-20261128t070124-3fa2");
    }

    #[test]
    fn the_scenario_setting_beats_the_environment_which_beats_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let crate_dir = dir.path().join("crates/x");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), "").unwrap();
        let explicit = Path::new("/explicit");
        assert_eq!(
            root(Some(explicit), Some("/env".into()), None, &crate_dir),
            explicit
        );
        assert_eq!(
            root(None, Some("/env".into()), None, &crate_dir),
            Path::new("/env")
        );
        assert_eq!(
            root(None, None, None, &crate_dir),
            dir.path().join("target/testbed")
        );
        assert_eq!(
            root(None, None, Some("custom-target".into()), &crate_dir),
            crate_dir.join("custom-target/testbed")
        );
    }
}
