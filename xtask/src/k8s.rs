//! `cargo xtask k8s up | down | status`: a real single-node Kubernetes 1.20
//! on 127.0.0.1 of this machine (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and a kubelet on the local Docker
//! engine), built from Debian's `kubernetes` source package and cached per
//! machine. docs/src/k8s-cluster.md says what it is and is not.
//!
//! Modules: [`build`] (packages, source, verified cache, pause image),
//! [`auth`] (certificates, tokens, kubeconfigs), [`procs`] (starting and
//! stopping the components by pid), [`api`] (asking the apiserver),
//! [`leftovers`] (the pods' containers and mounts the kubelet leaves),
//! [`dns`] (the cluster DNS), [`netpol`] (the optional NetworkPolicy
//! enforcer).

mod api;
mod auth;
mod build;
mod dns;
mod leftovers;
mod netpol;
mod procs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;

use procs::Component;

/// What `cargo xtask k8s` does.
#[derive(clap::Subcommand)]
pub(crate) enum Action {
    /// Build (once per machine) and start the cluster, wait until the node is
    /// Ready and print the KUBECONFIG to use. Says so when it already runs.
    Up,
    /// Stop every component by pid and remove the pods' containers the
    /// kubelet left in Docker.
    Down,
    /// Whether each component runs, the apiserver answers and the node is
    /// Ready; exits non-zero unless all of it is up.
    Status,
    /// Enforce NetworkPolicy on the running cluster (`on`), or stop
    /// enforcing it (`off`, also done by `down`). Off by default: the
    /// cluster then stores policies and ignores them, as one without a
    /// network plugin does.
    Policies {
        /// `on` or `off`.
        switch: Switch,
    },
    /// The NetworkPolicy enforcer (started by `policies on`; not for use
    /// by hand).
    #[command(hide = true)]
    PolicyEnforcer,
    /// The cluster's DNS (started by `up`; not for use by hand).
    #[command(hide = true)]
    Dns {
        /// Where to answer, e.g. 172.17.0.1:53.
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

/// `on` or `off`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Switch {
    On,
    Off,
}

/// Where the built binaries are cached, one directory per source version.
pub(crate) const CACHE_DIR: &str = "/var/cache/testbed-k8s";

/// Where a running cluster keeps its pids, logs, certificates, kubeconfig
/// and data. One cluster per machine (its ports are fixed), so one state
/// directory per machine, outside any work tree (the kubelet mounts pod
/// volumes under it).
pub(crate) const STATE_DIR: &str = "/var/lib/testbed-k8s";

/// How long `up` waits for the apiserver, then for the node.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The files of a cluster's state directory.
pub(crate) struct State {
    pub(crate) root: PathBuf,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            root: PathBuf::from(STATE_DIR),
        }
    }
    pub(crate) fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }
    pub(crate) fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub(crate) fn pids(&self) -> PathBuf {
        self.root.join("pids")
    }
    pub(crate) fn etcd_data(&self) -> PathBuf {
        self.root.join("etcd")
    }
    pub(crate) fn kubelet_root(&self) -> PathBuf {
        self.root.join("kubelet")
    }
    /// The admin kubeconfig printed for users.
    pub(crate) fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    /// A component's own kubeconfig (its own token and identity).
    pub(crate) fn component_kubeconfig(&self, name: &str) -> PathBuf {
        self.pki().join(format!("{name}.kubeconfig"))
    }
    pub(crate) fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }
}

pub(crate) fn run(action: &Action) -> anyhow::Result<()> {
    let state = State::new();
    match action {
        Action::Up => up(&state),
        Action::Down => down(&state),
        Action::Status => status(&state),
        Action::Dns { listen } => dns::serve(*listen),
        Action::Policies { switch: Switch::On } => policies_on(&state),
        Action::Policies {
            switch: Switch::Off,
        } => policies_off(&state, true),
        Action::PolicyEnforcer => netpol::serve(),
    }
}

fn up(state: &State) -> anyhow::Result<()> {
    let started = Instant::now();
    if state.kubeconfig().exists() && api::node_ready(state).unwrap_or(false) {
        println!("k8s: the cluster already runs and its node is Ready");
        print_usage(state);
        return Ok(());
    }
    // Whatever a previous, broken `up` left running goes first.
    stop_all(state, false)?;
    let bin = build::ensure_binaries()?;
    let pause_image = build::ensure_pause_image(&bin)?;
    std::fs::create_dir_all(state.logs())?;
    std::fs::create_dir_all(state.pids())?;
    auth::ensure(state)?;
    // Each `up` starts from an empty cluster: a fresh etcd and kubelet dir.
    leftovers::unmount_under(&state.kubelet_root())?;
    for dir in [state.etcd_data(), state.kubelet_root()] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let deadline = Instant::now() + READY_WITHIN;
    let mut running = Vec::new();
    for component in Component::ALL {
        let child = procs::start(state, &bin, component, &pause_image)?;
        running.push((component, child));
        let ready = match component {
            Component::Etcd => api::wait_tcp(state, "127.0.0.1:12379", deadline, &mut running),
            Component::Apiserver => api::wait_readyz(state, deadline, &mut running),
            _ => Ok(()),
        };
        if let Err(e) = ready {
            return Err(e.context("k8s up failed: `cargo xtask k8s down` stops what started"));
        }
    }
    if let Err(e) = api::wait_node_ready(state, deadline, &mut running) {
        return Err(e.context("k8s up failed: `cargo xtask k8s down` stops what started"));
    }
    api::ensure_storage_class(state)?;
    println!(
        "k8s: up in {:.1} s (logs in {})",
        started.elapsed().as_secs_f64(),
        state.logs().display()
    );
    print_usage(state);
    Ok(())
}

/// How long `policies on` waits for the enforcer's first rules.
const ENFORCER_READY_WITHIN: Duration = Duration::from_secs(30);

fn policies_on(state: &State) -> anyhow::Result<()> {
    if let Ok(pid) = procs::running_pid(state, Component::PolicyEnforcer) {
        println!("k8s: NetworkPolicy is already enforced (pid {pid})");
        return Ok(());
    }
    if !api::node_ready(state).unwrap_or(false) {
        bail!("the cluster is not up: `cargo xtask k8s up` first");
    }
    let mut child = procs::start_enforcer(state)?;
    let log = state.log(Component::PolicyEnforcer.name());
    let deadline = Instant::now() + ENFORCER_READY_WITHIN;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().any(|line| line == netpol::READY_LINE) {
            println!("k8s: NetworkPolicy enforced (`cargo xtask k8s policies off` stops it)");
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the NetworkPolicy enforcer exited ({status}):\n{}",
                tail(&log, 20)
            );
        }
        if Instant::now() > deadline {
            procs::stop(state, Component::PolicyEnforcer)?;
            bail!(
                "the NetworkPolicy enforcer did not start within {ENFORCER_READY_WITHIN:?}:\n{}",
                tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stop the enforcer and remove its table (whatever a killed enforcer left).
fn policies_off(state: &State, verbose: bool) -> anyhow::Result<()> {
    let stopped = procs::stop(state, Component::PolicyEnforcer)?;
    // Never started (no pid recorded): no table, and `nft` may be absent.
    if verbose || !matches!(stopped, procs::Stopped::NotRunning(None)) {
        netpol::remove_table()?;
    }
    if verbose || matches!(stopped, procs::Stopped::Killed(_)) {
        println!("k8s: NetworkPolicy no longer enforced");
    }
    Ok(())
}

fn print_usage(state: &State) {
    let kubeconfig = state.kubeconfig();
    println!(
        "\nexport KUBECONFIG={}\n\n\
         Any Kubernetes client uses it (kube-rs: `Client::try_default()`; \
         kubectl from Debian's kubernetes-client). \
         Images must be in the local Docker engine (imagePullPolicy: Never): \
         nothing is pulled. `cargo xtask k8s down` stops it.",
        kubeconfig.display()
    );
}

fn down(state: &State) -> anyhow::Result<()> {
    let started = Instant::now();
    stop_all(state, true)?;
    println!("k8s: down in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Stop every recorded component (the kubelet first), remove the pods'
/// containers and unmount what the kubelet mounted. `verbose` says what
/// was found even when nothing was.
fn stop_all(state: &State, verbose: bool) -> anyhow::Result<()> {
    policies_off(state, false)?;
    for component in Component::ALL.iter().rev() {
        match procs::stop(state, *component)? {
            procs::Stopped::Killed(pid) => {
                println!("k8s: stopped {} (pid {pid})", component.name())
            }
            procs::Stopped::NotRunning(Some(reason)) if verbose => {
                println!("k8s: {} was not running ({reason})", component.name());
            }
            procs::Stopped::NotRunning(_) => {}
        }
    }
    let removed = leftovers::remove_pod_containers()?;
    if verbose || !removed.is_empty() {
        println!(
            "k8s: removed {} pod container(s) left in Docker{}",
            removed.len(),
            if removed.is_empty() {
                String::new()
            } else {
                format!(": {}", removed.join(", "))
            }
        );
    }
    let unmounted = leftovers::unmount_under(&state.kubelet_root())?;
    if verbose || !unmounted.is_empty() {
        println!("k8s: unmounted {} kubelet volume(s)", unmounted.len());
    }
    Ok(())
}

fn status(state: &State) -> anyhow::Result<()> {
    let mut all_up = true;
    for component in Component::ALL {
        match procs::running_pid(state, component) {
            Ok(pid) => println!("{:<24} running (pid {pid})", component.name()),
            Err(reason) => {
                all_up = false;
                println!("{:<24} not running ({reason})", component.name());
            }
        }
    }
    match procs::running_pid(state, Component::PolicyEnforcer) {
        Ok(pid) => println!("{:<24} enforcing (pid {pid})", "network-policy"),
        Err(_) => println!(
            "{:<24} off (policies stored, not enforced)",
            "network-policy"
        ),
    }
    match api::readyz(state) {
        Ok(()) => println!("{:<24} answers /readyz", "apiserver"),
        Err(e) => {
            all_up = false;
            println!("{:<24} does not answer: {e:#}", "apiserver");
        }
    }
    match api::node_ready(state) {
        Ok(true) => println!("{:<24} Ready", "node localhost"),
        Ok(false) => {
            all_up = false;
            println!("{:<24} not Ready", "node localhost");
        }
        Err(e) => {
            all_up = false;
            println!("{:<24} unknown: {e:#}", "node localhost");
        }
    }
    if !all_up {
        println!("\nk8s: the cluster is not (fully) up");
        std::process::exit(1);
    }
    println!("\nKUBECONFIG={}", state.kubeconfig().display());
    Ok(())
}

/// The last `lines` lines of a log file, for failure messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Run `command`, its output captured; on failure its stderr in the error.
pub(crate) fn checked(command: &mut std::process::Command) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed ({}):\n{}{}",
            command
                .get_args()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
