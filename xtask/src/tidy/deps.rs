//! The dependency rules: the direction rules of DESIGN.md over the graph of
//! workspace crates, and no dependency a crate does not use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use cargo_metadata::{DependencyKind, Metadata};

use super::{SourceFile, Violation, rust_files};

/// The manifest comment that keeps a dependency the sources do not name
/// (e.g. one that is there only to turn on a feature of another crate),
/// followed by the reason. On the dependency's line or the line above it.
const USED_FOR: &str = "# tidy: used for ";

pub(super) fn check(root: &Path, metadata: &Metadata) -> anyhow::Result<Vec<Violation>> {
    let members: BTreeSet<&str> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut graph = BTreeMap::new();
    for package in metadata.workspace_packages() {
        let deps = package
            .dependencies
            .iter()
            .filter(|dep| dep.kind != DependencyKind::Development)
            .map(|dep| dep.name.clone())
            .filter(|name| members.contains(name.as_str()) && *name != package.name.as_str())
            .collect();
        graph.insert(package.name.clone(), deps);
    }
    let mut found = direction_violations(&graph);
    for package in metadata.workspace_packages() {
        let manifest_path = package.manifest_path.as_std_path();
        let manifest = std::fs::read_to_string(manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let dir = manifest_path.parent().unwrap_or(root);
        let sources = rust_files(root, dir)?;
        let declared: Vec<Declared> = package
            .dependencies
            .iter()
            .map(|dep| Declared {
                key: dep.rename.clone().unwrap_or_else(|| dep.name.clone()),
                kind: Kind::from(dep.kind),
            })
            .collect();
        found.extend(unused_dependencies(
            &package.name,
            &manifest,
            &declared,
            &sources,
        ));
    }
    Ok(found)
}

/// Crates besides the deployers that may depend on `netplane` (k8s-agent:
/// the Kubernetes deployer's sidecar, which runs the plane's fault engine
/// in each pod).
const NETPLANE_USERS: [&str; 5] = ["testbed", "examples", "xtask", "e2e-support", "k8s-agent"];

/// The dependency-direction rules of DESIGN.md over a graph of workspace
/// crates to the workspace crates they depend on (dev-dependencies excluded).
pub(crate) fn direction_violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Violation> {
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
                    "only deployers (and the facade, examples, xtask, e2e-support, k8s-agent) may depend on netplane",
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
                    && !["testbed", "testbed-cli", "examples", "xtask", "e2e-support"]
                        .contains(&k) =>
                {
                    Some(
                        "only tests, examples, xtask and the testbed binary (scenario files name it) may depend on demo-node",
                    )
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

/// Which table of a manifest a dependency is declared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Normal,
    Dev,
    Build,
}

impl From<DependencyKind> for Kind {
    fn from(kind: DependencyKind) -> Self {
        match kind {
            DependencyKind::Development => Self::Dev,
            DependencyKind::Build => Self::Build,
            _ => Self::Normal,
        }
    }
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Self::Normal => "dependencies",
            Self::Dev => "dev-dependencies",
            Self::Build => "build-dependencies",
        }
    }
}

/// One dependency as a manifest declares it: its key (the name it is used
/// under, i.e. the rename if any) and its table.
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    pub(crate) key: String,
    pub(crate) kind: Kind,
}

/// The dependencies of `krate` that its sources never name.
///
/// A dependency is named when its identifier (the key with `-` as `_`)
/// starts a path (`tokio::spawn`, `#[async_trait::async_trait]`, `use
/// serde::Serialize`), or follows `use` or `extern crate`. A path segment
/// further in (`scenario_core::async_trait`) does not count: that is another
/// crate's re-export. Normal and build dependencies count only in code (not
/// in comments); dev-dependencies also in doc comments, because doctests
/// compile against them. Every `.rs` file of the crate counts (src, tests,
/// benches, examples, build script).
pub(crate) fn unused_dependencies(
    krate: &str,
    manifest: &str,
    declared: &[Declared],
    sources: &[SourceFile],
) -> Vec<Violation> {
    let exempt = exemptions(manifest);
    let code: String = sources
        .iter()
        .flat_map(|file| file.text.lines())
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let everything: String = sources
        .iter()
        .map(|file| file.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for dep in declared {
        if !seen.insert((dep.kind, dep.key.as_str()))
            || exempt.contains(&(dep.kind, dep.key.clone()))
        {
            continue;
        }
        let ident = dep.key.replace('-', "_");
        let text = if dep.kind == Kind::Dev {
            &everything
        } else {
            &code
        };
        if !names_crate(text, &ident) {
            found.push(Violation(format!(
                "{krate} declares `{}` in [{}] but its sources never use `{ident}`: \
                 remove it, or say why it stays with `{}…` in Cargo.toml",
                dep.key,
                dep.kind.table(),
                USED_FOR.trim_end()
            )));
        }
    }
    found
}

/// Whether `text` names the crate `ident` at the start of a path or in a
/// `use` / `extern crate`.
pub(crate) fn names_crate(text: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ident).any(|(at, _)| {
        let before = &text[..at];
        let after = &text[at + ident.len()..];
        if before.chars().next_back().is_some_and(is_ident)
            || after.chars().next().is_some_and(is_ident)
        {
            return false;
        }
        let path_start = after.starts_with("::")
            && !before.ends_with("::")
            && !before.ends_with('.')
            && !before.ends_with('$');
        let before = before.trim_end();
        let declared = ["use", "extern crate"].iter().any(|keyword| {
            before
                .strip_suffix(keyword)
                .is_some_and(|rest| !rest.chars().next_back().is_some_and(is_ident))
        });
        path_start || declared
    })
}

/// The `(table, key)` of every dependency a manifest exempts with
/// [`USED_FOR`] and a reason, on its line or the line above.
fn exemptions(manifest: &str) -> BTreeSet<(Kind, String)> {
    let mut exempt = BTreeSet::new();
    let mut table: Option<Kind> = None;
    let mut previous = "";
    for line in manifest.lines() {
        let trimmed = line.trim();
        let says_why = |text: &str| {
            text.split_once(USED_FOR)
                .is_some_and(|(_, reason)| !reason.trim().is_empty())
        };
        let explained = says_why(trimmed) || (previous.starts_with('#') && says_why(previous));
        if let Some(header) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map(|(header, _)| header.trim())
        {
            // `[dependencies]`, `[target.'cfg(unix)'.dev-dependencies]`, or
            // `[dependencies.tokio]` (one table per dependency).
            table = None;
            let mut key = None;
            for kind in [Kind::Normal, Kind::Dev, Kind::Build] {
                let name = kind.table();
                if header == name || header.ends_with(&format!(".{name}")) {
                    table = Some(kind);
                } else if let Some((_, dep)) = header.split_once(&format!("{name}."))
                    && (header.starts_with(name) || header.contains(&format!(".{name}.")))
                {
                    key = Some((kind, dep.trim_matches('"').to_owned()));
                }
            }
            if let Some(key) = key.filter(|_| explained) {
                exempt.insert(key);
            }
        } else if let Some(kind) = table
            && explained
            && let Some((key, _)) = trimmed.split_once(['=', '.'])
            && !trimmed.starts_with('#')
        {
            exempt.insert((kind, key.trim().trim_matches('"').to_owned()));
        }
        previous = trimmed;
    }
    exempt
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
    fn a_deployer_depending_on_another_deployer_is_a_violation() {
        let found = direction_violations(&graph(&[
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
        let found = direction_violations(&graph(&[("scenario-core", &["node-http"])]));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn observers_depending_on_deployers_or_each_other_are_violations() {
        let found = direction_violations(&graph(&[
            ("workloads", &["scenario-core", "deployer-local"]),
            ("expectations", &["blockfeed", "scenario-core", "node-http"]),
        ]));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn the_allowed_layering_has_no_violation() {
        let found = direction_violations(&graph(&[
            ("scenario-core", &[]),
            ("node-http", &["scenario-core"]),
            ("deploykit", &["scenario-core"]),
            (
                "deployer-local",
                &["scenario-core", "node-http", "deploykit"],
            ),
            ("deployer-compose", &["scenario-core", "deploykit"]),
            ("expectations", &["scenario-core", "node-http"]),
            ("testbed", &["scenario-core", "deployer-local", "demo-node"]),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn netplane_depends_only_on_the_core_and_only_deployers_depend_on_it() {
        let found = direction_violations(&graph(&[
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
    fn a_crate_is_named_only_where_a_path_or_a_use_starts_with_it() {
        assert!(names_crate("let x = tokio::spawn(f);", "tokio"));
        assert!(names_crate("#[async_trait::async_trait]", "async_trait"));
        assert!(names_crate("#[tokio::test]", "tokio"));
        assert!(names_crate("use serde;", "serde"));
        assert!(names_crate("pub use bollard;", "bollard"));
        assert!(names_crate("extern crate rand;", "rand"));
        // Another crate's re-export, a longer name, a method, a word.
        assert!(!names_crate("#[scenario_core::async_trait]", "async_trait"));
        assert!(!names_crate("use serde_json::Value;", "serde"));
        assert!(!names_crate("x.tokio::<u8>()", "tokio"));
        assert!(!names_crate("let tracing = 1; reuse tracing", "tracing"));
        assert!(!names_crate("misuse tracing", "tracing"));
    }

    fn sources(texts: &[&str]) -> Vec<SourceFile> {
        texts
            .iter()
            .enumerate()
            .map(|(number, text)| SourceFile {
                shown: format!("src/f{number}.rs"),
                text: (*text).to_owned(),
            })
            .collect()
    }

    fn declared(deps: &[(&str, Kind)]) -> Vec<Declared> {
        deps.iter()
            .map(|(key, kind)| Declared {
                key: (*key).to_owned(),
                kind: *kind,
            })
            .collect()
    }

    #[test]
    fn a_dependency_the_sources_never_use_is_a_violation() {
        let manifest = "[dependencies]\ntokio = \"1\"\nasync-trait = \"0.1\"\ntracing = \"0.1\"\n";
        let found = unused_dependencies(
            "blockfeed",
            manifest,
            &declared(&[
                ("tokio", Kind::Normal),
                ("async-trait", Kind::Normal),
                ("tracing", Kind::Normal),
            ]),
            &sources(
                &["//! Uses tokio; `tracing::debug!` only in this comment.\n\
                 #[scenario_core::async_trait]\nimpl X for Y {}\n\
                 fn f() { tokio::spawn(g()); }\n"],
            ),
        );
        let named: Vec<&str> = found.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(found.len(), 2, "{named:?}");
        assert!(named[0].starts_with("blockfeed declares `async-trait` in [dependencies]"));
        assert!(named[1].starts_with("blockfeed declares `tracing` in [dependencies]"));
    }

    #[test]
    fn dev_dependencies_count_in_doctests_and_tests() {
        let manifest = "[dev-dependencies]\ntempfile = \"3\"\nproptest = \"1\"\n";
        let deps = declared(&[("tempfile", Kind::Dev), ("proptest", Kind::Dev)]);
        let found = unused_dependencies(
            "x",
            manifest,
            &deps,
            &sources(&["//! ```\n//! let dir = tempfile::tempdir()?;\n//! ```\n"]),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("`proptest` in [dev-dependencies]"));
    }

    #[test]
    fn a_dependency_kept_for_a_stated_reason_is_exempt() {
        let manifest = "\
[dependencies]
# tidy: used for turning on hyper's client feature for deploykit
hyper = { version = \"1\", features = [\"client\"] }
bytes = \"1\" # tidy: used for bytes' serde feature
http.workspace = true
# tidy: used for
tower = \"0.5\"

[dependencies.rand]
# tidy: used for nothing, but on the wrong line
version = \"0.9\"

[dev-dependencies]
hyper = \"1\"
";
        let deps = declared(&[
            ("hyper", Kind::Normal),
            ("bytes", Kind::Normal),
            ("http", Kind::Normal),
            ("tower", Kind::Normal),
            ("rand", Kind::Normal),
            ("hyper", Kind::Dev),
        ]);
        let found = unused_dependencies("x", manifest, &deps, &sources(&["//! Nothing.\n"]));
        let named: Vec<&str> = found.iter().map(|v| v.0.as_str()).collect();
        // `http` has no reason, `tower`'s reason is empty, `rand`'s is not
        // at its header, and the dev-dependency on hyper has none.
        assert_eq!(named.len(), 4, "{named:?}");
        assert!(named[0].contains("`http` in [dependencies]"));
        assert!(named[1].contains("`tower` in [dependencies]"));
        assert!(named[2].contains("`rand` in [dependencies]"));
        assert!(named[3].contains("`hyper` in [dev-dependencies]"));
    }

    #[test]
    fn exemptions_are_read_per_table_and_for_dependency_tables() {
        let manifest = "\
[dependencies]
a = \"1\" # tidy: used for a reason
[target.'cfg(unix)'.dev-dependencies]
# tidy: used for the unix tests' features
b = \"1\"
# tidy: used for the build script's features
[build-dependencies.c]
version = \"1\"
";
        let exempt = exemptions(manifest);
        assert_eq!(
            exempt,
            BTreeSet::from([
                (Kind::Normal, "a".to_owned()),
                (Kind::Dev, "b".to_owned()),
                (Kind::Build, "c".to_owned()),
            ])
        );
    }
}
