//! demo-node serves every route of the contract (`node_http::wire::ROUTES`;
//! node-http's own tests keep the guide's route table equal to that list).

use node_http::wire::ROUTES;

use crate::support::{Network, raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_node_serves_every_contract_route() {
    let net = Network::start(1, 1, &[]).await;
    let base = format!("http://{}", net.views["executor-0"].listen["api"]);
    for (method, path) in ROUTES {
        if path.ends_with("/subscribe/blocks") {
            continue; // A stream that never ends; the blockfeed tests read it.
        }
        let concrete = path
            .replace("{height}", "1")
            .replace("{id}", &"0".repeat(64))
            .replace("{index}", "0");
        let answer = raw(
            method,
            &format!("{base}{concrete}"),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
        assert!(
            !answer.body.contains("no such route"),
            "{method} {path} is not served: {} {}",
            answer.status,
            answer.body
        );
    }
}
