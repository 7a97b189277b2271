//! Ctrl-C to the process running a scenario on Docker: it exits by that
//! signal once cleanup ran, and nothing labelled with its run is left in
//! the engine; the failed run keeps its node logs.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deployer_compose::ComposeDeployer;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::prelude::*;

use crate::support::{assert_nothing_left, engine_with_image, scenario};

const CHILD_ENV: &str = "TESTBED_TEST_COMPOSE_SIGINT_ROOT";
const READY: &str = "TESTBED-TEST-COMPOSE-EXECUTING";

struct Announce;

#[async_trait]
impl Workload for Announce {
    fn name(&self) -> &str {
        "announce"
    }
    async fn run(&self, _ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        #[allow(clippy::print_stdout)] // The parent test reads this line.
        {
            println!("{READY}");
        }
        cancel.cancelled().await;
        Ok(())
    }
}

fn run_child(root: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario("compose-interrupted", 3, 0, 3600, root)
            .workload(Announce)
            .build()
            .unwrap();
        let _ = plan.run(&ComposeDeployer::new()).await;
    });
    unreachable!("the signal ends this process once cleanup is done");
}

fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

#[test]
fn sigint_to_the_runner_removes_every_container_network_and_volume() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(interrupt_a_runner());
}

async fn interrupt_a_runner() {
    let Some(docker) = engine_with_image("sigint").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let test = "interrupt::sigint_to_the_runner_removes_every_container_network_and_volume";
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture"])
        .env(CHILD_ENV, root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let saw_ready = stdout.lines().any(|line| line.unwrap().contains(READY));
    assert!(saw_ready, "the child never reached the execute phase");
    let dir = run_dir(root.path());
    let run_id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    let running = deployer_compose::leftovers(&docker, &run_id).await.unwrap();
    assert_eq!(
        running.len(),
        3 + 3 + 1,
        "3 containers, 3 volumes, 1 network: {running:?}"
    );

    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the runner did not exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

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
    assert_nothing_left(&docker, &report).await;
    assert!(
        dir.join("nodes/validator-0/node.log").exists(),
        "logs are kept"
    );
}
