//! `cargo xtask reap`: remove what runs killed by SIGKILL left behind (their
//! runner is gone): local node processes under the workspace's
//! `target/testbed` and `TESTBED_ARTIFACTS_DIR` and every run in this
//! user's registry of local runs (wherever its artifacts are), their data
//! directories, and, when a Docker engine
//! answers, containers, volumes and networks labelled with a dead runner of
//! this host. Runs whose runner is alive are left alone.

use std::path::PathBuf;

pub(crate) fn run() -> anyhow::Result<()> {
    let mut roots = vec![crate::tidy::workspace_root().join("target").join("testbed")];
    if let Some(dir) = std::env::var_os("TESTBED_ARTIFACTS_DIR") {
        roots.push(PathBuf::from(dir));
    }
    let mut reaped = Vec::new();
    for root in roots {
        reaped.extend(deployer_local::reap(&root)?);
    }
    // Runs of this user anywhere else (their artifacts in another workspace
    // or directory), from the per-user registry of live runs.
    reaped.extend(deployer_local::reap_registered()?);
    for run in &reaped {
        println!(
            "reaped {}: killed {}",
            run.run_dir.display(),
            if run.killed.is_empty() {
                "nothing still running".to_owned()
            } else {
                run.killed.join(", ")
            }
        );
    }
    println!("reap: {} dead local run(s) cleaned up", reaped.len());
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
