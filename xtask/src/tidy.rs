//! The workspace's architecture and hygiene rules, checked by reading the
//! workspace (cargo metadata and the source tree). Runs as `cargo xtask tidy`
//! and as a plain `#[test]`, so `cargo test` enforces DESIGN.md.
//!
//! Rules:
//! - `scenario-core` depends on no crate of the workspace;
//! - no `deployer-*` crate depends on another `deployer-*` crate;
//! - `blockfeed`, `workloads` and `expectations` depend on no deployer and
//!   not on each other;
//! - `node-http`, `deploykit` and `netplane` depend on no workspace crate
//!   but `scenario-core`;
//! - only deployers (and the `testbed` facade, `examples`, `xtask` and
//!   `e2e-support`) depend on `netplane`;
//! - nothing but the `testbed` facade, `examples`, `xtask` and
//!   `e2e-support` (the deployers' shared test scaffolding) depends on
//!   `demo-node` (tests may, through dev-dependencies);
//! - every `.rs` file starts with a `//!` line saying what it is for;
//! - no `todo!`, `unimplemented!`, `#[ignore]` or `#[should_panic]` in
//!   shipped or test code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cargo_metadata::{DependencyKind, MetadataCommand};

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
    let members: BTreeSet<String> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let mut graph = BTreeMap::new();
    for package in metadata.workspace_packages() {
        let deps = package
            .dependencies
            .iter()
            .filter(|dep| dep.kind != DependencyKind::Development)
            .map(|dep| dep.name.clone())
            .filter(|name| members.contains(name) && *name != package.name.as_str())
            .collect();
        graph.insert(package.name.clone(), deps);
    }
    let mut violations = dependency_violations(&graph);
    violations.extend(source_violations(&root)?);
    Ok(violations)
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Crates besides the deployers that may depend on `netplane`.
const NETPLANE_USERS: [&str; 4] = ["testbed", "examples", "xtask", "e2e-support"];

/// The dependency-direction rules of DESIGN.md over a graph of workspace
/// crates to the workspace crates they depend on (dev-dependencies excluded).
pub(crate) fn dependency_violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Violation> {
    let is_deployer = |name: &str| name.starts_with("deployer-");
    let observers = ["blockfeed", "workloads", "expectations"];
    let mut found = Vec::new();
    for (krate, deps) in graph {
        for dep in deps {
            let broken = match krate.as_str() {
                "scenario-core" => Some("scenario-core must depend on no workspace crate"),
                "node-http" | "deploykit" | "netplane" if dep != "scenario-core" => {
                    Some("node-http, deploykit and netplane may depend only on scenario-core")
                }
                k if dep == "netplane" && !is_deployer(k) && !NETPLANE_USERS.contains(&k) => Some(
                    "only deployers (and the facade, examples, xtask, e2e-support) may depend on netplane",
                ),
                k if is_deployer(k) && is_deployer(dep) => {
                    Some("a deployer never depends on another deployer")
                }
                k if observers.contains(&k)
                    && (is_deployer(dep) || observers.contains(&dep.as_str())) =>
                {
                    Some(
                        "blockfeed, workloads and expectations depend on no deployer and not on each other",
                    )
                }
                k if dep == "demo-node"
                    && !["testbed", "examples", "xtask", "e2e-support"].contains(&k) =>
                {
                    Some("only tests, examples and xtask may depend on demo-node")
                }
                _ => None,
            };
            if let Some(rule) = broken {
                found.push(Violation(format!(
                    "{krate} depends on {dep}: {rule} (DESIGN.md)"
                )));
            }
        }
    }
    found
}

/// Directories whose `.rs` files are checked.
const SOURCE_DIRS: [&str; 3] = ["crates", "xtask", "examples"];

fn source_violations(root: &Path) -> anyhow::Result<Vec<Violation>> {
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        collect_rust_files(&root.join(dir), &mut files)?;
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        found.extend(file_violations(&shown, &text));
    }
    Ok(found)
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

/// The per-file hygiene rules.
pub(crate) fn file_violations(shown: &str, text: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    if !text.trim_start().starts_with("//!") {
        found.push(Violation(format!(
            "{shown} does not start with a `//!` line saying what it is for"
        )));
    }
    // Built from pieces so that this file does not trip its own rule.
    let macros = [
        (concat!("todo", "!("), "unfinished code (todo!)"),
        (
            concat!("unimplemented", "!("),
            "unfinished code (unimplemented!)",
        ),
    ];
    let attributes = [
        (
            concat!("#[", "ignore"),
            "#[ignore]: skip with a printed reason instead",
        ),
        (
            concat!("#[", "should_panic"),
            "#[should_panic]: assert on the error instead",
        ),
    ];
    for (number, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let broken = macros
            .iter()
            .filter(|(pattern, _)| code.contains(pattern))
            .chain(
                attributes
                    .iter()
                    .filter(|(pattern, _)| code.starts_with(pattern)),
            );
        for (_, why) in broken {
            found.push(Violation(format!("{shown}:{}: {why}", number + 1)));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(k, deps)| {
                (
                    k.to_string(),
                    deps.iter().map(ToString::to_string).collect(),
                )
            })
            .collect()
    }

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
    fn a_deployer_depending_on_another_deployer_is_a_violation() {
        let found = dependency_violations(&graph(&[
            ("deployer-local", &["scenario-core", "deployer-compose"]),
            ("deployer-compose", &["scenario-core"]),
        ]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .0
                .starts_with("deployer-local depends on deployer-compose")
        );
    }

    #[test]
    fn the_core_depending_on_any_workspace_crate_is_a_violation() {
        let found = dependency_violations(&graph(&[("scenario-core", &["node-http"])]));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn observers_depending_on_deployers_or_each_other_are_violations() {
        let found = dependency_violations(&graph(&[
            ("workloads", &["scenario-core", "deployer-local"]),
            ("expectations", &["blockfeed", "scenario-core", "node-http"]),
        ]));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn the_allowed_layering_has_no_violation() {
        let found = dependency_violations(&graph(&[
            ("scenario-core", &[]),
            ("node-http", &["scenario-core"]),
            ("deploykit", &["scenario-core"]),
            (
                "deployer-local",
                &["scenario-core", "node-http", "deploykit"],
            ),
            (
                "deployer-compose",
                &["scenario-core", "deploykit", "netplane"],
            ),
            ("netplane", &["scenario-core"]),
            ("expectations", &["scenario-core", "node-http"]),
            (
                "testbed",
                &["scenario-core", "deployer-local", "demo-node", "netplane"],
            ),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn netplane_depends_only_on_the_core_and_only_deployers_depend_on_it() {
        let found = dependency_violations(&graph(&[
            ("netplane", &["scenario-core", "deploykit"]),
            ("workloads", &["scenario-core", "netplane"]),
            ("deployer-local", &["scenario-core", "netplane"]),
        ]));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].0.starts_with("netplane depends on deploykit"),
            "{found:?}"
        );
        assert!(
            found[1].0.starts_with("workloads depends on netplane"),
            "{found:?}"
        );
    }

    #[test]
    fn a_file_without_a_module_doc_or_with_banned_markers_is_reported() {
        let text = format!(
            "fn f() {{ {}\"x\") }}\n    {}]\nfn g() {{}}\n",
            concat!("todo", "!("),
            concat!("#[", "ignore")
        );
        let found = file_violations("crates/x/src/lib.rs", &text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(file_violations("ok.rs", "//! Fine.\nfn f() {}\n").is_empty());
    }
}
