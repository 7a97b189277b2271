//! `testbed doctor [--on local|compose|k8s] [FILE]`: checks the machine
//! before a run and gives a fix for each problem: the network plane's
//! privileges and kernel features, the Docker engine and its API version,
//! the Kubernetes cluster and permissions, the open-file limit against the
//! topology, free disk where the artifacts go, and the node program or
//! image.

mod kubernetes;

use std::path::{Path, PathBuf};

use testbed::compose as compose_deployer;
use testbed_cli::file::{self, model::NodeTable};

use crate::{Backend, exit};

/// Free disk below this is a problem (node logs and data of a long run).
const DISK_AT_LEAST_MIB: u64 = 1024;

/// One finding: what was checked, and the problem with its fix if any.
struct Finding {
    what: String,
    problem: Option<(String, String)>,
}

fn ok(what: impl Into<String>) -> Finding {
    Finding {
        what: what.into(),
        problem: None,
    }
}

fn problem(what: impl Into<String>, why: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        what: what.into(),
        problem: Some((why.into(), fix.into())),
    }
}

pub(crate) fn run(on: Backend, path: Option<&Path>) -> u8 {
    let scenario = match path.map(file::load).transpose() {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("testbed: {error}");
            return exit::BAD_PLAN;
        }
    };
    let nodes = scenario
        .as_ref()
        .map_or(5, |s| s.topology.validators + s.topology.executors);
    let mut findings = vec![open_files(nodes), disk()];
    if !matches!(on, Backend::K8s) {
        findings.insert(0, network_plane());
    }
    match on {
        Backend::K8s => findings.extend(kubernetes::check()),
        Backend::Local => {
            let dir = path.and_then(Path::parent).unwrap_or(Path::new("."));
            findings.push(program(scenario.as_ref().map(|s| &s.node), dir));
        }
        Backend::Compose => {
            if let Some(NodeTable::Command(node)) = scenario.as_ref().map(|s| &s.node)
                && node.image.is_none()
            {
                findings.push(problem(
                    "node image",
                    "the command node has no `image`, which Docker runs need",
                    "build an image of your node and name it in the file's [node] table",
                ));
                return report(&findings);
            }
            let image = match scenario.as_ref().map(|s| &s.node) {
                Some(NodeTable::DemoNode {
                    image: Some(image), ..
                }) => image.clone(),
                Some(NodeTable::Command(node)) if node.image.is_some() => {
                    node.image.clone().unwrap_or_default()
                }
                _ => demo_node::DEFAULT_IMAGE.to_owned(),
            };
            findings.extend(docker(&image));
        }
    }
    report(&findings)
}

/// Print the findings; the exit code they make.
fn report(findings: &[Finding]) -> u8 {
    let mut problems = 0;
    for finding in findings {
        match &finding.problem {
            None => println!("ok       {}", finding.what),
            Some((why, fix)) => {
                problems += 1;
                println!("PROBLEM  {}: {why}\n         fix: {fix}", finding.what);
            }
        }
    }
    if problems == 0 {
        println!("doctor: this machine can run it");
        exit::PASSED
    } else {
        println!("doctor: {problems} problem(s)");
        exit::ENVIRONMENT
    }
}

fn network_plane() -> Finding {
    match testbed::local::network_plane::probe() {
        Ok(()) => ok("network plane: privileges, /dev/net/tun, network namespaces"),
        Err(unavailable) => problem(
            "network plane",
            format!("missing {} ({})", unavailable.missing, unavailable.detail),
            unavailable.missing.fix(),
        ),
    }
}

/// The soft open-file limit, from `/proc/self/limits`.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn open_files(nodes: usize) -> Finding {
    // The runner holds a few descriptors per node (clients, logs, the
    // plane's devices and fronts) and a base of its own.
    let needed = 64 + 16 * nodes as u64;
    match open_file_limit() {
        Some(limit) if limit >= needed => ok(format!(
            "open-file limit {limit} (about {needed} needed for {nodes} nodes)"
        )),
        Some(limit) => problem(
            "open-file limit",
            format!("{limit}, below the about {needed} that {nodes} nodes need"),
            format!("raise it: `ulimit -n {}`", needed.next_power_of_two()),
        ),
        None => problem(
            "open-file limit",
            "cannot read /proc/self/limits",
            "run on Linux with /proc mounted",
        ),
    }
}

fn disk() -> Finding {
    let root =
        std::env::var_os("TESTBED_ARTIFACTS_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let existing = root
        .ancestors()
        .find(|dir| dir.exists())
        .unwrap_or(Path::new("."));
    match nix::sys::statvfs::statvfs(existing) {
        Ok(stats) => {
            let free_mib = stats.blocks_available() * stats.fragment_size() / (1024 * 1024);
            if free_mib >= DISK_AT_LEAST_MIB {
                ok(format!(
                    "free disk {free_mib} MiB at {}",
                    existing.display()
                ))
            } else {
                problem(
                    "free disk",
                    format!("{free_mib} MiB at {}", existing.display()),
                    format!(
                        "free space, or point TESTBED_ARTIFACTS_DIR at a disk with at least {DISK_AT_LEAST_MIB} MiB"
                    ),
                )
            }
        }
        Err(error) => problem(
            "free disk",
            format!("cannot stat {}: {error}", existing.display()),
            "point TESTBED_ARTIFACTS_DIR at a writable directory",
        ),
    }
}

fn program(node: Option<&NodeTable>, dir: &Path) -> Finding {
    let named = match node {
        Some(NodeTable::DemoNode { program, .. }) => program.as_ref(),
        Some(NodeTable::Command(command)) => match &command.program {
            Some(program) => Some(program),
            None => {
                return problem(
                    "node program",
                    "the command node has no `program`, which local runs need",
                    "give its path in the file's [node] table (an `image` serves Docker runs only)",
                );
            }
        },
        None => None,
    };
    match named.map(|program| (program, file::build::resolve_program(program, dir))) {
        Some((_, Ok(program))) if program.is_file() => {
            ok(format!("node program {}", program.display()))
        }
        Some((_, Ok(program))) => problem(
            format!("node program {}", program.display()),
            "not found",
            "build it, or fix `program` in the file's [node] table",
        ),
        Some((program, Err(why))) => problem(
            format!("node program {program}"),
            why,
            "build it, give its path in the file's [node] table, or put it on PATH",
        ),
        None => match demo_node::DemoNode::locate() {
            Ok(node) => ok(format!("node program {}", node.program().display())),
            Err(error) => problem(
                "node program demo-node",
                error.to_string(),
                format!(
                    "build it (`cargo build -p demo-node`, or `cargo install --path crates/demo-node`) or set {} to its path",
                    demo_node::BIN_ENV
                ),
            ),
        },
    }
}

fn docker(image: &str) -> Vec<Finding> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return vec![problem("Docker", error.to_string(), "retry")],
    };
    runtime.block_on(async {
        let docker = match compose_deployer::connect(None).await {
            Ok(docker) => docker,
            Err(error) => {
                return vec![problem(
                    "Docker engine",
                    error.to_string(),
                    "start the engine (`systemctl start docker`, or `dockerd`), or point DOCKER_HOST at one that answers",
                )];
            }
        };
        let version = docker.version().await.ok();
        let engine = ok(format!(
            "Docker engine {} (API {}) at {}",
            version.as_ref().and_then(|v| v.version.clone()).unwrap_or_default(),
            version
                .as_ref()
                .and_then(|v| v.api_version.clone())
                .unwrap_or_default(),
            compose_deployer::engine_address(None)
        ));
        let image_found = match docker.inspect_image(image).await {
            Ok(_) => ok(format!("image {image}")),
            Err(_) => problem(
                format!("image {image}"),
                "not in the engine (no registry is asked: images are built locally)",
                if image == demo_node::DEFAULT_IMAGE {
                    "build it: `cargo xtask image`".to_owned()
                } else {
                    format!("build or load {image} into this engine")
                },
            ),
        };
        vec![engine, image_found]
    })
}
