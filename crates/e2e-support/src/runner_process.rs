//! A scenario runner in a child process, for tests that signal or kill it:
//! the test binary starts itself again with an environment variable naming
//! the artifact root, the child runs a long scenario whose [`Announce`]
//! workload prints a line once the execute phase began, and the parent
//! waits for that line before it acts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use scenario_core::prelude::*;

/// The line [`Announce`] prints.
pub const EXECUTING: &str = "TESTBED-TEST-RUNNER-EXECUTING";

/// Prints [`EXECUTING`] when the execute phase begins, then waits for the
/// end of the window.
pub struct Announce;

#[async_trait]
impl Workload for Announce {
    fn name(&self) -> &str {
        "announce"
    }

    async fn run(&self, _ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        #[allow(clippy::print_stdout)] // The parent test reads this line.
        {
            println!("{EXECUTING}");
        }
        cancel.cancelled().await;
        Ok(())
    }
}

/// Start this test binary again running only `test`, with `child_env` set to
/// `root`, and wait until its scenario is executing. Returns the child and
/// its run directory (the one directory under `root`).
pub fn start(test: &str, child_env: &str, root: &Path) -> (Child, PathBuf) {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture"])
        .env(child_env, root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test binary starts again");
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let executing = stdout
        .lines()
        .any(|line| line.is_ok_and(|line| line.contains(EXECUTING)));
    assert!(executing, "the child never reached the execute phase");
    (child, run_dir(root))
}

/// The one run directory under `root`.
pub fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("the artifact root")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Wait (at most a minute) for the child to exit.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the runner did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
