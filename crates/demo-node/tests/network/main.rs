//! demo-node as a real network: processes on loopback finalize blocks,
//! include transactions, certify and sample blobs, survive faults, keep their
//! data, and answer bad input clearly; they learn peers at run time, send
//! UDP heartbeats and refuse members configured with other addresses. The
//! API contract doc is checked against the routes here too.

mod chain;
mod contract;
mod faults;
mod inputs;
mod membership;
mod peers;
mod support;
