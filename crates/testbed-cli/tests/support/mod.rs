//! What the `testbed` binary's end-to-end tests share: running the real
//! binary with its artifacts and run list in a temporary place, one real
//! network at a time, and reading what it printed.

#![allow(dead_code)] // Each test target uses its own part.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs of real networks take the machine's cores: one at a time.
pub(crate) static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn one_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios")
}

/// Run `testbed` with these arguments, its artifacts under `artifacts`
/// and its list of runs in `artifacts/.state`.
pub(crate) fn testbed(args: &[&str], artifacts: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args(args)
        .env("TESTBED_ARTIFACTS_DIR", artifacts)
        .env("XDG_STATE_HOME", artifacts.join(".state"))
        .output()
        .expect("the testbed binary starts")
}

/// A temporary directory with an `artifacts` directory in it.
pub(crate) fn place() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let artifacts = root.path().join("artifacts");
    std::fs::create_dir(&artifacts).unwrap();
    (root, artifacts)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report a run printed the path of.
pub(crate) fn report_of(stdout: &str) -> serde_json::Value {
    let path = stdout
        .lines()
        .find_map(|line| line.strip_prefix("report.json: "))
        .expect("the report's path is printed");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Put the fault agent's image (`testbed-agent` of this build, which
/// `cargo test --workspace` builds next to the test binaries), for
/// Kubernetes runs with network faults and `doctor --on k8s`, into the
/// Docker engine `docker` is.
pub(crate) async fn build_agent_image(docker: &testbed::compose::bollard::Docker) {
    let exe = std::env::current_exe().expect("the test binary");
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("testbed-agent");
    assert!(
        binary.is_file(),
        "{} is missing: cargo build -p k8s-agent",
        binary.display()
    );
    testbed::compose::image::ImageBuilder::new(binary, testbed::k8s::DEFAULT_AGENT_IMAGE)
        .build(docker)
        .await
        .expect("the fault agent's image builds");
}

/// Put this build's demo-node image into the Docker engine `docker` is.
pub(crate) async fn build_demo_image(docker: &testbed::compose::bollard::Docker) {
    let program = demo_node::DemoNode::locate()
        .expect("cargo builds demo-node for the workspace's tests")
        .program()
        .to_path_buf();
    testbed::compose::image::ImageBuilder::new(program, demo_node::DEFAULT_IMAGE)
        .build(docker)
        .await
        .expect("the demo-node image builds");
}
