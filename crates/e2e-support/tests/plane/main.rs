//! The network plane end to end, the same tests on local processes and on
//! Docker: demo-node in the modes that real node software has (strict
//! membership derived from addresses, peers learned at run time, a UDP
//! channel), and every kind of network fault measured by its effect on
//! the nodes' own traffic counters.
//!
//! Local tests skip with a printed reason where the plane cannot run (not
//! root), failed instead under `TESTBED_REQUIRE_NETNS=1`; Docker tests skip
//! where no engine answers, failed instead under `TESTBED_REQUIRE_DOCKER=1`.

// A skipped test says why, and measured figures are shown, on stderr.
#![allow(clippy::print_stderr)]

mod descriptors;
mod discovery;
mod links;
mod membership;
mod support;
