//! Ctrl-C for real: a child process runs a scenario, the test sends it
//! SIGINT mid-run, and checks that the child cleaned up, wrote its report
//! and ended by that signal.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::fake::FakeDeployer;
use scenario_core::prelude::*;
use scenario_core::report::{Phase, PhaseStatus};

use crate::support::scenario;

/// Set in the child: where to put the run's artifacts.
const CHILD_ENV: &str = "TESTBED_TEST_SIGINT_CHILD_ROOT";
/// The child prints this once the execute phase is under way.
const READY: &str = "TESTBED-TEST-CHILD-EXECUTING";

/// Announces on stdout that the window is open, then runs until cancelled.
struct AnnounceThenWait;

#[async_trait]
impl Workload for AnnounceThenWait {
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

/// The child's side: a one-hour scenario that only a signal can end early.
fn run_child(root: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario(2, root)
            .window(Duration::from_secs(3600))
            .workload(AnnounceThenWait)
            .build()
            .unwrap();
        let _ = plan.run(&FakeDeployer::new()).await;
    });
    unreachable!("the signal ends this process once cleanup is done");
}

/// Run the test named `test` again as a child (which then runs the
/// scenario), SIGINT it once its window is open, and return how it ended,
/// its stderr and its artifact root.
fn interrupted_child(
    test: &str,
    env: &[(&str, &str)],
) -> (std::process::ExitStatus, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .env_remove("TESTBED_QUIET")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut saw_ready = false;
    for line in stdout.lines() {
        if line.unwrap().contains(READY) {
            saw_ready = true;
            break;
        }
    }
    assert!(saw_ready, "the child never reached the execute phase");

    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGINT).unwrap();
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr, dir)
}

#[test]
fn with_testbed_quiet_an_interrupted_run_prints_nothing() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    let (status, stderr, dir) = interrupted_child(
        "interrupt::with_testbed_quiet_an_interrupted_run_prints_nothing",
        &[("TESTBED_QUIET", "1")],
    );
    assert_eq!(status.signal(), Some(libc_sigint()), "{stderr}");
    assert!(!stderr.contains("testbed:"), "quiet, yet:\n{stderr}");
    assert!(Report::read(&only_report(dir.path())).is_ok());
}

#[test]
fn sigint_to_a_process_running_a_scenario_cleans_up_and_ends_it_by_that_signal() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        run_child(Path::new(&root));
    }
    let (status, stderr, dir) = interrupted_child(
        "interrupt::sigint_to_a_process_running_a_scenario_cleans_up_and_ends_it_by_that_signal",
        &[],
    );
    assert_eq!(
        status.signal(),
        Some(libc_sigint()),
        "the child ended with {status}:\n{stderr}"
    );
    assert!(
        stderr.contains("SIGINT received, cleaning up; send it again to stop at once"),
        "{stderr}"
    );
    assert!(
        stderr.contains("testbed: running scenario 'runner-test'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("testbed: scenario 'runner-test' FAILED"),
        "{stderr}"
    );

    let report = Report::read(&only_report(dir.path())).unwrap();
    assert!(!report.passed);
    assert_eq!(
        report.failures,
        ["the run was interrupted by SIGINT during execute"]
    );
    assert_eq!(
        report.phase(Phase::Execute).unwrap().status,
        PhaseStatus::CutShort
    );
    let cleaned: Vec<(&str, bool)> = report
        .cleanup
        .iter()
        .map(|c| (c.label.as_str(), c.error.is_none()))
        .collect();
    assert_eq!(
        cleaned,
        [("stop validator-1", true), ("stop validator-0", true)]
    );
}

fn libc_sigint() -> i32 {
    Signal::SIGINT as i32
}

fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the child did not exit within {limit:?} of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn only_report(root: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one run directory: {runs:?}");
    runs[0].join("report.json")
}
