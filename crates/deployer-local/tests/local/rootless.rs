//! Without root: a runner inside a user namespace where it is root
//! (`unshare --user --map-root-user --net`, what the plane's probe names as
//! the fix for missing privileges) runs local processes on the network
//! plane, faults and counters included. The test, run as root, starts
//! itself again as `nobody` in such a namespace.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use deployer_local::LocalDeployer;

use crate::plane::IsolateFirst;
use crate::support::scenario;

const CHILD_ENV: &str = "TESTBED_TEST_ROOTLESS_CHILD";
const PASSED: &str = "TESTBED-TEST-ROOTLESS-RUN-PASSED";
/// The unprivileged user the test becomes (`nobody`).
const NOBODY: &str = "65534";

/// Skip with a printed reason, or fail under `TESTBED_REQUIRE_NETNS=1`.
fn skip(why: &str) {
    if std::env::var("TESTBED_REQUIRE_NETNS").as_deref() == Ok("1") {
        panic!("TESTBED_REQUIRE_NETNS=1 but {why}");
    }
    #[allow(clippy::print_stderr)] // The harness shows why a test skipped.
    {
        eprintln!("skipped: {why}");
    }
}

#[test]
fn a_runner_without_root_runs_the_plane_inside_a_user_namespace() {
    if std::env::var_os(CHILD_ENV).is_some() {
        run_unprivileged();
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        skip("the test needs root to start itself as an unprivileged user");
        return;
    }
    let tun = std::fs::metadata("/dev/net/tun").map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode()
    });
    if !tun.is_ok_and(|mode| mode & 0o006 == 0o006) {
        skip(
            "/dev/net/tun is not open to every user (`chmod 0666 /dev/net/tun`, most \
             distributions' default; .ci/run sets it)",
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let test = "rootless::a_runner_without_root_runs_the_plane_inside_a_user_namespace";
    let demo_node = e2e_support::demo_node().program().to_path_buf();
    let output = Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "--",
        ])
        .arg(&exe)
        .args([test, "--exact", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env(demo_node::BIN_ENV, &demo_node)
        .current_dir(Path::new("/"))
        .output()
        .expect("setpriv and unshare (util-linux) start");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(PASSED),
        "the unprivileged run failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// In the child: `nobody` on the machine, root only in its namespace.
fn run_unprivileged() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "root inside the namespace"
    );
    assert_ne!(netplane::outer_uid(), 0, "not root on the machine");
    netplane::probe::probe().expect("the plane runs in a user namespace");
    let root = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(async {
        scenario("rootless", 3, 0, 5, root.path())
            .workload(IsolateFirst)
            .build()
            .unwrap()
            .run(&LocalDeployer::new().ready_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
    });
    assert!(report.passed, "{report}");
    let effect = report.faults[0].effect.expect("the plane counts packets");
    assert!(effect.dropped_packets > 0, "{effect:?}");
    #[allow(clippy::print_stdout)] // The parent reads this line.
    {
        println!(
            "{PASSED}: the partition dropped {} packets",
            effect.dropped_packets
        );
    }
}
