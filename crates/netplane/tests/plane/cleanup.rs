//! Nothing outlives a run: after the switch is shut down (or just dropped)
//! and the handles are gone, no TUN device, no namespace and no process the
//! run made remains.

use std::time::Duration;

use netplane::NodeNamespace;

use crate::support::{eventually, id, switch_with};

/// Every process with a thread in, or an fd on, one of these namespaces.
fn references(inodes: &[u64]) -> Vec<netplane::audit::NamespaceHolder> {
    netplane::audit::namespace_holders(inodes)
}

fn inodes(namespaces: &[&NodeNamespace]) -> Vec<u64> {
    namespaces.iter().map(|ns| ns.inode()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_shutdown_no_tun_device_namespace_or_process_remains() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let runner = switch.runner().unwrap();
    let all = inodes(&[&nodes[0], &nodes[1], &runner]);
    let held = nodes[0].clone();
    let mut interfaces = held.interfaces().unwrap();
    interfaces.sort();
    assert_eq!(
        interfaces,
        vec!["lo".to_owned(), netplane::DEVICE.to_owned()]
    );
    let mut command = tokio::process::Command::new("sleep");
    command.arg("30").kill_on_drop(true);
    let mut child = held.spawn(&mut command).unwrap();
    let pid = child.id().unwrap();
    let front = switch.front(&id("b"), 9).await.unwrap();
    assert!(
        !references(&all).is_empty(),
        "the namespaces are there while the run is"
    );

    child.kill().await.unwrap();
    switch.shutdown().await;
    assert_eq!(
        held.interfaces().unwrap(),
        vec!["lo".to_owned()],
        "the TUN device is gone"
    );
    drop((nodes, runner, held));
    assert_eq!(references(&all), Vec::new());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the node process is gone"
    );
    assert!(
        std::net::TcpStream::connect(front).is_err(),
        "the front is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_switch_closes_its_devices_without_shutdown() {
    let Some((switch, nodes)) = switch_with(&["a"]).await else {
        return;
    };
    let held = nodes[0].clone();
    let all = inodes(&[&held, &switch.runner().unwrap()]);
    drop(switch);
    eventually("the TUN device closes", Duration::from_secs(10), || {
        held.interfaces().unwrap() == vec!["lo".to_owned()]
    })
    .await;
    drop((nodes, held));
    eventually(
        "no reference to the namespaces",
        Duration::from_secs(10),
        || references(&all).is_empty(),
    )
    .await;
}
