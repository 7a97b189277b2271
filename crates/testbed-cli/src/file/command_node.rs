//! The generic command node of scenario files: any program (local) or image
//! (Docker, Kubernetes), launched with args, env and files rendered from
//! templates (see `template`), one arg list per peer for peer lists,
//! declared ports, and a readiness check. Software that speaks the HTTP
//! testing contract names its `client_port`; software that does not is
//! judged by its logs and the metrics of its `metrics_port`.

use std::path::PathBuf;
use std::sync::Arc;

use testbed::http::NodeHttpClient;
use testbed::prelude::*;
use testbed::{Block, ClientError, NodeEndpoint, NodeInfo, NodeView, PortSpec};

use super::model::{CommandNode, ReadinessTable};
use super::template::{self, Scope};

/// A [`NodeKind`] built from a `[node] kind = "command"` table.
pub struct CommandKind {
    name: String,
    program: Option<PathBuf>,
    node: CommandNode,
    ports: Vec<String>,
}

impl CommandKind {
    /// Check every template against the declared ports; `program` is the
    /// table's program resolved to a path.
    pub fn new(node: CommandNode, program: Option<PathBuf>) -> Result<Self, String> {
        let ports: Vec<String> = node.ports.iter().map(|p| p.name.clone()).collect();
        if let Some(twice) = ports
            .iter()
            .enumerate()
            .find_map(|(i, p)| ports[..i].contains(p).then_some(p))
        {
            return Err(format!("[node] declares port `{twice}` twice"));
        }
        let readiness_port = match &node.readiness {
            Some(ReadinessTable::Http { port, .. } | ReadinessTable::Tcp { port }) => Some(port),
            Some(ReadinessTable::Log { .. }) | None => None,
        };
        if let Some(port) = readiness_port.filter(|port| !ports.contains(port)) {
            return Err(format!(
                "[node] readiness names port `{port}`, which is not among the declared ports ({})",
                ports.join(", ")
            ));
        }
        let named = [
            ("client_port", &node.client_port),
            ("metrics_port", &node.metrics_port),
        ];
        for (key, port) in named {
            if let Some(port) = port.as_ref().filter(|port| !ports.contains(port)) {
                return Err(format!(
                    "[node] {key} `{port}` is not among the declared ports ({})",
                    ports.join(", ")
                ));
            }
        }
        match (&node.client_port, &node.metrics_port, &node.readiness) {
            (Some(_), Some(_), _) => {
                return Err("[node] metrics_port is for nodes without client_port: with one, metrics are read from it".to_owned());
            }
            (None, _, None) => {
                return Err("[node] without client_port (software that does not speak the HTTP testing contract), `readiness` must say when a node is ready".to_owned());
            }
            _ => {}
        }
        if node.program.is_none() && node.image.is_none() {
            return Err(
                "a command node needs a `program` (local), an `image` (Docker), or both".to_owned(),
            );
        }
        let node_templates = node
            .args
            .iter()
            .chain(node.env.values())
            .chain(node.files.iter().map(|f| &f.contents));
        for text in node_templates {
            template::check(text, Scope::Node, &ports).map_err(|e| format!("[node]: {e}"))?;
        }
        for text in &node.peer_args {
            template::check(text, Scope::Peer, &ports)
                .map_err(|e| format!("[node] peer_args: {e}"))?;
        }
        Ok(Self {
            name: node.name.clone().unwrap_or_else(|| "command".to_owned()),
            program,
            ports,
            node,
        })
    }
}

impl NodeKind for CommandKind {
    fn name(&self) -> &str {
        &self.name
    }

    fn ports(&self) -> Vec<PortSpec> {
        self.node
            .ports
            .iter()
            .map(|p| {
                if p.peer {
                    PortSpec::peer(p.name.clone(), p.port)
                } else {
                    PortSpec::api(p.name.clone(), p.port)
                }
            })
            .collect()
    }

    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        let ports = &self.ports;
        let mut launch = match (&self.program, &self.node.image) {
            (Some(program), Some(image)) => LaunchSpec::program(program).image(image.clone()),
            (Some(program), None) => LaunchSpec::program(program),
            (None, Some(image)) => LaunchSpec::image_only(image.clone()),
            (None, None) => return Err("a command node needs a program or an image".into()),
        };
        for arg in &self.node.args {
            launch = launch.arg(template::render(arg, ports, node, None)?);
        }
        for peer in &node.peers {
            for arg in &self.node.peer_args {
                launch = launch.arg(template::render(arg, ports, node, Some(peer))?);
            }
        }
        for (name, value) in &self.node.env {
            launch = launch.env(name.clone(), template::render(value, ports, node, None)?);
        }
        for file in &self.node.files {
            let contents = template::render(&file.contents, ports, node, None)?;
            launch = launch.file(file.path.clone(), contents.into_bytes());
        }
        let readiness = match &self.node.readiness {
            Some(ReadinessTable::Http { port, path }) => {
                Readiness::http(port.clone(), path.clone())
            }
            Some(ReadinessTable::Tcp { port }) => Readiness::tcp(port.clone()),
            Some(ReadinessTable::Log { line }) => Readiness::log_line(line.clone()),
            None => match &self.node.client_port {
                Some(port) => Readiness::http(port.clone(), "/testing/v1/ready"),
                None => return Err("a node without client_port needs a readiness".into()),
            },
        };
        Ok(launch.readiness(readiness))
    }

    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        if let Some(port) = &self.node.client_port {
            return NodeHttpClient::for_node(node, port);
        }
        let metrics = match &self.node.metrics_port {
            Some(port) => Some(NodeHttpClient::for_node(node, port)?),
            None => None,
        };
        Ok(Arc::new(MetricsOnly {
            node: node.id.clone(),
            metrics,
        }))
    }

    fn testing_api(&self) -> bool {
        self.node.client_port.is_some()
    }
}

/// The client of a node that does not speak the testing contract: its
/// metrics (where it serves them) and nothing else.
#[derive(Debug)]
struct MetricsOnly {
    node: NodeId,
    metrics: Option<Arc<dyn NodeClient>>,
}

#[async_trait]
impl NodeClient for MetricsOnly {
    fn node(&self) -> &NodeId {
        &self.node
    }

    async fn info(&self) -> Result<NodeInfo, ClientError> {
        Err(self.unsupported("info (the node does not speak the HTTP testing contract)"))
    }

    async fn block(&self, _height: u64) -> Result<Block, ClientError> {
        Err(self.unsupported("block (the node does not speak the HTTP testing contract)"))
    }

    async fn metrics(&self) -> Result<String, ClientError> {
        match &self.metrics {
            Some(client) => client.metrics().await,
            None => Err(self.unsupported("metrics (no metrics_port)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(readiness: &str, ports: &str) -> CommandNode {
        let text = format!(
            "program = \"/bin/node\"\nclient_port = \"api\"\nreadiness = {readiness}\n{ports}"
        );
        toml::from_str(&text).unwrap()
    }

    const PORTS: &str = "[[ports]]\nname = \"api\"\nport = 8080\n";

    #[test]
    fn readiness_on_an_undeclared_port_and_a_port_declared_twice_are_refused() {
        let error = CommandKind::new(node("{ tcp = { port = \"rpc\" } }", PORTS), None)
            .err()
            .unwrap();
        assert!(error.contains("readiness names port `rpc`"), "{error}");
        let twice = format!("{PORTS}{PORTS}");
        let error = CommandKind::new(node("{ tcp = { port = \"api\" } }", &twice), None)
            .err()
            .unwrap();
        assert!(error.contains("declares port `api` twice"), "{error}");
        assert!(CommandKind::new(node("{ tcp = { port = \"api\" } }", PORTS), None).is_ok());
    }
}
