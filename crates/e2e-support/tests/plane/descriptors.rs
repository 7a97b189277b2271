//! A partition of minutes under the common default `ulimit -n 1024`: the
//! runner keeps working and its open descriptors do not grow with the
//! fault's duration (on the plane no connection is held per blackholed
//! reconnect). The test starts itself again with the limit set for that
//! process alone.

use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use blockfeed::Feed;
use expectations::{Agreement, Liveness, Recovery};
use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;
use workloads::{Chaos, Selector, TxLoad};

const CHILD_ENV: &str = "TESTBED_TEST_NOFILE_CHILD";
const PASSED: &str = "TESTBED-TEST-NOFILE-RUN-PASSED";
/// The open-file limit the child runs under.
const LIMIT: u64 = 1024;
/// When the partition starts, and how long it holds.
const SPLIT_AT: Duration = Duration::from_secs(15);
const SPLIT_FOR: Duration = Duration::from_secs(180);

/// The most descriptors the process had open before the partition, and
/// during it.
#[derive(Default)]
struct Peaks {
    before: usize,
    during: usize,
}

/// Counts this process's open descriptors every second.
struct CountDescriptors(Arc<Mutex<Peaks>>);

#[async_trait]
impl Workload for CountDescriptors {
    fn name(&self) -> &str {
        "count-descriptors"
    }

    async fn run(&self, _ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let started = tokio::time::Instant::now();
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                _ = every.tick() => {}
            }
            let open = std::fs::read_dir("/proc/self/fd")?.count();
            let elapsed = started.elapsed();
            let mut peaks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if elapsed < SPLIT_AT {
                peaks.before = peaks.before.max(open);
            } else if elapsed < SPLIT_AT + SPLIT_FOR {
                peaks.during = peaks.during.max(open);
            }
        }
    }
}

#[test]
fn a_partition_of_minutes_under_ulimit_1024_keeps_the_runners_descriptors_bounded() {
    if std::env::var_os(CHILD_ENV).is_some() {
        run_limited();
        return;
    }
    if netplane::probe::probe().is_err() {
        // Says why it skips (or fails under TESTBED_REQUIRE_NETNS=1),
        // without lowering this shared test process's limit.
        let skipped = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(crate::support::Backend::Local.deployer("long partition"));
        assert!(skipped.is_none());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let test = "descriptors::a_partition_of_minutes_under_ulimit_1024_keeps_the_runners_descriptors_bounded";
    let output = Command::new(exe)
        .args([test, "--exact", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("the test binary starts again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(PASSED),
        "the run under ulimit -n {LIMIT} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let figures = stdout
        .lines()
        .find(|line| line.contains(PASSED))
        .unwrap_or_default();
    eprintln!("{figures}");
}

/// In the child: the limit set for this process, then the long partition.
fn run_limited() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    setrlimit(Resource::RLIMIT_NOFILE, LIMIT, LIMIT).expect("lower the open-file limit");
    assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap(), (LIMIT, LIMIT));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Some(deployer) = crate::support::Backend::Local.deployer("long partition").await else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let ledger = Ledger::new();
        let peaks = Arc::new(Mutex::new(Peaks::default()));
        let window = SPLIT_AT + SPLIT_FOR + Duration::from_secs(15);
        let plan = e2e_support::scenario("long-partition", 4, 0, window.as_secs(), root.path())
            .block_feed(Feed::new())
            .workload(CountDescriptors(Arc::clone(&peaks)))
            .workload(TxLoad::new(20.0, &ledger))
            .workload(Chaos::new().partition_at(SPLIT_AT, SPLIT_FOR, Selector::Minority))
            .expectation(Agreement)
            .expectation(Liveness::new(3, Duration::from_secs(5)))
            .expectation(Recovery::within(Duration::from_secs(20)))
            .build()
            .unwrap();
        let report = plan.run(&*deployer).await.unwrap();
        assert!(report.passed, "{report}");
        let peaks = peaks.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(peaks.before > 0 && peaks.during > 0);
        // Bounded: a 3-minute fault costs no more descriptors than the
        // run had before it, give or take the load's own connections.
        assert!(
            peaks.during <= peaks.before + 32,
            "descriptors grew during the partition: {} before, {} during",
            peaks.before,
            peaks.during
        );
        #[allow(clippy::print_stdout)] // The parent reads this line.
        {
            println!(
                "{PASSED}: at most {} descriptors open before the {}-s partition, {} during it (limit {LIMIT})",
                peaks.before,
                SPLIT_FOR.as_secs(),
                peaks.during
            );
        }
    });
}
