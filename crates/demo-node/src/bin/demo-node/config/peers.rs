//! How a node knows its peers: configured addresses (`--peer`), or members
//! whose addresses are learned from `--bootstrap` (`--discover`,
//! `--member`), and what `--strict-membership` needs; each wrong
//! combination is an error naming the flag.

use super::flags::{Cli, FileConfig};
use super::{NodeRole, Peer};

fn peer(text: &str) -> Result<Peer, String> {
    let invalid = || format!("--peer must look like id=role@host:port (got {text:?})");
    let (id, rest) = text.split_once('=').ok_or_else(invalid)?;
    let (role, address) = rest.split_once('@').ok_or_else(invalid)?;
    let role = NodeRole::parse(role)
        .ok_or_else(|| format!("--peer {text:?}: the role must be validator or executor"))?;
    let port_ok = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if id.is_empty() || !port_ok {
        return Err(invalid());
    }
    Ok(Peer {
        id: id.to_owned(),
        role,
        address: Some(address.to_owned()),
    })
}

fn member(text: &str) -> Result<Peer, String> {
    let invalid = || format!("--member must look like id=role (got {text:?})");
    let (id, role) = text.split_once('=').ok_or_else(invalid)?;
    let role = NodeRole::parse(role)
        .ok_or_else(|| format!("--member {text:?}: the role must be validator or executor"))?;
    if id.is_empty() || id.contains(['@', ' ']) {
        return Err(invalid());
    }
    Ok(Peer {
        id: id.to_owned(),
        role,
        address: None,
    })
}

/// A `host:port` a peer dials (a name or an IP address).
fn host_port(text: &str, flag: &str) -> Result<String, String> {
    let ok = text
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !ok {
        return Err(format!(
            "{flag} must be a host and port such as 10.0.0.2:9000 (got {text:?})"
        ));
    }
    Ok(text.to_owned())
}

/// The peers and how their addresses are known: configured (`--peer`), or
/// learned from `--bootstrap` (`--discover`, `--member`); and
/// `--strict-membership`'s needs. Returns (peers, advertise, bootstrap).
pub(super) type PeerSetup = (Vec<Peer>, Option<String>, Option<String>);

pub(super) fn peer_setup(cli: &Cli, file: &FileConfig, strict: bool) -> Result<PeerSetup, String> {
    let pick = |from_cli: &Vec<String>, from_file: &Vec<String>| {
        if from_cli.is_empty() {
            from_file.clone()
        } else {
            from_cli.clone()
        }
    };
    let peer_texts = pick(&cli.peers, &file.peers);
    let member_texts = pick(&cli.members, &file.members);
    let discover = cli.discover || file.discover;
    let advertise = cli.advertise.clone().or_else(|| file.advertise.clone());
    let advertise = advertise
        .map(|a| host_port(&a, "--advertise"))
        .transpose()?;
    let bootstrap = cli.bootstrap.clone().or_else(|| file.bootstrap.clone());
    let bootstrap = bootstrap
        .map(|b| host_port(&b, "--bootstrap"))
        .transpose()?;
    if !discover {
        if !member_texts.is_empty() {
            return Err("--member needs --discover (without it, give every peer's \
                        address with --peer id=role@host:port)"
                .to_owned());
        }
        if bootstrap.is_some() {
            return Err("--bootstrap needs --discover".to_owned());
        }
        let peers = peer_texts
            .iter()
            .map(|p| peer(p))
            .collect::<Result<Vec<_>, _>>()?;
        if strict && advertise.is_none() {
            return Err("--strict-membership needs --advertise=host:port \
                        (this node's p2p address as its peers reach it)"
                .to_owned());
        }
        if strict && peers.is_empty() {
            return Err("--strict-membership needs every other member's address: \
                        --peer id=role@host:port"
                .to_owned());
        }
        return Ok((peers, advertise, None));
    }
    if strict {
        return Err("--strict-membership cannot be combined with --discover \
                    (strict members are configured with every address)"
            .to_owned());
    }
    if !peer_texts.is_empty() {
        return Err(
            "--peer cannot be combined with --discover (a discovering node \
                    learns its peers' addresses; name them with --member id=role)"
                .to_owned(),
        );
    }
    let Some(bootstrap) = bootstrap else {
        return Err(
            "--discover needs --bootstrap=host:port (another node's p2p address)".to_owned(),
        );
    };
    if advertise.is_none() {
        return Err("--discover needs --advertise=host:port \
                    (this node's p2p address as its peers reach it)"
            .to_owned());
    }
    let members = member_texts
        .iter()
        .map(|m| member(m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((members, advertise, Some(bootstrap)))
}
