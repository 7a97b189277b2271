//! The network plane.

pub mod engine;
mod fault;

pub use fault::{Fault, FaultCounters, FaultReport, Peer};
