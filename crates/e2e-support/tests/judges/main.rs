//! The judges proven on real demo-node networks (local processes): for each
//! of demo-node's test-only misbehaviours, one run where a single node
//! misbehaves and the judge meant for that bug fails with a message naming
//! the node or the height; and one healthy run, with the same judges and a
//! real outage, that passes them all. Build demo-node first
//! (`cargo build -p demo-node`).

mod caught;
mod healthy;
mod support;
