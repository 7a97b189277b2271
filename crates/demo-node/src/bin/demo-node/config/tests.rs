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
