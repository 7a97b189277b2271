//! `cargo xtask reap`: remove what runs killed by SIGKILL left behind (their
//! runner is gone): local node processes under the workspace's
//! `target/testbed` and `TESTBED_ARTIFACTS_DIR`, and, when a Docker engine
//! answers, containers, volumes and networks labelled with a dead runner of
//! this host. Runs whose runner is alive are left alone.

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
    println!("reap: {total} dead local run(s) cleaned up");
    reap_docker()
}

fn reap_docker() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let docker = match deployer_compose::connect(None).await {
            Ok(docker) => docker,
            Err(e) => {
                println!("reap: skipped Docker ({e})");
                return Ok(());
            }
        };
        let reaped = deployer_compose::reap(&docker)
            .await
            .map_err(|e| anyhow::anyhow!("reaping Docker resources: {e}"))?;
        for run in &reaped {
            println!(
                "reaped Docker run {} (runner {} is gone)",
                run.run_id, run.runner
            );
        }
        println!("reap: {} dead Docker run(s) cleaned up", reaped.len());
        Ok(())
    })
}
