//! The local cluster's DNS, which 1.20 without add-ons lacks: answers `A`
//! queries for `<service>.<namespace>.svc.cluster.local` with the addresses
//! of the service's endpoints (so a headless Service's name resolves to its
//! pod, ready or not when the Service publishes not-ready addresses), as
//! a cluster's DNS add-on does. The endpoints are followed with a watch;
//! answers live one second. Names outside the cluster domain are refused.
//! It listens on the Docker bridge's gateway, which every pod reaches, and
//! the kubelet hands that address to pods (`--cluster-dns`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use futures::StreamExt;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use k8s_openapi::api::core::v1::Endpoints;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

/// The cluster's DNS domain (`--cluster-domain`).
pub(crate) const DOMAIN: &str = "cluster.local";

/// Addresses per (namespace, service).
type Records = Arc<RwLock<HashMap<(String, String), Vec<Ipv4Addr>>>>;

/// Serve until killed: follow the endpoints with the kubeconfig in
/// `KUBECONFIG`, answer on `listen`.
pub(crate) fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = kube::Client::try_default()
            .await
            .context("cannot reach the apiserver")?;
        let records = Records::default();
        tokio::spawn(follow(Api::all(client), Arc::clone(&records)));
        let socket = tokio::net::UdpSocket::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}/udp"))?;
        println!("dns: answering for *.svc.{DOMAIN} on {listen}/udp");
        let mut buffer = vec![0_u8; 4096];
        loop {
            let (length, from) = socket.recv_from(&mut buffer).await?;
            if let Some(reply) = answer(&buffer[..length], &records) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    })
}

fn addresses(endpoints: &Endpoints) -> Option<((String, String), Vec<Ipv4Addr>)> {
    let key = (
        endpoints.metadata.namespace.clone()?,
        endpoints.metadata.name.clone()?,
    );
    let ips = endpoints
        .subsets
        .iter()
        .flatten()
        .flat_map(|subset| subset.addresses.iter().flatten())
        .filter_map(|address| address.ip.parse().ok())
        .collect();
    Some((key, ips))
}

/// Keep `records` equal to the cluster's endpoints.
async fn follow(endpoints: Api<Endpoints>, records: Records) {
    let mut events = watcher(endpoints, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listing = HashMap::new();
    while let Some(event) = events.next().await {
        let mut table = records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            Ok(watcher::Event::Init) => listing.clear(),
            Ok(watcher::Event::InitApply(found)) => listing.extend(addresses(&found)),
            Ok(watcher::Event::InitDone) => *table = std::mem::take(&mut listing),
            Ok(watcher::Event::Apply(found)) => table.extend(addresses(&found)),
            Ok(watcher::Event::Delete(gone)) => {
                if let Some((key, _)) = addresses(&gone) {
                    table.remove(&key);
                }
            }
            // Its log is its output (`up` writes it to cluster-dns.log).
            #[allow(clippy::print_stderr)]
            Err(error) => eprintln!("dns: watching endpoints: {error}"),
        }
    }
}

/// The reply to one datagram, or `None` when it is no query.
fn answer(datagram: &[u8], records: &Records) -> Option<Vec<u8>> {
    let query = Message::from_vec(datagram).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.authoritative = true;
    reply.queries.clone_from(&query.queries);
    let Some(question) = query.queries.first() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply.to_vec().ok();
    };
    let name = question.name().to_ascii().to_ascii_lowercase();
    let name = name.trim_end_matches('.');
    let Some(service) = name.strip_suffix(&format!(".svc.{DOMAIN}")) else {
        reply.metadata.response_code = ResponseCode::Refused;
        return reply.to_vec().ok();
    };
    let found = service.split_once('.').and_then(|(service, namespace)| {
        let table = records
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table
            .get(&(namespace.to_owned(), service.to_owned()))
            .cloned()
    });
    match found {
        None => reply.metadata.response_code = ResponseCode::NXDomain,
        // Known: A records for an A query, none (but no error) otherwise.
        Some(ips) if question.query_type() == RecordType::A => {
            for ip in ips {
                reply.add_answer(Record::from_rdata(
                    question.name().clone(),
                    1,
                    RData::A(A(ip)),
                ));
            }
        }
        Some(_) => {}
    }
    reply.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;

    use super::*;

    fn ask(name: &str, kind: RecordType, records: &Records) -> Message {
        let mut query = Message::query();
        query.metadata.id = 7;
        query.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        Message::from_vec(&answer(&query.to_vec().unwrap(), records).unwrap()).unwrap()
    }

    #[test]
    fn a_service_name_resolves_to_its_endpoints_and_nothing_else_does() {
        let records = Records::default();
        records.write().unwrap().insert(
            ("tb-run".to_owned(), "validator-1".to_owned()),
            vec![Ipv4Addr::new(172, 17, 0, 5)],
        );
        let found = ask(
            "validator-1.tb-run.svc.cluster.local.",
            RecordType::A,
            &records,
        );
        assert_eq!(found.metadata.id, 7);
        assert_eq!(found.answers.len(), 1);
        assert_eq!(
            found.answers[0].data,
            RData::A(A(Ipv4Addr::new(172, 17, 0, 5)))
        );
        let six = ask(
            "validator-1.tb-run.svc.cluster.local.",
            RecordType::AAAA,
            &records,
        );
        assert_eq!(
            (six.metadata.response_code, six.answers.len()),
            (ResponseCode::NoError, 0)
        );
        let missing = ask(
            "validator-9.tb-run.svc.cluster.local.",
            RecordType::A,
            &records,
        );
        assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
        let outside = ask("example.org.", RecordType::A, &records);
        assert_eq!(outside.metadata.response_code, ResponseCode::Refused);
    }
}
