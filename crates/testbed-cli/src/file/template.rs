//! Placeholders in a command node's args, env and files: `{id}`, `{role}`,
//! `{data_dir}`, `{listen:PORT}` (where this node listens), `{peers:PORT}`
//! (every peer's address on that port, joined by commas), and, in
//! `peer_args` only, `{peer.id}`, `{peer.role}` and `{peer.addr:PORT}`.
//! `{{` and `}}` are literal braces. Templates are checked when the file is
//! read, so a typo is a bad plan, not a failed deploy.

use testbed::{NodeView, PeerView};

/// What a template may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The node's own args, env and files.
    Node,
    /// A `peer_args` entry, rendered once per peer.
    Peer,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Id,
    Role,
    DataDir,
    Listen(String),
    Peers(String),
    PeerId,
    PeerRole,
    PeerAddr(String),
}

/// Split a template into pieces; an error names the bad placeholder.
fn pieces(template: &str, scope: Scope, ports: &[String]) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => {
                            return Err(format!(
                                "an unclosed `{{` in \"{template}\" (write `{{{{` for a brace)"
                            ));
                        }
                    }
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(placeholder(&name, scope, ports)?);
            }
            '}' => {
                return Err(format!(
                    "a lone `}}` in \"{template}\" (write `}}}}` for a brace)"
                ));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

fn placeholder(name: &str, scope: Scope, ports: &[String]) -> Result<Piece, String> {
    let port = |port: &str| {
        if ports.iter().any(|p| p == port) {
            Ok(port.to_owned())
        } else {
            Err(format!(
                "`{{{name}}}` names port `{port}`, which [node] ports do not declare ({})",
                ports.join(", ")
            ))
        }
    };
    let piece = match (name.split_once(':'), scope) {
        (None, _) if name == "id" => Piece::Id,
        (None, _) if name == "role" => Piece::Role,
        (None, _) if name == "data_dir" => Piece::DataDir,
        (None, Scope::Peer) if name == "peer.id" => Piece::PeerId,
        (None, Scope::Peer) if name == "peer.role" => Piece::PeerRole,
        (Some(("listen", p)), _) => Piece::Listen(port(p)?),
        (Some(("peers", p)), _) => Piece::Peers(port(p)?),
        (Some(("peer.addr", p)), Scope::Peer) => Piece::PeerAddr(port(p)?),
        _ => {
            let known = match scope {
                Scope::Node => "{id}, {role}, {data_dir}, {listen:PORT}, {peers:PORT}",
                Scope::Peer => {
                    "{id}, {role}, {data_dir}, {listen:PORT}, {peers:PORT}, {peer.id}, {peer.role}, {peer.addr:PORT}"
                }
            };
            return Err(format!(
                "unknown placeholder `{{{name}}}`: known are {known}"
            ));
        }
    };
    Ok(piece)
}

/// Check a template without rendering it.
pub fn check(template: &str, scope: Scope, ports: &[String]) -> Result<(), String> {
    pieces(template, scope, ports).map(drop)
}

/// Render a template for `node` (and, for `peer_args`, one `peer`).
pub fn render(
    template: &str,
    ports: &[String],
    node: &NodeView,
    peer: Option<&PeerView>,
) -> Result<String, String> {
    let scope = if peer.is_some() {
        Scope::Peer
    } else {
        Scope::Node
    };
    let mut out = String::new();
    for piece in pieces(template, scope, ports)? {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Id => out.push_str(node.id().as_str()),
            Piece::Role => out.push_str(node.role().as_str()),
            Piece::DataDir => out.push_str(&node.data_dir),
            Piece::Listen(port) => {
                out.push_str(&node.listen(&port).map_err(|e| e.to_string())?.to_string());
            }
            Piece::Peers(port) => {
                let addresses: Result<Vec<String>, String> = node
                    .peers
                    .iter()
                    .map(|p| {
                        p.address(&port)
                            .map(ToString::to_string)
                            .map_err(|e| e.to_string())
                    })
                    .collect();
                out.push_str(&addresses?.join(","));
            }
            Piece::PeerId | Piece::PeerRole | Piece::PeerAddr(_) => {
                let Some(peer) = peer else {
                    return Err(format!("\"{template}\" names a peer outside peer_args"));
                };
                match piece {
                    Piece::PeerId => out.push_str(peer.id.as_str()),
                    Piece::PeerRole => out.push_str(peer.role.as_str()),
                    Piece::PeerAddr(port) => {
                        out.push_str(&peer.address(&port).map_err(|e| e.to_string())?.to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use testbed::{HostPort, NodeId, NodeSlot, Role};

    use super::*;

    fn ports() -> Vec<String> {
        vec!["api".to_owned(), "p2p".to_owned()]
    }

    fn view() -> NodeView {
        let at = |port| {
            BTreeMap::from([
                ("api".to_owned(), HostPort::new("10.0.0.1", port)),
                ("p2p".to_owned(), HostPort::new("10.0.0.1", port + 1)),
            ])
        };
        let peer = |id: &str, host: &str| PeerView {
            id: NodeId::new(id),
            role: Role::Validator,
            addresses: BTreeMap::from([("p2p".to_owned(), HostPort::new(host, 9000))]),
        };
        NodeView {
            slot: NodeSlot::next_of(&Role::Validator, &[]),
            listen: at(8080),
            data_dir: "/data".to_owned(),
            peers: vec![
                peer("validator-1", "10.0.0.2"),
                peer("validator-2", "10.0.0.3"),
            ],
        }
    }

    #[test]
    fn placeholders_render_for_the_node_and_each_peer() {
        let node = view();
        let render = |t: &str| render(t, &ports(), &node, None).unwrap();
        assert_eq!(
            render("--id={id} --role={role}"),
            "--id=validator-0 --role=validator"
        );
        assert_eq!(render("{data_dir}/db"), "/data/db");
        assert_eq!(render("--api={listen:api}"), "--api=10.0.0.1:8080");
        assert_eq!(render("{peers:p2p}"), "10.0.0.2:9000,10.0.0.3:9000");
        assert_eq!(render("{{literal}}"), "{literal}");
        let peer = &node.peers[1];
        assert_eq!(
            super::render(
                "--peer={peer.id}={peer.role}@{peer.addr:p2p}",
                &ports(),
                &node,
                Some(peer)
            )
            .unwrap(),
            "--peer=validator-2=validator@10.0.0.3:9000"
        );
    }

    #[test]
    fn unknown_placeholders_and_ports_are_refused_with_what_is_known() {
        let error = check("{nodeid}", Scope::Node, &ports()).unwrap_err();
        assert!(error.contains("unknown placeholder `{nodeid}`"), "{error}");
        let error = check("{listen:rpc}", Scope::Node, &ports()).unwrap_err();
        assert!(
            error.contains("port `rpc`, which [node] ports do not declare (api, p2p)"),
            "{error}"
        );
        let error = check("--x={id", Scope::Node, &ports()).unwrap_err();
        assert!(error.contains("an unclosed `{` in \"--x={id\""), "{error}");
        let error = check("{peer.id}", Scope::Node, &ports()).unwrap_err();
        assert!(error.contains("unknown placeholder `{peer.id}`"), "{error}");
        assert!(check("{peer.id}", Scope::Peer, &ports()).is_ok());
    }
}
