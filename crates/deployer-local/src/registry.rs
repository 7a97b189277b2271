//! The per-user registry of live local runs: one small file per run naming
//! its run directory, written with the run marker and removed with it, so
//! that `reap` (and the next run) find a dead runner's leftovers wherever
//! its artifacts were, not only under one workspace's `target/testbed`.

use std::path::{Path, PathBuf};

/// Where this user's registry lives: `testbed-runs-<uid>` in the temporary
/// directory (the uid outside any user namespace the runner is in).
pub(crate) fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("testbed-runs-{}", netplane::outer_uid()))
}

fn entry(run_dir: &Path) -> PathBuf {
    let name = run_dir
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    dir().join(format!("{name}.path"))
}

/// Register a run by its directory.
pub(crate) fn register(run_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir())?;
    let absolute = std::path::absolute(run_dir)?;
    std::fs::write(entry(run_dir), absolute.as_os_str().as_encoded_bytes())
}

/// Forget a run (its marker is gone).
pub(crate) fn unregister(run_dir: &Path) {
    let _ = std::fs::remove_file(entry(run_dir));
}

/// Every registered run directory, with its registry entry.
pub(crate) fn runs() -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            Some((PathBuf::from(text), path))
        })
        .collect()
}
