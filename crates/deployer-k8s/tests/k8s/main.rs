//! The Kubernetes deployer end to end on a real cluster (the one
//! `KUBECONFIG` names; CI starts its own with `cargo xtask k8s up`) with
//! real demo-node pods: a smoke run, node faults, network faults and pause
//! through the fault agent, partitions made with NetworkPolicy, the clear
//! errors for a missing image and a
//! crash-looping node, and reaping by lease. After
//! every run, nothing labelled with its run id is left in the cluster.
//!
//! Every test skips with a printed reason when no cluster answers, unless
//! `TESTBED_REQUIRE_K8S=1` (set by CI), which makes that a failure.

// A skipped test says why on stderr, where the test harness shows it.
#![allow(clippy::print_stderr)]

mod errors;
mod faults;
mod interrupt;
mod network;
mod policies;
mod smoke;
mod support;
