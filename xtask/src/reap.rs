//! `cargo xtask reap`: kill what local runs killed by SIGKILL left behind
//! (their runner is gone), under the workspace's `target/testbed` and
//! `TESTBED_ARTIFACTS_DIR`. Runs whose runner is alive are left alone.

use std::path::PathBuf;

pub(crate) fn run() -> anyhow::Result<()> {
    let mut roots = vec![crate::tidy::workspace_root().join("target").join("testbed")];
    if let Some(dir) = std::env::var_os("TESTBED_ARTIFACTS_DIR") {
        roots.push(PathBuf::from(dir));
    }
    let mut total = 0;
    for root in roots {
        for reaped in deployer_local::reap(&root)? {
            total += 1;
            println!(
                "reaped {}: killed {}",
                reaped.run_dir.display(),
                if reaped.killed.is_empty() {
                    "nothing still running".to_owned()
                } else {
                    reaped.killed.join(", ")
                }
            );
        }
    }
    println!("reap: {total} dead run(s) cleaned up");
    Ok(())
}
