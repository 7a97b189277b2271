//! The workspace's architecture and hygiene rules, checked by reading the
//! workspace (cargo metadata and the source tree). Runs as `cargo xtask tidy`
//! and as a plain `#[test]`, so `cargo test` enforces DESIGN.md.
//!
//! Rules, by module:
//!
//! [`deps`], the dependency graph:
//! - `scenario-core` depends on no crate of the workspace;
//! - no `deployer-*` crate depends on another `deployer-*` crate;
//! - `blockfeed`, `workloads` and `expectations` depend on no deployer and
//!   not on each other;
//! - `node-http` and `deploykit` depend on no workspace crate but
//!   `scenario-core`;
//! - nothing but the `testbed` facade, `examples`, `xtask` and
//!   `e2e-support` (the deployers' shared test scaffolding) depends on
//!   `demo-node` (tests may, through dev-dependencies);
//! - no crate keeps a dependency it does not use: every dependency in a
//!   member's Cargo.toml is named in its `.rs` files (normal and build
//!   dependencies in code, dev-dependencies also in doc comments, which are
//!   doctests), unless its manifest line says `# tidy: used for …`;
//!
//! [`facade`]: the `testbed` facade only re-exports: its sources hold
//! `pub use`, modules of re-exports and docs, nothing else but
//! `#[cfg(doctest)]` items;
//!
//! [`api`]: `scenario-core`'s public API names no type of its external
//! dependencies but the few on [`api::ALLOWED`], each with its reason (and
//! every entry there is still needed);
//!
//! [`files`], every `.rs` file:
//! - starts with a `//!` line saying what it is for;
//! - has no `todo!`, `unimplemented!`, `#[ignore]` or `#[should_panic]`;
//! - is at most [`files::MAX_LINES`] lines long, or says why it is longer in
//!   a `// tidy: long because …` line.

mod api;
mod deps;
mod facade;
mod files;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cargo_metadata::{Metadata, MetadataCommand};

/// One broken rule, as a sentence naming where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation(String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Run every rule; fail listing all violations.
pub(crate) fn run() -> anyhow::Result<()> {
    let violations = check_workspace()?;
    if violations.is_empty() {
        println!("tidy: all rules hold");
        return Ok(());
    }
    for violation in &violations {
        println!("tidy: {violation}");
    }
    bail!("{} tidy rule(s) broken", violations.len())
}

fn check_workspace() -> anyhow::Result<Vec<Violation>> {
    let root = workspace_root();
    let metadata = MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata failed")?;
    let mut violations = deps::check(&root, &metadata)?;
    violations.extend(files::check(&root)?);
    violations.extend(facade::check(&root)?);
    violations.extend(api::check(&root, &metadata)?);
    Ok(violations)
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// One source file: its path relative to the workspace root (for messages)
/// and its text.
pub(crate) struct SourceFile {
    shown: String,
    text: String,
}

/// Every `.rs` file under `dir`, `target` directories left out, in a stable
/// order.
pub(crate) fn rust_files(root: &Path, dir: &Path) -> anyhow::Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    collect_rust_files(dir, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let shown = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            Ok(SourceFile { shown, text })
        })
        .collect()
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| name == "target") {
            continue;
        }
        if path.is_dir() {
            collect_rust_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The workspace member called `name`.
pub(crate) fn member<'a>(
    metadata: &'a Metadata,
    name: &str,
) -> anyhow::Result<&'a cargo_metadata::Package> {
    metadata
        .workspace_packages()
        .into_iter()
        .find(|package| package.name.as_str() == name)
        .with_context(|| format!("the workspace has no crate {name}"))
}

/// Whether `attrs` hold `#[cfg(flag)]` (exactly that, e.g. `test` or
/// `doctest`).
pub(crate) fn has_cfg(attrs: &[syn::Attribute], flag: &str) -> bool {
    attrs.iter().any(|attr| match &attr.meta {
        syn::Meta::List(list) => list.path.is_ident("cfg") && list.tokens.to_string() == flag,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_keeps_every_tidy_rule() {
        let violations = check_workspace().unwrap();
        assert!(
            violations.is_empty(),
            "tidy rules broken:\n{}",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn cfg_attributes_are_recognised_exactly() {
        let file = syn::parse_file(
            "#[cfg(doctest)] struct A; #[cfg(test)] mod b {} #[cfg(not(doctest))] struct C;",
        )
        .unwrap();
        let attrs: Vec<&[syn::Attribute]> = file
            .items
            .iter()
            .map(|item| match item {
                syn::Item::Struct(item) => item.attrs.as_slice(),
                syn::Item::Mod(item) => item.attrs.as_slice(),
                _ => &[],
            })
            .collect();
        assert!(has_cfg(attrs[0], "doctest"));
        assert!(has_cfg(attrs[1], "test") && !has_cfg(attrs[1], "doctest"));
        assert!(!has_cfg(attrs[2], "doctest"));
    }
}
