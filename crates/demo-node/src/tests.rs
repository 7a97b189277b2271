//! The node kind's tests: finding the binary, and what it renders for
//! each node (the seed, misbehaviour switches, discovery and strict
//! membership, and what they require of the deployer).

use super::*;

fn not_found() -> BinaryNotFound {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir
        .path()
        .join("other-workspace/target/debug/deps/my_test-1234");
    let missing = dir.path().join("nowhere/demo-node");
    let error = locate_in(
        Some(missing.clone().into()),
        Some(&exe),
        Some(dir.path().join("bin").as_os_str()),
    )
    .err()
    .unwrap();
    assert_eq!(error.looked_at[0], missing);
    assert_eq!(error.looked_at.len(), 4, "{:?}", error.looked_at);
    error
}

#[test]
fn not_finding_the_binary_names_the_variable_and_the_commands_that_fix_it() {
    let error = not_found();
    let message = error.to_string();
    for needed in [
        "DEMO_NODE_BIN",
        "cargo build -p demo-node",
        "cargo install --path crates/demo-node",
        "which is not a file",
        "other-workspace/target/debug/demo-node",
    ] {
        assert!(
            message.contains(needed),
            "{needed:?} missing from: {message}"
        );
    }
    // `unwrap()` and `fn main() -> Result<..>` print Debug: same words.
    assert_eq!(format!("{error:?}"), message);
}

#[test]
fn the_binary_is_found_through_the_variable_the_target_dir_or_path() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("target/debug/demo-node");
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    std::fs::write(&binary, b"").unwrap();
    let from_env = locate_in(Some(binary.clone().into()), None, None).unwrap();
    assert_eq!(from_env.program(), binary);
    let exe = dir.path().join("target/debug/examples/local_chaos");
    assert_eq!(locate_in(None, Some(&exe), None).unwrap().program(), binary);
    let on_path =
        std::env::join_paths([dir.path().join("bin"), binary.parent().unwrap().into()]).unwrap();
    assert_eq!(
        locate_in(None, None, Some(&on_path)).unwrap().program(),
        binary
    );
    assert!(locate_in(None, None, None).is_err());
}

fn view(id: &str, peers: &[&str]) -> NodeView {
    use scenario_core::{HostPort, NodeSlot, PeerView};
    let at = |port| HostPort::new("127.0.0.1".to_owned(), port);
    let peer_port = |peer: &str| 3000 + peer.rsplit('-').next().unwrap().parse::<u16>().unwrap();
    NodeView {
        slot: NodeSlot {
            id: NodeId::new(id),
            role: Role::Validator,
            index: 0,
            overrides: Default::default(),
        },
        listen: [("api".to_owned(), at(1)), ("p2p".to_owned(), at(2))].into(),
        data_dir: "/tmp/d".to_owned(),
        peers: peers
            .iter()
            .map(|peer| PeerView {
                id: NodeId::new(*peer),
                role: if peer.starts_with("executor") {
                    Role::Executor
                } else {
                    Role::Validator
                },
                addresses: [("p2p".to_owned(), at(peer_port(peer)))].into(),
            })
            .collect(),
    }
}

#[test]
fn the_seed_goes_to_every_node_and_a_misbehaviour_to_its_node_only() {
    let kind = DemoNode::new("/bin/demo-node")
        .seed(42)
        .misbehave("validator-1", Misbehaviour::DropTxs { percent: 4 })
        .misbehave("validator-1", Misbehaviour::NoCatchUp);
    let args = |id, peers| kind.render(&view(id, peers)).unwrap().args;
    let bad = args("validator-1", &["validator-0"]);
    let good = args("validator-0", &["validator-1"]);
    assert!(bad.contains(&"--seed=42".to_owned()) && good.contains(&"--seed=42".to_owned()));
    let misbehaving = |args: &[String]| {
        args.iter()
            .filter(|a| a.starts_with("--misbehave="))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        misbehaving(&bad),
        ["--misbehave=drop-txs=4", "--misbehave=no-catch-up"]
    );
    assert!(misbehaving(&good).is_empty());

    let stray = DemoNode::new("/bin/demo-node")
        .misbehave("validator-9", Misbehaviour::NoCatchUp)
        .render(&view("validator-0", &["validator-1"]))
        .unwrap_err();
    assert_eq!(
        stray.to_string(),
        "DemoNode::misbehave names validator-9, which is not a node of this network"
    );
}

fn flags(args: &[String], prefix: &str) -> Vec<String> {
    args.iter()
        .filter(|a| a.starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn discovery_renders_members_one_bootstrap_and_the_own_address_but_no_peer() {
    let kind = DemoNode::new("/bin/demo-node").discovery();
    let args = |id, peers| kind.render(&view(id, peers)).unwrap().args;
    let first = args(
        "validator-0",
        &["executor-0", "validator-2", "validator-1", "validator-10"],
    );
    assert!(first.contains(&"--discover".to_owned()));
    assert_eq!(flags(&first, "--advertise="), ["--advertise=127.0.0.1:2"]);
    assert_eq!(
        flags(&first, "--bootstrap="),
        ["--bootstrap=127.0.0.1:3001"],
        "validator-0 starts from validator-1"
    );
    assert_eq!(
        flags(&first, "--member="),
        [
            "--member=executor-0=executor",
            "--member=validator-2=validator",
            "--member=validator-1=validator",
            "--member=validator-10=validator",
        ]
    );
    assert!(flags(&first, "--peer").is_empty(), "{first:?}");
    for id in ["validator-3", "executor-0"] {
        let other = args(id, &["validator-1", "validator-0", "executor-1"]);
        assert_eq!(
            flags(&other, "--bootstrap="),
            ["--bootstrap=127.0.0.1:3000"],
            "{id} starts from validator-0"
        );
    }
    assert_eq!(
        flags(&args("validator-0", &[]), "--bootstrap="),
        ["--bootstrap=127.0.0.1:2"],
        "a lone node starts from itself"
    );
    assert!(
        kind.requires().contains(Capability::OneAddressPerNode),
        "learned addresses must reach the node from every peer"
    );
}

#[test]
fn strict_membership_renders_its_flag_the_own_address_and_every_peer() {
    let kind = DemoNode::new("/bin/demo-node").strict_membership();
    let args = kind
        .render(&view("validator-1", &["validator-0", "executor-0"]))
        .unwrap()
        .args;
    assert!(args.contains(&"--strict-membership".to_owned()));
    assert_eq!(flags(&args, "--advertise="), ["--advertise=127.0.0.1:2"]);
    assert_eq!(
        flags(&args, "--peer="),
        [
            "--peer=validator-0=validator@127.0.0.1:3000",
            "--peer=executor-0=executor@127.0.0.1:3000",
        ]
    );
    assert!(flags(&args, "--discover").is_empty());
    assert!(kind.requires().contains(Capability::OneAddressPerNode));
    let plain = DemoNode::new("/bin/demo-node");
    assert_eq!(plain.requires(), Capabilities::none());
    let args = plain
        .render(&view("validator-1", &["validator-0"]))
        .unwrap()
        .args;
    assert!(flags(&args, "--advertise").is_empty() && flags(&args, "--strict").is_empty());
}
