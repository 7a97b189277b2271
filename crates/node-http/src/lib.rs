//! The node testing API of testbed: a small, versioned HTTP/JSON contract a
//! node implements so the framework needs no adapter code.
//!
//! * [`wire`] — the routes and the JSON bodies, shared by nodes and clients;
//! * [`merkle`] — the DA commitment and sample proofs, so a client can verify
//!   what a node answers;
//! * `client` (feature `client`, on by default) — [`NodeHttpClient`], a
//!   hyper + tower client implementing scenario-core's `NodeClient`
//!   (timeouts, retries of idempotent requests with backoff, and a
//!   concurrency limit, as tower layers), configured by [`ClientConfig`];
//!   and [`verify_sample`], which checks a DA sample's proof on the client
//!   side.
//!
//! Depend on it with `default-features = false` from a node written in Rust
//! that wants the wire types without the framework. The contract itself is
//! documented in the guide's "Node testing API" chapter.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `client` | yes | [`NodeHttpClient`], [`ClientConfig`], [`verify_sample`]; pulls in scenario-core, tokio, hyper, tower |

#[cfg(feature = "client")]
mod client;
pub mod merkle;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{ClientConfig, NodeHttpClient, verify_sample};
