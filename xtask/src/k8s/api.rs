//! Asking the cluster whether it is up: the apiserver's `/readyz` and the
//! node's Ready condition over HTTPS with the admin token (through curl:
//! the workspace has no TLS client and xtask stays lean), and waiting for
//! them with a deadline while watching the started processes.

use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use super::procs::Component;
use super::{State, tail};

/// The apiserver's address.
pub(crate) const SERVER: &str = "https://127.0.0.1:6443";

/// The node the kubelet registers (`--hostname-override`).
pub(crate) const NODE: &str = "localhost";

/// How often a wait asks again.
const POLL: Duration = Duration::from_millis(250);

/// Lines of a component's log shown when it failed.
const TAIL_LINES: usize = 30;

/// GET `path` from the apiserver as the admin: the status code and body.
fn get(state: &State, path: &str) -> anyhow::Result<(u16, String)> {
    request(state, path, None)
}

/// POST `body` (JSON) to `path` as the admin: the status code and body.
fn post(state: &State, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
    request(state, path, Some(body))
}

/// GET `path`, or POST `body` to it, as the admin.
fn request(state: &State, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
    let pki = state.pki();
    let mut curl = Command::new("curl");
    curl.arg("--silent")
        .arg("--show-error")
        .args(["--max-time", "5"])
        .arg("--cacert")
        .arg(pki.join("ca.crt"))
        // The token from a file, so it shows in no process list.
        .arg("--header")
        .arg(format!("@{}", pki.join("admin.header").display()))
        .args(["--write-out", "\n%{http_code}"]);
    if let Some(body) = body {
        curl.args([
            "--request",
            "POST",
            "--header",
            "Content-Type: application/json",
        ])
        .args(["--data-binary", body]);
    }
    let output = curl
        .arg(format!("{SERVER}{path}"))
        .output()
        .context("cannot run curl")?;
    if !output.status.success() {
        bail!(
            "{SERVER}{path}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (answer, code) = text
        .rsplit_once('\n')
        .ok_or_else(|| anyhow!("{SERVER}{path}: no status code from curl"))?;
    Ok((code.trim().parse()?, answer.to_owned()))
}

/// The name of the default storage class `up` creates.
pub(crate) const STORAGE_CLASS: &str = "testbed-hostpath";

/// Make the default storage class: claims get a directory under /tmp from
/// the controller-manager's in-tree host-path provisioner.
pub(crate) fn ensure_storage_class(state: &State) -> anyhow::Result<()> {
    let class = serde_json::json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": { "storageclass.kubernetes.io/is-default-class": "true" }
        },
        "provisioner": "kubernetes.io/host-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate"
    });
    match post(
        state,
        "/apis/storage.k8s.io/v1/storageclasses",
        &class.to_string(),
    )? {
        (201 | 409, _) => Ok(()),
        (code, body) => bail!(
            "creating storage class {STORAGE_CLASS} answered {code}: {}",
            body.trim()
        ),
    }
}

/// `Ok` when the apiserver answers `/readyz` with 200.
pub(crate) fn readyz(state: &State) -> anyhow::Result<()> {
    match get(state, "/readyz")? {
        (200, _) => Ok(()),
        (code, body) => bail!("/readyz answered {code}: {}", body.trim()),
    }
}

/// Whether the node is registered and its Ready condition is True.
pub(crate) fn node_ready(state: &State) -> anyhow::Result<bool> {
    let (code, body) = get(state, &format!("/api/v1/nodes/{NODE}"))?;
    match code {
        200 => {}
        404 => return Ok(false),
        other => bail!("GET node {NODE} answered {other}: {}", body.trim()),
    }
    let node: serde_json::Value = serde_json::from_str(&body)?;
    let ready = node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    Ok(ready)
}

/// Fail naming any started component that exited, with its log's tail.
fn check_alive(state: &State, running: &mut [(Component, Child)]) -> anyhow::Result<()> {
    for (component, child) in running.iter_mut() {
        if let Some(status) = child.try_wait()? {
            let log = state.log(component.name());
            bail!(
                "{} exited ({status}); the end of {}:\n{}",
                component.name(),
                log.display(),
                tail(&log, TAIL_LINES)
            );
        }
    }
    Ok(())
}

/// Poll `check` until it holds, a started component exits, or `deadline`
/// passes (then blame `waiting_for` and show its log).
fn wait(
    state: &State,
    deadline: Instant,
    running: &mut [(Component, Child)],
    waiting_for: Component,
    what: &str,
    mut check: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        check_alive(state, running)?;
        let last = match check() {
            Ok(true) => {
                println!("k8s: {what} after {:.1} s", started.elapsed().as_secs_f64());
                return Ok(());
            }
            Ok(false) => "not yet".to_owned(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() > deadline {
            let log = state.log(waiting_for.name());
            bail!(
                "{} failed: not {what} in time (last answer: {last}); the end of {}:\n{}",
                waiting_for.name(),
                log.display(),
                tail(&log, TAIL_LINES)
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Wait until something accepts TCP connections on `address`.
pub(crate) fn wait_tcp(
    state: &State,
    address: &str,
    deadline: Instant,
    running: &mut [(Component, Child)],
) -> anyhow::Result<()> {
    let address = address.parse()?;
    wait(
        state,
        deadline,
        running,
        Component::Etcd,
        "etcd listening",
        || Ok(TcpStream::connect_timeout(&address, POLL).is_ok()),
    )
}

/// Wait until the apiserver answers `/readyz` with 200.
pub(crate) fn wait_readyz(
    state: &State,
    deadline: Instant,
    running: &mut [(Component, Child)],
) -> anyhow::Result<()> {
    wait(
        state,
        deadline,
        running,
        Component::Apiserver,
        "apiserver ready",
        || readyz(state).map(|()| true),
    )
}

/// Wait until the node is registered and Ready.
pub(crate) fn wait_node_ready(
    state: &State,
    deadline: Instant,
    running: &mut [(Component, Child)],
) -> anyhow::Result<()> {
    wait(
        state,
        deadline,
        running,
        Component::Kubelet,
        "node Ready",
        || node_ready(state),
    )
}
