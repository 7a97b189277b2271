//! Launch specs: overrides, checks, ports asked by name, host formatting.

use super::*;
use crate::NodeOverride;

#[test]
fn overrides_replace_software_and_extend_args_and_env() {
    let spec = LaunchSpec::program("/bin/new")
        .image("node:new")
        .arg("--a")
        .env("X", "1")
        .with_override(
            &NodeOverride::new()
                .program("/bin/old")
                .image("node:old")
                .arg("--b")
                .env("X", "2")
                .env("Y", "3"),
        );
    assert_eq!(spec.program, Some(PathBuf::from("/bin/old")));
    assert_eq!(spec.image.as_deref(), Some("node:old"));
    assert_eq!(spec.args, ["--a", "--b"]);
    assert_eq!(spec.env["X"], "2");
    assert_eq!(spec.env["Y"], "3");
}

#[test]
fn launch_files_outside_the_data_dir_and_undeclared_probe_ports_are_problems() {
    let ports = [PortSpec::api("api", 80)];
    let escaping = LaunchSpec::program("/bin/x").file("../etc/passwd", "x");
    assert_eq!(
        escaping.check(&ports),
        Err(LaunchProblem::FileOutsideDataDir(
            "../etc/passwd".to_owned()
        ))
    );
    let absolute = LaunchSpec::program("/bin/x").file("/tmp/x", "x");
    assert!(absolute.check(&ports).is_err());
    let typo = LaunchSpec::program("/bin/x").readiness(Readiness::http("apii", "/"));
    assert_eq!(
        typo.check(&ports).unwrap_err().to_string(),
        "the readiness probe uses port 'apii', which is not one of the node kind's ports (api)"
    );
    let fine = LaunchSpec::program("/bin/x").file("conf/node.toml", "x");
    assert_eq!(fine.check(&ports), Ok(()));
    assert_eq!(fine.require_image(), Err(LaunchProblem::NoImage));
}

#[test]
fn an_undeclared_port_is_an_error_naming_the_node_and_the_ports() {
    let view = NodeView {
        slot: crate::Topology::new().validators(1).slots().remove(0),
        listen: BTreeMap::from([("api".to_owned(), HostPort::new("127.0.0.1", 1))]),
        data_dir: "/data".to_owned(),
        peers: Vec::new(),
    };
    assert_eq!(view.listen("api").unwrap().port, 1);
    assert_eq!(
        view.listen("apii").unwrap_err().to_string(),
        "validator-0: port 'apii' is not one of the node kind's ports (api)"
    );
}

#[test]
fn ipv6_hosts_are_bracketed() {
    assert_eq!(HostPort::new("::1", 80).to_string(), "[::1]:80");
    assert_eq!(HostPort::new("node-0", 80).to_string(), "node-0:80");
}
