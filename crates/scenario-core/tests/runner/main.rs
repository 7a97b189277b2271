//! The runner's semantics, tested with the in-process fake deployer and fake
//! nodes: phase order, the window, failures and panics, cleanup on every exit
//! path, and Ctrl-C in a real subprocess.

mod failures;
mod interrupt;
mod lifecycle;
mod support;
