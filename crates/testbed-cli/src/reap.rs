//! Reaping what runs killed by SIGKILL left behind (their runner is gone),
//! for `testbed reap` and `cargo xtask reap` alike: local node processes and
//! data directories under the given artifact roots and in this user's
//! registry of local runs, and, when a Docker engine answers, containers,
//! volumes and networks labelled with a dead runner of this host. Runs whose
//! runner is alive are left alone.

use std::fmt;
use std::path::PathBuf;

use testbed::compose as compose_deployer;
use testbed::local as local_deployer;

/// What one reap did.
pub struct Reaped {
    /// Dead local runs cleaned up.
    pub local: Vec<local_deployer::Reaped>,
    /// Dead Docker runs cleaned up, or why Docker was skipped.
    pub docker: Result<Vec<compose_deployer::Reaped>, String>,
}

/// Reap dead runs under `roots`, in the registry, and on Docker.
pub async fn reap(roots: &[PathBuf]) -> std::io::Result<Reaped> {
    let mut local = Vec::new();
    for root in roots {
        local.extend(local_deployer::reap(root)?);
    }
    // Runs of this user anywhere else, from the per-user registry.
    local.extend(local_deployer::reap_registered()?);
    let docker = match compose_deployer::connect(None).await {
        Ok(docker) => compose_deployer::reap(&docker)
            .await
            .map_err(|e| format!("reaping Docker resources failed: {e}")),
        Err(e) => Err(format!("skipped Docker ({e})")),
    };
    Ok(Reaped { local, docker })
}

impl fmt::Display for Reaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for run in &self.local {
            let killed = if run.killed.is_empty() {
                "nothing still running".to_owned()
            } else {
                run.killed.join(", ")
            };
            writeln!(f, "reaped {}: killed {killed}", run.run_dir.display())?;
        }
        writeln!(f, "reap: {} dead local run(s) cleaned up", self.local.len())?;
        match &self.docker {
            Ok(runs) => {
                for run in runs {
                    writeln!(
                        f,
                        "reaped Docker run {} (runner {} is gone)",
                        run.run_id, run.runner
                    )?;
                }
                writeln!(f, "reap: {} dead Docker run(s) cleaned up", runs.len())
            }
            Err(why) => writeln!(f, "reap: {why}"),
        }
    }
}
