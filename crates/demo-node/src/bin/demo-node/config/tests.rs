//! The configuration's tests: defaults, each bad setting named, the file
//! under the flags, misbehaviour switches and the seed.

use super::*;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["demo-node"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

const BASE: [&str; 8] = [
    "--node-id",
    "validator-0",
    "--role",
    "validator",
    "--api-listen",
    "127.0.0.1:1",
    "--p2p-listen",
    "127.0.0.1:2",
];

fn with(extra: &[&str]) -> Result<Config, String> {
    let mut args = BASE.to_vec();
    args.extend_from_slice(&["--data-dir", "/tmp/x"]);
    args.extend_from_slice(extra);
    resolve(cli(&args), FileConfig::default())
}

#[test]
fn a_minimal_validator_config_gets_defaults() {
    let config = with(&["--peer", "executor-0=executor@localhost:9"]).unwrap();
    assert_eq!(config.block_time, Duration::from_millis(500));
    assert_eq!(config.validators(), ["validator-0"]);
    assert_eq!(config.executors(), ["executor-0"]);
}

#[test]
fn each_bad_setting_is_named() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--block-time-ms", "0"],
            "--block-time-ms must be between 10 and 60000 (got 0)",
        ),
        (
            &["--peer", "nonsense"],
            "--peer must look like id=role@host:port",
        ),
        (
            &["--peer", "x=leader@h:1"],
            "the role must be validator or executor",
        ),
        (
            &["--peer", "validator-0=validator@h:1"],
            "a node cannot be its own peer",
        ),
        (
            &["--heartbeat-ms", "400"],
            "--election-timeout-ms must be between 1200",
        ),
    ];
    for (extra, expected) in cases {
        let error = with(extra).unwrap_err();
        assert!(
            error.contains(expected),
            "{error:?} should contain {expected:?}"
        );
    }
    let missing = resolve(cli(&BASE), FileConfig::default()).unwrap_err();
    assert_eq!(missing, "--data-dir is required");
}

#[test]
fn flags_override_the_file() {
    let file: FileConfig = serde_json::from_str(
        r#"{"node_id": "validator-0", "role": "validator", "api_listen": "127.0.0.1:1",
            "p2p_listen": "127.0.0.1:2", "data_dir": "/tmp/d", "block_time_ms": 200}"#,
    )
    .unwrap();
    let config = resolve(cli(&["--block-time-ms", "300"]), file).unwrap();
    assert_eq!(config.block_time, Duration::from_millis(300));
    let unknown = serde_json::from_str::<FileConfig>(r#"{"block_tme_ms": 1}"#).unwrap_err();
    assert!(unknown.to_string().contains("unknown field `block_tme_ms`"));
}

#[test]
fn misbehaviour_and_seed_come_from_flags_or_the_file_and_a_repeated_flag_takes_its_last_value() {
    let config = with(&[
        "--election-timeout-ms=900",
        "--election-timeout-ms=3000",
        "--misbehave",
        "drop-txs=4",
        "--misbehave=no-catch-up",
        "--seed=7",
    ])
    .unwrap();
    assert_eq!(config.election_timeout, Duration::from_millis(3000));
    assert_eq!(config.misbehave.drop_txs_percent, 4);
    assert!(config.misbehave.no_catch_up);
    assert_eq!(config.seed, Some(7));
    assert!(!with(&[]).unwrap().misbehave.any());

    let file: FileConfig =
        serde_json::from_str(r#"{"misbehave": ["fork-at=3"], "seed": 9}"#).unwrap();
    let mut args = BASE.to_vec();
    args.extend_from_slice(&["--data-dir", "/tmp/x"]);
    let config = resolve(cli(&args), file).unwrap();
    assert_eq!(config.misbehave.fork_at, Some(3));
    assert_eq!(config.seed, Some(9));

    let error = with(&["--misbehave=drop-txs=101"]).unwrap_err();
    assert!(
        error.contains("drop-txs must be between 1 and 100"),
        "{error}"
    );
}

#[test]
fn discovery_needs_members_a_bootstrap_and_an_advertised_address() {
    let config = with(&[
        "--discover",
        "--member=validator-1=validator",
        "--member",
        "executor-0=executor",
        "--bootstrap=node-1:9000",
        "--advertise=10.0.0.1:9000",
    ])
    .unwrap();
    assert_eq!(config.validators(), ["validator-0", "validator-1"]);
    assert_eq!(config.executors(), ["executor-0"]);
    assert!(config.peers.iter().all(|p| p.address.is_none()));
    assert_eq!(config.bootstrap.as_deref(), Some("node-1:9000"));
    assert_eq!(config.advertise.as_deref(), Some("10.0.0.1:9000"));
    assert_eq!(config.udp_interval, Duration::from_millis(250));

    let member = "--member=validator-1=validator";
    let (boot, adv) = ("--bootstrap=h:1", "--advertise=h:2");
    let cases: [(&[&str], &str); 9] = [
        (&["--discover", member, adv], "--discover needs --bootstrap"),
        (
            &["--discover", member, boot],
            "--discover needs --advertise",
        ),
        (&[member], "--member needs --discover"),
        (&["--bootstrap=h:1"], "--bootstrap needs --discover"),
        (
            &["--discover", member, boot, adv, "--peer=v=validator@h:3"],
            "--peer cannot be combined with --discover",
        ),
        (
            &["--discover", "--member=v@x", boot, adv],
            "--member must look like id=role",
        ),
        (
            &["--discover", "--member=validator-0=validator", boot, adv],
            "--member validator-0: a node cannot be its own peer",
        ),
        (
            &["--discover", member, "--bootstrap=nowhere", adv],
            "--bootstrap must be a host and port",
        ),
        (
            &["--udp-interval-ms=0"],
            "--udp-interval-ms must be between 10 and 60000",
        ),
    ];
    for (extra, expected) in cases {
        let error = with(extra).unwrap_err();
        assert!(
            error.contains(expected),
            "{extra:?}: {error:?} should contain {expected:?}"
        );
    }
}

#[test]
fn strict_membership_needs_an_advertised_address_and_configured_peers() {
    let peer = "--peer=validator-1=validator@127.0.0.1:9";
    let config = with(&["--strict-membership", "--advertise=127.0.0.1:2", peer]).unwrap();
    assert!(config.strict_membership);
    let cases: [(&[&str], &str); 3] = [
        (
            &["--strict-membership", peer],
            "--strict-membership needs --advertise",
        ),
        (
            &["--strict-membership", "--advertise=h:2"],
            "--strict-membership needs every other member's address",
        ),
        (
            &[
                "--strict-membership",
                "--discover",
                "--member=validator-1=validator",
                "--bootstrap=h:1",
                "--advertise=h:2",
            ],
            "--strict-membership cannot be combined with --discover",
        ),
    ];
    for (extra, expected) in cases {
        let error = with(extra).unwrap_err();
        assert!(
            error.contains(expected),
            "{extra:?}: {error:?} should contain {expected:?}"
        );
    }
    let file: FileConfig = serde_json::from_str(
        r#"{"discover": true, "members": ["validator-1=validator"],
            "bootstrap": "h:1", "advertise": "h:2", "udp_interval_ms": 50}"#,
    )
    .unwrap();
    let mut args = BASE.to_vec();
    args.extend_from_slice(&["--data-dir", "/tmp/x"]);
    let config = resolve(cli(&args), file).unwrap();
    assert_eq!(config.bootstrap.as_deref(), Some("h:1"));
    assert_eq!(config.udp_interval, Duration::from_millis(50));
}

#[test]
fn the_fingerprint_depends_on_every_address_and_not_on_the_order() {
    let a = "--peer=validator-1=validator@127.0.0.1:9";
    let b = "--peer=validator-2=validator@127.0.0.1:10";
    let print = |extra: &[&str]| {
        let mut all = vec!["--strict-membership", "--advertise=127.0.0.1:2"];
        all.extend_from_slice(extra);
        crate::membership::fingerprint(&with(&all).unwrap()).unwrap()
    };
    assert_eq!(print(&[a, b]), print(&[b, a]));
    assert_ne!(
        print(&[a, b]),
        print(&[a, "--peer=validator-2=validator@127.0.0.2:10"])
    );
    assert_eq!(print(&[a]).len(), 64);
}
