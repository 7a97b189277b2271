//! The network plane.

mod control;
mod counters;
pub mod engine;
mod error;
mod fault;
mod front;
mod netlink;
mod netns;
pub mod probe;
pub mod subnet;
mod switch;

pub use control::SwitchControl;
pub use counters::SwitchCounters;
pub use error::{Error, Result};
pub use fault::{Fault, FaultCounters, FaultReport, Peer};
pub use netns::{DEVICE, NodeNamespace};
pub use subnet::RunSubnet;
pub use switch::Switch;
