//! The `testbed` binary end to end: `check` validates and starts nothing,
//! bad files and plans exit 2 naming where and why, the schema in the
//! repository is the code's, the chaos scenario file runs and passes on
//! local processes, `show`, `runs`, `replay` and `parity` answer from its
//! artifacts, and `doctor` and `reap` report what they found.

#![allow(clippy::print_stderr)] // Tests say why they skip.

mod support;

use std::path::Path;
use std::process::Command;

use support::{one_run_at_a_time, place, report_of, scenarios, testbed, text};

#[test]
fn check_prints_the_resolved_plan_and_starts_nothing() {
    let artifacts = tempfile::tempdir().unwrap();
    let file = scenarios().join("chaos.toml");
    let out = testbed(&["check", file.to_str().unwrap()], artifacts.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("scenario 'chaos-file': valid"), "{stdout}");
    assert!(stdout.contains("seed 11 (fixed)"), "{stdout}");
    assert!(stdout.contains("  validator-3 (validator)"), "{stdout}");
    assert!(stdout.contains("fault schedule (3):"), "{stdout}");
    assert!(stdout.contains("\"kind\":\"partition\""), "{stdout}");
    // The same seed resolves the same schedule.
    let again = testbed(&["check", file.to_str().unwrap()], artifacts.path());
    assert_eq!(text(&again.stdout), stdout);
    assert_eq!(
        std::fs::read_dir(artifacts.path()).unwrap().count(),
        0,
        "check created a run"
    );
}

#[test]
fn a_file_with_an_unknown_key_fails_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\nwindow = \"10s\"\n[topology]\nvalidators = 3\n[node]\nkind = \"demo-node\"\nblok_time = \"1s\"\n",
    )
    .unwrap();
    let out = testbed(&["check", file.to_str().unwrap()], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5:1: ", file.display())) || stderr.contains(":7:1: "),
        "{stderr}"
    );
    assert!(stderr.contains("blok_time"), "{stderr}");
}

#[test]
fn a_plan_the_builder_refuses_exits_2_with_the_builders_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late.toml");
    std::fs::write(
        &file,
        "name = \"late\"\nwindow = \"10s\"\n[topology]\nvalidators = 3\n[node]\nkind = \"demo-node\"\n[[chaos]]\nfault = \"restart\"\nat = \"1m\"\nwho = \"any-validator\"\n",
    )
    .unwrap();
    let out = testbed(&["run", file.to_str().unwrap()], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the plan is not valid"), "{stderr}");
    assert!(
        stderr.contains("but the window is only 10s long"),
        "{stderr}"
    );
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .collect();
    assert!(made.is_empty(), "a refused plan created {made:?}");
}

#[test]
fn the_checked_in_schema_is_the_codes() {
    let checked_in = std::fs::read_to_string(scenarios().join("scenario.schema.json")).unwrap();
    assert!(
        checked_in == testbed_cli::schema_json(),
        "examples/scenarios/scenario.schema.json is stale: regenerate it with `cargo run -p testbed-cli -- schema > examples/scenarios/scenario.schema.json`"
    );
}

#[test]
fn a_node_without_the_testing_contract_refuses_the_judges_and_loads_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(scenarios().join("logs-and-metrics.toml")).unwrap();
    let file = dir.path().join("reads-the-contract.toml");
    let text_of = example.replace(
        "[expect]\n",
        "[load]\ntx_rate = 5.0\n\n[expect]\nagreement = true\n",
    );
    std::fs::write(&file, text_of).unwrap();
    let out = testbed(&["check", file.to_str().unwrap()], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for reader in ["\"agreement\"", "\"tx-load\""] {
        assert!(
            stderr.contains(&format!(
                "{reader} reads nodes through testbed's HTTP testing API, which opaque-chain does not speak"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn every_example_scenario_file_is_valid() {
    let artifacts = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(scenarios()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = testbed(&["check", path.to_str().unwrap()], artifacts.path());
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
    }
}

/// The faults and control actions of a report (not the deploy's launches),
/// without their times.
fn fault_schedule(report: &serde_json::Value) -> Vec<String> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "fault_applied"
                || ["stop", "start", "restart", "kill", "pause", "resume"]
                    .contains(&e["cause"]["kind"].as_str().unwrap_or(""))
        })
        .map(|e| format!("{} {} {}", e["kind"], e["node"], e["fault"]))
        .collect()
}

#[test]
fn the_chaos_file_runs_on_local_processes_and_show_runs_and_replay_answer_from_its_artifacts() {
    if !plane_ready("the chaos file on local processes") {
        return;
    }
    let _one = one_run_at_a_time();
    let (_root, artifacts) = place();
    let file = scenarios().join("chaos.toml");
    let out = testbed(&["run", file.to_str().unwrap()], &artifacts);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for judge in ["tx-inclusion", "agreement", "recovery"] {
        assert!(stdout.contains(&format!("pass  {judge}: ")), "{stdout}");
    }
    assert!(stdout.contains("chaos-file on local in run"), "{stdout}");
    let report = report_of(&stdout);
    assert_eq!(report["passed"], true);
    assert_eq!(report["seed"], 11);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let run_dir = report["artifacts_dir"].as_str().unwrap().to_owned();

    // `runs` lists it; `show` summarises it from its artifacts.
    let runs = text(&testbed(&["runs"], &artifacts).stdout);
    assert!(runs.contains(&run_id) && runs.contains("passed"), "{runs}");
    let summary = text(&testbed(&["show", &run_id], &artifacts).stdout);
    assert!(
        summary.contains(&format!("run {run_id}: scenario 'chaos-file' on local")),
        "{summary}"
    );
    assert!(summary.contains("pass  agreement: "), "{summary}");
    assert!(summary.contains("FaultApplied network"), "{summary}");

    // A block at a height, on each node that finalized it.
    let block = text(&testbed(&["show", &run_dir, "--block", "5"], &artifacts).stdout);
    assert_eq!(block.matches(" finalized height 5 ").count(), 4, "{block}");
    let hashes: std::collections::BTreeSet<&str> = block
        .lines()
        .filter_map(|l| l.split("hash ").nth(1)?.split(',').next())
        .collect();
    assert_eq!(
        hashes.len(),
        1,
        "every node finalized the same block: {block}"
    );

    // A transaction's path, from the load's history and the blocks.
    let sent = std::fs::read_to_string(Path::new(&run_dir).join("txs.ndjson")).unwrap();
    let first: serde_json::Value = sent
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["id"].is_string())
        .expect("an accepted transaction");
    let (id, node) = (
        first["id"].as_str().unwrap(),
        first["node"].as_str().unwrap(),
    );
    let path = text(&testbed(&["show", &run_id, "--tx", id], &artifacts).stdout);
    assert!(
        path.contains(&format!("{id}: submitted to {node} at ")),
        "{path}"
    );
    assert!(
        path.contains(&format!("{id}: included at height ")),
        "{path}"
    );

    // Replay: the same file, seed and backend give the same fault schedule.
    let out = testbed(&["replay", &run_id, "--keep"], &artifacts);
    let again = text(&out.stdout);
    assert!(
        again.contains(&format!(
            "replaying run {run_id} of 'chaos-file' on local with seed 11"
        )),
        "{again}"
    );
    let replayed = report_of(&again);
    assert_ne!(replayed["run_id"], report["run_id"]);
    let schedule = fault_schedule(&report);
    assert_eq!(
        schedule.len(),
        4,
        "a stop, a start and two faults: {schedule:?}"
    );
    assert_eq!(fault_schedule(&replayed), schedule);
    // --keep kept every node's data and log, though the run passed; the
    // first run kept neither.
    let kept = Path::new(replayed["artifacts_dir"].as_str().unwrap()).join("nodes/validator-0");
    assert!(
        kept.join("data").read_dir().unwrap().next().is_some(),
        "{kept:?}"
    );
    assert!(kept.join("node.log").is_file());
    assert!(!Path::new(&run_dir).join("nodes/validator-0/data").exists());
}

#[test]
fn doctor_reports_a_docker_engine_that_does_not_answer_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args(["doctor", "--on", "compose"])
        .env(
            "DOCKER_HOST",
            format!("unix://{}", dir.path().join("nowhere.sock").display()),
        )
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("PROBLEM  Docker engine: "), "{stdout}");
    assert!(stdout.contains("nowhere.sock"), "{stdout}");
    assert!(stdout.contains("fix: start the engine"), "{stdout}");
}

#[test]
fn doctor_reports_a_missing_node_program_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.toml");
    std::fs::write(
        &file,
        "name = \"m\"\nwindow = \"10s\"\n[topology]\nvalidators = 3\n[node]\nkind = \"demo-node\"\nprogram = \"/nonexistent/demo-node\"\n",
    )
    .unwrap();
    let out = testbed(&["doctor", file.to_str().unwrap()], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("PROBLEM  node program /nonexistent/demo-node: not found"),
        "{stdout}"
    );
    assert!(stdout.contains("fix: build it"), "{stdout}");
    assert!(stdout.contains("open-file limit"), "{stdout}");
}

#[test]
fn reap_finishes_and_says_what_it_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = testbed(&["reap"], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("dead local run(s) cleaned up"), "{stdout}");
}

/// Whether the network plane is here; `false` after printing why the test
/// skips, a panic where CI requires it (`TESTBED_REQUIRE_NETNS=1`).
fn plane_ready(test: &str) -> bool {
    match netplane::probe::probe() {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("TESTBED_REQUIRE_NETNS").as_deref() != Ok("1"),
                "TESTBED_REQUIRE_NETNS=1 but {why}"
            );
            eprintln!("skipped {test}: the network plane is unavailable: {why}");
            false
        }
    }
}

/// Whether Docker and the network plane are here (the demo-node image
/// built); `false` after printing why the test skips, a panic where CI
/// requires them.
fn docker_and_plane_ready(test: &str) -> bool {
    if !plane_ready(test) {
        return false;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let docker = match testbed::compose::connect(None).await {
            Ok(docker) => docker,
            Err(e) => {
                assert!(
                    std::env::var("TESTBED_REQUIRE_DOCKER").as_deref() != Ok("1"),
                    "TESTBED_REQUIRE_DOCKER=1 but {e}"
                );
                eprintln!("skipped {test}: no Docker engine: {e}");
                return false;
            }
        };
        support::build_demo_image(&docker).await;
        true
    })
}

#[test]
fn parity_runs_one_file_on_local_processes_and_docker_and_prints_them_side_by_side() {
    let _one = one_run_at_a_time();
    if !docker_and_plane_ready("parity") {
        return;
    }
    let (_root, artifacts) = place();
    let file = scenarios().join("chaos.toml");
    let out = testbed(
        &["parity", file.to_str().unwrap(), "--on", "local,compose"],
        &artifacts,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("parity: running on local with seed 11"),
        "{stdout}"
    );
    assert!(
        stdout.contains("parity: running on compose with seed 11"),
        "{stdout}"
    );
    let header = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("local"))
        .expect("a header naming the backends");
    assert!(header.contains("compose"), "{header}");
    for row in [
        "verdict tx-inclusion",
        "verdict agreement",
        "deploy (ms)",
        "blocks per second",
        "inclusion p50 (ms)",
        "recovery (ms)",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row}: {stdout}"));
        let cells = line
            .split_whitespace()
            .filter(|w| *w == "pass" || w.parse::<f64>().is_ok())
            .count();
        assert!(cells >= 2, "a value for each backend: {line}");
    }
    assert!(!stdout.contains("DIFFERS"), "{stdout}");
}

/// Run the demo, command-node and logs-and-metrics example files on a
/// backend; all pass.
fn the_example_files_pass_on(backend: &str) {
    let (_root, artifacts) = place();
    for name in ["demo.toml", "command-node.toml", "logs-and-metrics.toml"] {
        let file = scenarios().join(name);
        let out = testbed(
            &["run", file.to_str().unwrap(), "--on", backend],
            &artifacts,
        );
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name} on {backend}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.contains(&format!(" on {backend} in run ")),
            "{stdout}"
        );
        assert_eq!(report_of(&stdout)["passed"], true);
    }
}

#[test]
fn the_example_files_pass_on_local_processes() {
    let _one = one_run_at_a_time();
    if !plane_ready("the example files on local processes") {
        return;
    }
    the_example_files_pass_on("local");
}

#[test]
fn the_example_files_pass_on_docker() {
    let _one = one_run_at_a_time();
    if docker_and_plane_ready("the example files on Docker") {
        the_example_files_pass_on("compose");
    }
}

#[test]
fn check_shows_a_nodes_override_and_refuses_one_for_a_node_not_in_the_topology() {
    let (_root, artifacts) = place();
    let dir = artifacts.parent().unwrap();
    let file = dir.join("mixed.toml");
    let write = |node: &str| {
        std::fs::write(
            &file,
            format!(
                "name = \"mixed\"\nwindow = \"10s\"\n[topology]\nvalidators = 3\n[topology.nodes.{node}]\nimage = \"testbed/demo-node:old\"\nargs = [\"--mempool-limit=100\"]\n[node]\nkind = \"demo-node\"\n"
            ),
        )
        .unwrap();
    };
    write("validator-2");
    let out = testbed(&["check", file.to_str().unwrap()], &artifacts);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "  validator-2 (validator): image testbed/demo-node:old, args --mempool-limit=100"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("  validator-1 (validator)\n"), "{stdout}");
    write("validator-9");
    let out = testbed(&["check", file.to_str().unwrap()], &artifacts);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("an override names node \"validator-9\", which is not in the topology"),
        "{stderr}"
    );
}
