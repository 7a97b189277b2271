//! The network plane on this machine's kernel: real namespaces, real TUN
//! devices, real TCP and UDP between nodes through the runner's switch.
//! Skipped with a printed reason where the plane cannot run (not root),
//! failed instead when `TESTBED_REQUIRE_NETNS=1`.

// Skips say why, and measured figures are shown, on stderr.
#![allow(clippy::print_stderr)]

mod cleanup;
mod faults;
mod runner;
mod shaping;
mod support;
mod traffic;
