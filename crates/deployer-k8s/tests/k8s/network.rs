//! Network faults and pause through the fault agent beside each pod: a
//! 2|2 partition halts finalization and its heal resumes it, its counters
//! show the packets it dropped; a latency shape delays packets; a paused
//! node answers nothing while the others go on, and catches up once
//! resumed;
//! a runner SIGKILLed mid-partition leaves nothing in force once the lease
//! lapsed (the cut-off node catches up); the cluster probe answers.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deployer_k8s::kube::Client;
use deployer_k8s::{K8sDeployer, PolicyEnforcement};
use e2e_support::PartitionProbe;
use e2e_support::runner_process::{self, EXECUTING, wait_exit};
use expectations::{Agreement, Liveness};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scenario_core::prelude::*;
use scenario_core::{FaultEffect, LinkShape, NetworkFault, NodeId};

use crate::support::{assert_clean, assert_nothing_left, cluster, pod_get, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_two_partition_halts_finalization_and_its_heal_resumes_it() {
    let Some((client, _turn)) = cluster("partition").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (workload, observed) = PartitionProbe::new(vec![
        vec!["validator-0", "validator-1"],
        vec!["validator-2", "validator-3"],
    ]);
    let plan = scenario("k8s-split", 4, 0, 12, root.path())
        .workload(workload)
        .expectation(Agreement)
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");
    assert_clean(&report);

    let effect = {
        let observed = observed.lock().unwrap();
        observed.assert_halted_then_resumed();
        observed.effect.expect("the agents count")
    };
    assert!(effect.dropped_packets > 0, "{effect}");
    assert_eq!(effect.dropped_packets, effect.matched_packets, "{effect}");
    assert_nothing_left(&client, &report).await;
}

/// Delays `validator-0 → validator-1` by 200 ms for 3 s, one second in.
#[derive(Default)]
pub(crate) struct Slow(pub(crate) Arc<Mutex<Option<FaultEffect>>>);

#[async_trait]
impl Workload for Slow {
    fn name(&self) -> &str {
        "slow-link"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::LinkLatency)
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let shape = LinkShape {
            latency: Duration::from_millis(200),
            ..LinkShape::default()
        };
        let fault = NetworkFault::Shape {
            from: NodeId::new("validator-0"),
            to: NodeId::new("validator-1"),
            shape,
        };
        let control = ctx.network_control().ok_or("no network control")?;
        let id = control.apply(&fault).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        control.heal(id).await?;
        *self.0.lock().map_err(|_| "poisoned")? = control.effect(id);
        Ok(())
    }
}

/// Pauses `validator-2` for 3 s, two seconds in; records whether it
/// answered a call made while paused, the others' progress meanwhile, and
/// the heights 4 s after the resume.
#[derive(Default)]
struct PauseProbe(Arc<Mutex<Vec<(String, u64)>>>);

async fn height(ctx: &RunContext, node: &str) -> Result<u64, BoxError> {
    let client = ctx.client(&NodeId::new(node)).ok_or("no such node")?;
    Ok(client.info().await?.finalized_height)
}

#[async_trait]
impl Workload for PauseProbe {
    fn name(&self) -> &str {
        "pause-probe"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none()
            .capability(Capability::Pause)
            .node_api()
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let control = ctx.node_control().ok_or("no node control")?;
        let paused = NodeId::new("validator-2");
        let client = ctx.client(&paused).ok_or("no such node")?;
        let mut seen = vec![(
            "others before".to_owned(),
            height(ctx, "validator-0").await?,
        )];
        control.pause(&paused).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A stopped process answers nothing, however long it is given.
        let call = tokio::time::timeout(Duration::from_millis(1500), client.info()).await;
        let answered = matches!(call, Ok(Ok(_)));
        seen.push(("answered while paused".to_owned(), u64::from(answered)));
        tokio::time::sleep(Duration::from_millis(500)).await;
        seen.push(("others after".to_owned(), height(ctx, "validator-0").await?));
        control.resume(&paused).await?;
        tokio::time::sleep(Duration::from_secs(4)).await;
        seen.push(("caught up".to_owned(), height(ctx, "validator-2").await?));
        seen.push((
            "others at the end".to_owned(),
            height(ctx, "validator-0").await?,
        ));
        *self.0.lock().map_err(|_| "poisoned")? = seen;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_link_delays_packets_and_a_paused_node_answers_nothing_then_catches_up() {
    let Some((client, _turn)) = cluster("shape and pause").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let slow = Arc::new(Mutex::new(None));
    let pause = PauseProbe::default();
    let seen = Arc::clone(&pause.0);
    let plan = scenario("k8s-slow-pause", 4, 0, 12, root.path())
        .workload(Slow(Arc::clone(&slow)))
        .workload(pause)
        .expectation(Agreement)
        .expectation(Liveness::new(3, Duration::from_secs(4)))
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");

    let effect = slow.lock().unwrap().expect("the agents count");
    assert!(effect.delayed_packets > 0, "{effect}");
    assert_eq!(effect.dropped_packets, 0, "{effect}");
    let seen: std::collections::BTreeMap<String, u64> =
        seen.lock().unwrap().iter().cloned().collect();
    assert!(
        seen["others after"] >= seen["others before"] + 5,
        "the others went on: {seen:?}"
    );
    assert_eq!(
        seen["answered while paused"], 0,
        "the paused node answered nothing: {seen:?}"
    );
    assert!(
        seen["caught up"] + 3 >= seen["others at the end"],
        "it caught up once resumed: {seen:?}"
    );
    assert_nothing_left(&client, &report).await;
}

const LAPSE_CHILD: &str = "TESTBED_TEST_K8S_LAPSE_ROOT";
/// The killed run's lease, and so its agents'.
const SHORT_LEASE: Duration = Duration::from_secs(3);

/// Cuts `validator-3` off from the others, then lets the parent know.
struct CutOffThenAnnounce;

#[async_trait]
impl Workload for CutOffThenAnnounce {
    fn name(&self) -> &str {
        "cut-off"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::Partition)
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let groups = vec![
            ["validator-0", "validator-1", "validator-2"]
                .map(NodeId::new)
                .to_vec(),
            vec![NodeId::new("validator-3")],
        ];
        ctx.network_fault(&NetworkFault::Partition { groups }, None)
            .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        #[allow(clippy::print_stdout)] // The parent test reads this line.
        {
            println!("{EXECUTING}");
        }
        cancel.cancelled().await;
        Ok(())
    }
}

fn run_child(root: &Path) -> ! {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let plan = scenario("k8s-lapse", 4, 0, 3600, root)
            .workload(CutOffThenAnnounce)
            .build()
            .unwrap();
        let _ = plan.run(&K8sDeployer::new().lease(SHORT_LEASE)).await;
    });
    unreachable!("SIGKILL ends this process");
}

async fn finalized(client: &Client, namespace: &str, node: &str) -> u64 {
    let pod = deployer_k8s::names::node_pod(&NodeId::new(node));
    let info = pod_get(
        client,
        namespace,
        &pod,
        demo_node::API_PORT,
        "/testing/v1/info",
    )
    .await
    .unwrap_or_else(|e| panic!("{node}'s info: {e}"));
    info["finalized_height"].as_u64().unwrap()
}

#[test]
fn faults_heal_by_themselves_once_a_killed_runners_lease_lapsed() {
    if let Some(root) = std::env::var_os(LAPSE_CHILD) {
        run_child(Path::new(&root));
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let Some((client, _turn)) = cluster("lease lapse").await else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let test = "network::faults_heal_by_themselves_once_a_killed_runners_lease_lapsed";
        let (mut child, dir) = runner_process::start(test, LAPSE_CHILD, root.path());
        let run_id = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let namespace = deployer_k8s::names::namespace(&run_id);
        let agent_port = netplane::agent::CONTROL_PORT;
        let cut_off = deployer_k8s::names::node_pod(&NodeId::new("validator-3"));

        let status = pod_get(&client, &namespace, &cut_off, agent_port, "/status")
            .await
            .unwrap();
        assert_eq!(status["lapsed"], false, "{status}");
        let dropped = status["faults"][0]["counters"]["dropped_packets"].as_u64();
        assert!(dropped.unwrap_or(0) > 0, "the cut bites: {status}");
        let behind = finalized(&client, &namespace, "validator-3").await;

        kill(
            Pid::from_raw(i32::try_from(child.id()).unwrap()),
            Signal::SIGKILL,
        )
        .unwrap();
        tokio::task::spawn_blocking(move || wait_exit(&mut child))
            .await
            .unwrap();
        let killed = tokio::time::Instant::now();

        // The agent heals on its own within the lease (plus its 250 ms
        // check and this loop's own pace).
        loop {
            let status = pod_get(&client, &namespace, &cut_off, agent_port, "/status")
                .await
                .unwrap();
            if status["lapsed"] == true {
                assert_eq!(status["faults"][0]["active"], false, "{status}");
                break;
            }
            assert!(
                killed.elapsed() < SHORT_LEASE + Duration::from_secs(5),
                "not healed {:?} after the kill: {status}",
                killed.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Traffic really flows again: the cut-off node catches up.
        loop {
            let others = finalized(&client, &namespace, "validator-0").await;
            let caught_up = finalized(&client, &namespace, "validator-3").await;
            if caught_up > behind + 5 && caught_up + 3 >= others {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(40),
                "validator-3 stayed at {caught_up} (cut off at {behind}, the others at {others})"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // Nothing of the dead run stays once reaped.
        loop {
            let reaped = deployer_k8s::reap(&client).await.unwrap();
            if reaped.iter().any(|run| run.namespace == namespace) {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(60), "never reaped");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        loop {
            let left = deployer_k8s::leftovers(&client, &run_id).await.unwrap();
            if left.is_empty() {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(180),
                "still there: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}

/// The cluster's answer where `TESTBED_K8S_NETWORK_POLICY` says what to
/// expect (`.ci/run` sets `not-enforced` for the local cluster, which has
/// no CNI); on any cluster, the fault agent must be allowed and the probe
/// must come to an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_probe_says_what_the_cluster_allows() {
    let Some((client, _turn)) = cluster("cluster probe").await else {
        return;
    };
    let probe = deployer_k8s::probe_cluster(&client, deployer_k8s::DEFAULT_AGENT_IMAGE)
        .await
        .unwrap();
    assert_eq!(probe.fault_agent, Ok(()), "{probe:?}");
    match std::env::var("TESTBED_K8S_NETWORK_POLICY").as_deref() {
        Ok("not-enforced") => assert!(
            matches!(probe.network_policy, PolicyEnforcement::NotEnforced { .. }),
            "{probe:?}"
        ),
        Ok("enforced") => assert!(
            matches!(probe.network_policy, PolicyEnforcement::Enforced { .. }),
            "{probe:?}"
        ),
        _ => assert!(
            !matches!(probe.network_policy, PolicyEnforcement::Unknown { .. }),
            "{probe:?}"
        ),
    }
}
