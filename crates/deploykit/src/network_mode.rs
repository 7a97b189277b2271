//! Which network plane carries a run, for the deployers that offer a
//! choice (local processes and Docker).

/// Which plane a run's nodes talk over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// The network plane: every node in its own network namespace with one
    /// address on the run's subnet of 198.18.0.0/15, the same for every
    /// peer and the runner; faults act on every packet (TCP, UDP, anything
    /// IP) in the runner's switch. Needs root (or CAP_NET_ADMIN and
    /// CAP_SYS_ADMIN) and TUN; a machine without them is told so, with the
    /// fix, before anything starts.
    #[default]
    Namespaces,
    /// The fallback for machines without namespaces: peers reached through
    /// per-link TCP proxies the runner serves. Faults act only on TCP
    /// connections to configured peer ports (not UDP, not addresses a node
    /// learns), and each node sees every peer at a different address, so
    /// node kinds that declare `Capability::OneAddressPerNode` are refused
    /// before anything starts.
    LinkProxies,
}
