//! The cluster's processes (the five of Kubernetes, its DNS and the optional
//! NetworkPolicy enforcer): their command lines, starting each in the
//! background (own process group, own log file, pid recorded with the
//! program's path) and stopping it by that pid once `/proc` confirms it is
//! still that program.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::State;
use super::build::Binaries;

/// The Debian `etcd-server` package's binary.
const ETCD: &str = "/usr/bin/etcd";

/// Service ClusterIPs come from here; nothing routes them (no kube-proxy).
pub(crate) const SERVICE_CIDR: &str = "10.0.0.0/24";

/// How long a component gets to exit after SIGTERM before SIGKILL.
const STOP_WITHIN: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Etcd,
    Apiserver,
    ControllerManager,
    Scheduler,
    Dns,
    Kubelet,
    /// Optional: `cargo xtask k8s policies on` starts it on a running
    /// cluster; not in [`Component::ALL`].
    PolicyEnforcer,
}

/// What [`stop`] found.
pub(crate) enum Stopped {
    Killed(u32),
    /// Nothing to stop, and why (`None`: no pid was ever recorded).
    NotRunning(Option<String>),
}

impl Component {
    /// In start order; stopped in reverse.
    pub(crate) const ALL: [Component; 6] = [
        Component::Etcd,
        Component::Apiserver,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Dns,
        Component::Kubelet,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::Apiserver => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Dns => "cluster-dns",
            Component::Kubelet => "kubelet",
            Component::PolicyEnforcer => "network-policy",
        }
    }

    fn program(self, bin: &Binaries) -> anyhow::Result<PathBuf> {
        Ok(match self {
            Component::Etcd => PathBuf::from(ETCD),
            // The DNS and the enforcer are this very program (`cargo xtask
            // k8s dns`, `cargo xtask k8s policy-enforcer`).
            Component::Dns | Component::PolicyEnforcer => {
                std::env::current_exe().context("cannot find xtask's own binary")?
            }
            other => bin.path(other.name()),
        })
    }

    fn args(self, state: &State, pause_image: &str) -> anyhow::Result<Vec<String>> {
        let pki = state.pki();
        let p = |file: &str| pki.join(file).display().to_string();
        let kubeconfig = |name: &str| state.component_kubeconfig(name).display().to_string();
        let mut args: Vec<String> = match self {
            Component::Etcd => vec![
                "--name=testbed".into(),
                format!("--data-dir={}", state.etcd_data().display()),
                "--listen-client-urls=http://127.0.0.1:12379".into(),
                "--advertise-client-urls=http://127.0.0.1:12379".into(),
                "--listen-peer-urls=http://127.0.0.1:12380".into(),
                "--initial-advertise-peer-urls=http://127.0.0.1:12380".into(),
                "--initial-cluster=testbed=http://127.0.0.1:12380".into(),
                "--listen-metrics-urls=http://127.0.0.1:12381".into(),
            ],
            Component::Apiserver => vec![
                "--etcd-servers=http://127.0.0.1:12379".into(),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                "--secure-port=6443".into(),
                "--insecure-port=0".into(),
                format!("--tls-cert-file={}", p("apiserver.crt")),
                format!("--tls-private-key-file={}", p("apiserver.key")),
                format!("--cert-dir={}", p("apiserver")),
                format!("--service-account-key-file={}", p("sa.pub")),
                format!("--service-account-signing-key-file={}", p("sa.key")),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--token-auth-file={}", p("tokens.csv")),
                "--authorization-mode=Node,RBAC".into(),
                "--enable-admission-plugins=NodeRestriction".into(),
                "--kubelet-preferred-address-types=Hostname".into(),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                "--allow-privileged=true".into(),
            ],
            Component::ControllerManager => vec![
                format!("--kubeconfig={}", kubeconfig("kube-controller-manager")),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--port=0".into(),
                format!("--service-account-private-key-file={}", p("sa.key")),
                format!("--root-ca-file={}", p("ca.crt")),
                "--use-service-account-credentials=true".into(),
                // Volume claims of the default class get a host directory
                // under /tmp (the in-tree provisioner for one-node clusters).
                "--enable-hostpath-provisioner=true".into(),
            ],
            Component::Scheduler => vec![
                format!("--kubeconfig={}", kubeconfig("kube-scheduler")),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--port=0".into(),
            ],
            Component::Kubelet => {
                let root = state.kubelet_root();
                vec![
                    format!("--kubeconfig={}", kubeconfig("kubelet")),
                    format!("--root-dir={}", root.display()),
                    format!("--cert-dir={}", root.join("pki").display()),
                    format!("--volume-plugin-dir={}", root.join("plugins").display()),
                    // A loopback --node-ip is refused; the name `localhost`
                    // with the apiserver preferring Hostname reaches
                    // 127.0.0.1:10250 for logs, exec and port-forward.
                    "--hostname-override=localhost".into(),
                    "--address=127.0.0.1".into(),
                    "--healthz-bind-address=127.0.0.1".into(),
                    "--read-only-port=0".into(),
                    "--container-runtime=docker".into(),
                    format!("--pod-infra-container-image={pause_image}"),
                    "--cgroup-driver=cgroupfs".into(),
                    "--cgroups-per-qos=false".into(),
                    "--enforce-node-allocatable=".into(),
                    "--fail-swap-on=false".into(),
                    "--eviction-hard=".into(),
                    // Never garbage-collect the developer's local images.
                    "--image-gc-high-threshold=100".into(),
                    "--image-gc-low-threshold=99".into(),
                    // This machine refuses negative oom_score_adj values.
                    "--oom-score-adj=0".into(),
                    // Leave the host's iptables alone.
                    "--make-iptables-util-chains=false".into(),
                    // Pods resolve Service names through the cluster's DNS.
                    format!("--cluster-dns={}", dns_address()?),
                    format!("--cluster-domain={}", super::dns::DOMAIN),
                ]
            }
            Component::Dns => vec![
                "k8s".into(),
                "dns".into(),
                format!("--listen={}:53", dns_address()?),
            ],
            Component::PolicyEnforcer => vec!["k8s".into(), "policy-enforcer".into()],
        };
        if !matches!(
            self,
            Component::Etcd | Component::Dns | Component::PolicyEnforcer
        ) {
            args.push("--v=1".into());
        }
        Ok(args)
    }
}

/// Where the cluster's DNS listens: the address of the Docker bridge
/// (`docker0`), which every pod (on that bridge, there being no CNI)
/// reaches as its gateway.
pub(crate) fn dns_address() -> anyhow::Result<String> {
    let output = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", "docker0"])
        .output()
        .context("cannot run ip")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let address = text
        .split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok());
    match address {
        Some(ip) => Ok(ip.to_owned()),
        None => anyhow::bail!(
            "cannot tell the address of the Docker bridge docker0 (is the engine running?): {}{}",
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

fn pid_file(state: &State, component: Component) -> PathBuf {
    state.pids().join(format!("{}.pid", component.name()))
}

/// Start `component` in the background with its output in its log file,
/// recording its pid and program.
pub(crate) fn start(
    state: &State,
    bin: &Binaries,
    component: Component,
    pause_image: &str,
) -> anyhow::Result<Child> {
    let program = component.program(bin)?;
    let args = component.args(state, pause_image)?;
    spawn(state, component, &program, &args)
}

/// Start the NetworkPolicy enforcer on a running cluster.
pub(crate) fn start_enforcer(state: &State) -> anyhow::Result<Child> {
    let component = Component::PolicyEnforcer;
    let program = std::env::current_exe().context("cannot find xtask's own binary")?;
    let args = component.args(state, "")?;
    spawn(state, component, &program, &args)
}

fn spawn(
    state: &State,
    component: Component,
    program: &Path,
    args: &[String],
) -> anyhow::Result<Child> {
    let log_path = state.log(component.name());
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let child = Command::new(program)
        .args(args)
        .env("KUBECONFIG", state.kubeconfig())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own group: a Ctrl-C on the terminal of `up` does not reach it,
        // and `down` signals the group.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    std::fs::write(
        pid_file(state, component),
        format!("{}\n{}\n", child.id(), program.display()),
    )?;
    println!(
        "k8s: started {} (pid {}, log {})",
        component.name(),
        child.id(),
        log_path.display()
    );
    Ok(child)
}

/// The recorded pid of `component` if that process is alive and still runs
/// the recorded program; otherwise why not.
pub(crate) fn running_pid(state: &State, component: Component) -> Result<u32, String> {
    let file = pid_file(state, component);
    let text = std::fs::read_to_string(&file).map_err(|_| "no pid recorded".to_owned())?;
    let mut lines = text.lines();
    let pid: u32 = lines
        .next()
        .and_then(|line| line.trim().parse().ok())
        .ok_or_else(|| format!("unreadable {}", file.display()))?;
    let program = lines.next().unwrap_or_default();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let exe = std::fs::read_link(proc_dir.join("exe")).map_err(|_| format!("pid {pid} is gone"))?;
    let exe = exe.to_string_lossy();
    let exe = exe.trim_end_matches(" (deleted)");
    if Path::new(exe) != Path::new(program) {
        return Err(format!("pid {pid} now runs {exe}, not {program}"));
    }
    if is_zombie(&proc_dir) {
        return Err(format!("pid {pid} has exited"));
    }
    Ok(pid)
}

fn is_zombie(proc_dir: &Path) -> bool {
    std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| {
        // `pid (comm) S ...`: the state follows the last `)`.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Stop `component` by its recorded pid: SIGTERM to its process group, then
/// SIGKILL after [`STOP_WITHIN`]. Forgets the pid either way.
pub(crate) fn stop(state: &State, component: Component) -> anyhow::Result<Stopped> {
    let file = pid_file(state, component);
    if !file.exists() {
        return Ok(Stopped::NotRunning(None));
    }
    let pid = match running_pid(state, component) {
        Ok(pid) => pid,
        Err(reason) => {
            std::fs::remove_file(&file)?;
            return Ok(Stopped::NotRunning(Some(reason)));
        }
    };
    let group = Pid::from_raw(i32::try_from(pid)?);
    killpg(group, Signal::SIGTERM)
        .with_context(|| format!("cannot signal {} (pid {pid})", component.name()))?;
    let deadline = Instant::now() + STOP_WITHIN;
    while running_pid(state, component).is_ok() {
        if Instant::now() > deadline {
            println!(
                "k8s: {} (pid {pid}) ignored SIGTERM for {STOP_WITHIN:?}: SIGKILL",
                component.name()
            );
            // The group may be gone between the check and the signal.
            let _ = killpg(group, Signal::SIGKILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::remove_file(&file)?;
    Ok(Stopped::Killed(pid))
}
