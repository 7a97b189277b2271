//! The core-API rule on small sources: what leaks, what does not, and the
//! allow-list.

use super::*;

fn externals() -> BTreeSet<String> {
    [
        "tokio",
        "tokio_util",
        "serde",
        "serde_json",
        "futures",
        "rand_chacha",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn check(text: &str, allowed: &[(&str, &str)]) -> Vec<String> {
    let files = [("crates/scenario-core/src/x.rs".to_owned(), text.to_owned())];
    api_violations(&files, &externals(), allowed)
        .into_iter()
        .map(|v| v.0)
        .collect()
}

/// The external path a violation names.
fn named(violation: &str) -> &str {
    violation.split('`').nth(1).unwrap_or_default()
}

#[test]
fn external_types_in_the_public_surface_are_reported() {
    let text = r#"//! A core module that leaks.
use tokio::time::Instant;
use tokio::sync;
use rand_chacha::ChaCha8Rng as Rng;
use serde::Serialize;
pub fn started() -> Instant { Instant::now() }
pub struct Context { pub rng: Option<Rng>, private: tokio::task::JoinSet<()> }
pub enum Event { Sent(sync::mpsc::Sender<u8>) }
pub type Stream = futures::stream::BoxStream<'static, u8>;
#[derive(Clone, Serialize)]
pub struct Plain;
pub trait Feed: Send { fn subscribe(&self) -> tokio_util::sync::CancellationToken; }
impl From<tokio::task::JoinError> for Plain { fn from(_: tokio::task::JoinError) -> Self { Plain } }
pub use tokio_util::sync::DropGuard;
"#;
    let found = check(text, &[]);
    let mut paths: Vec<&str> = found.iter().map(|v| named(v)).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "futures::stream::BoxStream",
            "rand_chacha::ChaCha8Rng",
            "serde::Serialize",
            "tokio::sync::mpsc::Sender",
            "tokio::task::JoinError",
            "tokio::time::Instant",
            "tokio_util::sync::CancellationToken",
            "tokio_util::sync::DropGuard",
        ],
        "{found:#?}"
    );
}

#[test]
fn private_crate_visible_test_and_body_uses_are_not_the_api() {
    let text = r#"//! A core module that keeps its dependencies inside.
use tokio::time::Instant;
use crate::Timeline;
pub(crate) fn started() -> Instant { Instant::now() }
pub(super) struct Inner { pub at: Instant }
struct Hidden { pub at: Instant }
pub struct Outer { at: Instant, pub timeline: Timeline }
impl Outer {
pub fn elapsed_ms(&self) -> u64 { let now: tokio::time::Instant = Instant::now(); 0 }
fn at(&self) -> Instant { self.at }
}
impl From<tokio::task::JoinError> for Hidden { fn from(_: tokio::task::JoinError) -> Self { todo() } }
#[cfg(test)]
mod tests { pub fn helper() -> tokio::time::Instant { tokio::time::Instant::now() } }
pub fn std_only(at: std::time::Instant) -> ::std::time::Duration { at.elapsed() }
"#;
    let found = check(text, &[]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn allow_listed_paths_pass_and_unneeded_entries_are_reported() {
    let text = r#"//! A core module within its allow-list, but one.
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
#[derive(Debug, Serialize, Deserialize)]
pub struct Block { pub height: u64, pub extra: serde_json::Value }
pub type BlockStream = BoxStream<'static, Block>;
"#;
    let allowed = [
        ("futures::stream::BoxStream", "the stream type"),
        ("serde", "derives"),
        ("tokio::time::Instant", "no longer used"),
    ];
    let found = check(text, &allowed);
    assert_eq!(found.len(), 2, "{found:#?}");
    // An entry matches whole segments: `serde` is no `serde_json`.
    assert_eq!(named(&found[0]), "serde_json::Value");
    assert!(found[1].contains("allow-lists `tokio::time::Instant`"));
    let allowed = [
        ("futures::stream::BoxStream", "the stream type"),
        ("serde", "derives"),
        ("serde_json::Value", "free-form figures"),
    ];
    assert!(check(text, &allowed).is_empty());
}

#[test]
fn the_allow_list_gives_a_reason_for_every_entry() {
    for (entry, reason) in ALLOWED {
        assert!(reason.len() > 20, "{entry} needs a reason");
    }
}

#[test]
fn every_module_resolves_names_through_its_own_imports() {
    // The prelude's `crate::async_trait` must not hide the root's external
    // re-export, and an inline module's import counts inside it only.
    let text = r#"//! Scopes.
pub use async_trait::async_trait;
use crate::Instant;
pub fn local() -> Instant { Instant }
pub mod prelude {
    pub use crate::async_trait;
}
pub mod timing {
    use tokio::time::Instant;
    pub fn started() -> Instant { Instant::now() }
}
"#;
    let files = [(
        "crates/scenario-core/src/lib.rs".to_owned(),
        text.to_owned(),
    )];
    let externals = BTreeSet::from(["async_trait".to_owned(), "tokio".to_owned()]);
    let found: Vec<String> = api_violations(&files, &externals, &[])
        .into_iter()
        .map(|v| v.0)
        .collect();
    let paths: Vec<&str> = found.iter().map(|v| named(v)).collect();
    assert_eq!(
        paths,
        ["async_trait::async_trait", "tokio::time::Instant"],
        "{found:#?}"
    );
}
