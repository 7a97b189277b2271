//! `cargo xtask reap`: `testbed reap` for this workspace (the logic is
//! `testbed_cli::reap`): dead runs under the workspace's `target/testbed`,
//! `TESTBED_ARTIFACTS_DIR` and this user's registry of local runs, and on
//! Docker.

use std::path::PathBuf;

pub(crate) fn run() -> anyhow::Result<()> {
    let mut roots = vec![crate::tidy::workspace_root().join("target").join("testbed")];
    if let Some(dir) = std::env::var_os("TESTBED_ARTIFACTS_DIR") {
        roots.push(PathBuf::from(dir));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reaped = runtime.block_on(testbed_cli::reap::reap(&roots))?;
    print!("{reaped}");
    if let Err(why) = &reaped.docker
        && !why.starts_with("skipped")
    {
        anyhow::bail!("{why}");
    }
    Ok(())
}
