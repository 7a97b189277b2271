//! The contract stays in sync: the guide's route table lists exactly the
//! routes of `node_http::wire::ROUTES`, and demo-node serves every one.

use node_http::wire::ROUTES;

use crate::support::{Network, raw};

fn documented_routes() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/src/node-testing-api.md"
    ))
    .expect("docs/src/node-testing-api.md exists");
    let table = doc
        .split("## Route table")
        .nth(1)
        .expect("a '## Route table' section");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| method"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[2].trim_matches('`').to_owned())
        })
        .collect()
}

#[test]
fn the_guide_documents_exactly_the_contract_routes() {
    let wire: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented_routes(), wire);
}

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
