//! Ctrl-C to the process running a scenario on local processes: it exits by
//! that signal, leaves no node process alive, and keeps the logs. A runner
//! killed by SIGKILL cannot clean up: reaping finds and kills what it left.
//! Either way no network namespace of the run outlives it (and with them
//! their TUN devices: the plane makes nothing else in the kernel).

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deployer_local::{LocalDeployer, MARKER_FILE, Marker};
use e2e_support::runner_process::{self, Announce, wait_exit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::prelude::*;

use crate::support::scenario;

const CHILD_ENV: &str = "TESTBED_TEST_LOCAL_SIGINT_ROOT";

fn run_child(root: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario("interrupted", 3, 1, 3600, root)
            .workload(Announce)
            .build()
            .unwrap();
        let _ = plan.run(&LocalDeployer::new()).await;
    });
    unreachable!("the signal ends this process once cleanup is done");
}

/// Start this test binary as a runner of a long scenario, and wait until
/// its execute phase began; returns the child and the run's marker.
fn start_runner(test: &str, root: &Path) -> (std::process::Child, PathBuf, Marker) {
    let (child, dir) = runner_process::start(test, CHILD_ENV, root);
    let marker: Marker =
        serde_json::from_str(&std::fs::read_to_string(dir.join(MARKER_FILE)).unwrap()).unwrap();
    assert_eq!(marker.nodes.len(), 4);
    (child, dir, marker)
}

#[test]
fn sigint_to_the_runner_stops_every_node_and_keeps_the_logs() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    let root = tempfile::tempdir().unwrap();
    let test = "interrupt::sigint_to_the_runner_stops_every_node_and_keeps_the_logs";
    let (mut child, dir, marker) = start_runner(test, root.path());
    let namespaces = namespaces_of(&marker);

    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = wait_exit(&mut child);
    assert_namespaces_gone(&namespaces);

    assert_eq!(
        status.signal(),
        Some(Signal::SIGINT as i32),
        "ended with {status}"
    );
    for (id, process) in &marker.nodes {
        assert!(!process.is_alive(), "{id} (pid {}) survived", process.pid);
    }
    let report = Report::read(&dir.join("report.json")).unwrap();
    assert_eq!(
        report.failures,
        ["the run was interrupted by SIGINT during execute"]
    );
    for id in ["validator-0", "validator-1", "validator-2", "executor-0"] {
        assert!(
            dir.join(format!("nodes/{id}/node.log")).exists(),
            "{id}'s log is kept"
        );
    }
}

/// The network namespace of each of the run's node processes, read while
/// they run.
fn namespaces_of(marker: &Marker) -> Vec<u64> {
    let namespaces: Vec<u64> = marker
        .nodes
        .iter()
        .map(|(id, process)| {
            let path = format!("/proc/{}/ns/net", process.pid);
            std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{id}'s namespace: {e}"))
                .ino()
        })
        .collect();
    let host = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert!(
        namespaces.iter().all(|ns| *ns != host),
        "every node runs in a namespace of its own: {namespaces:?}"
    );
    namespaces
}

/// No process on this machine is in any of `namespaces`, and no open file
/// holds one: the kernel has removed them, with their devices.
fn assert_namespaces_gone(namespaces: &[u64]) {
    let holders = netplane::audit::namespace_holders(namespaces);
    assert!(
        holders.is_empty(),
        "the run's namespaces are still held: {holders:?}"
    );
}

/// `dir`'s run was reaped (by `reaped`, or by a local run that started
/// beside this test and reaped it first): its marker is gone and its nodes
/// die.
fn assert_reaped_once(reaped: &[deployer_local::Reaped], dir: &Path, marker: &Marker) {
    if let Some(ours) = reaped.iter().find(|r| r.run_dir == dir) {
        assert_eq!(ours.killed.len(), 4, "{reaped:?}");
    }
    assert!(!dir.join(MARKER_FILE).exists());
    let started = Instant::now();
    while marker.nodes.iter().any(|(_, p)| p.is_alive()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "reaped nodes still alive"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_user_registry_finds_a_dead_run_wherever_its_artifacts_were_and_reaps_its_data() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    // A root no workspace knows about: only the registry leads to it.
    let root = tempfile::tempdir().unwrap();
    let test = "interrupt::the_user_registry_finds_a_dead_run_wherever_its_artifacts_were_and_reaps_its_data";
    let (mut child, dir, marker) = start_runner(test, root.path());
    child.kill().unwrap();
    wait_exit(&mut child);

    let reaped = deployer_local::reap_registered().unwrap();
    assert_reaped_once(&reaped, &dir, &marker);
    assert!(!dir.join("nodes/validator-0/data").exists(), "data removed");
    assert!(dir.join("nodes/validator-0/node.log").exists(), "logs kept");
    assert!(
        deployer_local::reap_registered()
            .unwrap()
            .iter()
            .all(|r| r.run_dir != dir),
        "reaped once, then forgotten"
    );
}

#[test]
fn reaping_kills_what_a_sigkilled_runner_left_and_removes_its_marker() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    let root = tempfile::tempdir().unwrap();
    let test = "interrupt::reaping_kills_what_a_sigkilled_runner_left_and_removes_its_marker";
    let (mut child, dir, marker) = start_runner(test, root.path());
    let namespaces = namespaces_of(&marker);

    child.kill().unwrap();
    wait_exit(&mut child);
    // A SIGKILLed runner leaves its nodes running (not asserted: a local run
    // starting beside this test may already be reaping them).
    let reaped = deployer_local::reap(root.path()).unwrap();
    assert_reaped_once(&reaped, &dir, &marker);
    assert_namespaces_gone(&namespaces);
}
