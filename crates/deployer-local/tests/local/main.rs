//! The local deployer end to end with real demo-node processes: a smoke run,
//! restarts and partitions with real effects, bad launches refused clearly,
//! concurrent runs, and Ctrl-C to the process running a scenario.

mod failures;
mod faults;
mod interrupt;
mod join;
mod plane;
mod rootless;
mod smoke;
mod support;
