//! A runner that is interrupted or killed: Ctrl-C makes it exit by that
//! signal once its namespace is gone (the failed run keeps its node logs);
//! SIGKILL leaves the namespace behind, and once the run's lease expired,
//! reaping deletes it and nothing labelled with the run remains.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use deployer_k8s::K8sDeployer;
use e2e_support::runner_process::{self, Announce, wait_exit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::prelude::*;

use crate::support::{assert_nothing_left, cluster, scenario};

const SIGINT_CHILD: &str = "TESTBED_TEST_K8S_SIGINT_ROOT";
const SIGKILL_CHILD: &str = "TESTBED_TEST_K8S_SIGKILL_ROOT";

/// The lease of the run that is killed: short, so the test waits little.
const SHORT_LEASE: Duration = Duration::from_secs(3);

fn run_child(root: &Path, name: &str, deployer: &K8sDeployer) -> ! {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario(name, 3, 0, 3600, root)
            .workload(Announce)
            .build()
            .unwrap();
        let _ = plan.run(deployer).await;
    });
    unreachable!("the signal ends this process");
}

fn signal(child: &std::process::Child, signal: Signal) {
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
}

#[test]
fn sigint_to_the_runner_deletes_its_namespace_and_keeps_the_logs() {
    if let Some(root) = std::env::var_os(SIGINT_CHILD) {
        run_child(Path::new(&root), "k8s-interrupted", &K8sDeployer::new());
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let Some((client, _turn)) = cluster("sigint").await else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let test = "interrupt::sigint_to_the_runner_deletes_its_namespace_and_keeps_the_logs";
        let (mut child, dir) = runner_process::start(test, SIGINT_CHILD, root.path());
        let run_id = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let running = deployer_k8s::leftovers(&client, &run_id).await.unwrap();
        assert!(
            running.iter().filter(|o| o.starts_with("pod/")).count() == 3,
            "{running:?}"
        );

        signal(&child, Signal::SIGINT);
        let status = tokio::task::spawn_blocking(move || wait_exit(&mut child))
            .await
            .unwrap();

        assert_eq!(
            status.signal(),
            Some(Signal::SIGINT as i32),
            "ended with {status}"
        );
        let report = Report::read(&dir.join("report.json")).unwrap();
        assert_eq!(
            report.failures,
            ["the run was interrupted by SIGINT during execute"]
        );
        assert_nothing_left(&client, &report).await;
        assert!(
            dir.join("nodes/validator-0/node.log").exists(),
            "logs are kept"
        );
    });
}

#[test]
fn a_killed_runners_namespace_is_reaped_once_its_lease_expired() {
    if let Some(root) = std::env::var_os(SIGKILL_CHILD) {
        run_child(
            Path::new(&root),
            "k8s-killed",
            &K8sDeployer::new().lease(SHORT_LEASE),
        );
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let Some((client, _turn)) = cluster("sigkill").await else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let test = "interrupt::a_killed_runners_namespace_is_reaped_once_its_lease_expired";
        let (mut child, dir) = runner_process::start(test, SIGKILL_CHILD, root.path());
        let run_id = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let namespace = deployer_k8s::names::namespace(&run_id);
        let holder = format!("{}/{}", deployer_k8s::names::host_name(), child.id());

        signal(&child, Signal::SIGKILL);
        tokio::task::spawn_blocking(move || wait_exit(&mut child))
            .await
            .unwrap();
        let left = deployer_k8s::leftovers(&client, &run_id).await.unwrap();
        assert!(
            left.contains(&format!("namespace/{namespace}")),
            "SIGKILL cleans nothing: {left:?}"
        );

        // The lease is not renewed any more: reaping takes the namespace
        // once the lease's duration passed since the last renewal, not
        // before (reap is asked again until then, within a bound).
        let asked = tokio::time::Instant::now();
        let reaped = loop {
            let reaped = deployer_k8s::reap(&client).await.unwrap();
            if let Some(run) = reaped.into_iter().find(|run| run.namespace == namespace) {
                break run;
            }
            assert!(asked.elapsed() < Duration::from_secs(30), "never reaped");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(reaped.holder, Some(holder));
        loop {
            let left = deployer_k8s::leftovers(&client, &run_id).await.unwrap();
            if left.is_empty() {
                break;
            }
            assert!(
                asked.elapsed() < Duration::from_secs(120),
                "still there: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}
