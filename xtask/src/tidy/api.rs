//! The core's public API names only an allow-listed set of external types
//! (STYLE.md: integrators depend on `scenario-core`, so every external type
//! in its API is a version they must match).
//!
//! A simpler cousin of cargo-check-external-types, on the syntax of
//! `crates/scenario-core/src` (read with syn). The public surface is:
//! - `pub fn` signatures (generics, bounds, arguments, return type), free or
//!   in inherent `impl` blocks;
//! - `pub` fields of `pub struct`s, every field of a `pub enum`'s variants,
//!   and the traits a `pub` type derives;
//! - `pub type` aliases, the types of `pub const` and `pub static`;
//! - `pub trait`s: supertraits, and every item's signature, bounds and
//!   default;
//! - trait impls for the crate's `pub` types (the trait, its generic
//!   arguments and associated types);
//! - `pub use` of an external path.
//!
//! `pub(crate)` and `pub(super)` are not public, and `#[cfg(test)]` items
//! are not part of the API. Because the workspace denies `unreachable_pub`,
//! a `pub` item in a private module is one that is re-exported, so every
//! file counts. A path is external when it starts, after resolving the
//! file's `use` imports, with one of the core's normal dependencies (from
//! cargo metadata). Limits: glob imports and external types reached through
//! a crate-internal re-export are not followed (the re-export itself is
//! checked where it is `pub`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cargo_metadata::{DependencyKind, Metadata};
use syn::visit::Visit;

use super::{Violation, has_cfg, member, rust_files};

/// The crate whose API is checked.
const CORE: &str = "scenario-core";

/// The external paths the core's public API may name (a path matches an
/// entry equal to it or to one of its prefixes), each with why it is there.
/// Keep it small: every entry is a version integrators must match. An entry
/// that nothing names any more is reported too.
pub(crate) const ALLOWED: [(&str, &str); 9] = [
    (
        "async_trait::async_trait",
        "the one async-trait mechanism of every object-safe trait, re-exported so \
         implementors use the same version (docs/src/architecture.md, Decisions)",
    ),
    (
        "tokio_util::sync::CancellationToken",
        "how the runner stops workloads and the block feed (`Workload::run`, `FeedStart`); \
         re-exported as `scenario_core::CancellationToken`",
    ),
    (
        "futures::stream::BoxStream",
        "the stream type of `NodeClient::block_stream` and `BlockFeed::subscribe`: \
         the ecosystem's boxed stream, so any node client can return one",
    ),
    (
        "serde::Serialize",
        "the model and the report derive it: report.json and the scenario files",
    ),
    (
        "serde::Deserialize",
        "the model and the report derive it: report.json and the scenario files",
    ),
    (
        "thiserror::Error",
        "a derive only: it implements std's `Error` and `Display`, no thiserror type \
         appears in the API",
    ),
    (
        "serde_json::Value",
        "`WorkloadStats::extra`: free-form figures a workload adds to report.json",
    ),
    (
        "rand_chacha::ChaCha8Rng",
        "`RunContext::rng` and `seeded_rng`: the seeded generator whose seed the report \
         records, so a run's randomness can be replayed",
    ),
    (
        "tokio::time::Instant",
        "`Timeline::started`: the timeline runs on tokio's clock so that paused-time tests \
         (`tokio::time::pause`) see the same time as the runner. Questionable: nothing in \
         the workspace calls it; a std `Instant` or a `Duration` API would keep tokio's \
         clock type out of the core's API",
    ),
];

pub(super) fn check(root: &Path, metadata: &Metadata) -> anyhow::Result<Vec<Violation>> {
    let core = member(metadata, CORE)?;
    let externals: BTreeSet<String> = core
        .dependencies
        .iter()
        .filter(|dep| dep.kind == DependencyKind::Normal)
        .map(|dep| {
            dep.rename
                .clone()
                .unwrap_or_else(|| dep.name.clone())
                .replace('-', "_")
        })
        .collect();
    let dir = core.manifest_path.parent().map_or_else(
        || root.join("crates").join(CORE),
        |dir| dir.as_std_path().to_path_buf(),
    );
    let files: Vec<(String, String)> = rust_files(root, &dir.join("src"))?
        .into_iter()
        .map(|file| (file.shown, file.text))
        .collect();
    Ok(api_violations(&files, &externals, &ALLOWED))
}

/// The external paths that `files` (shown path, text) expose outside
/// `allowed`, and the entries of `allowed` that nothing needs.
pub(crate) fn api_violations(
    files: &[(String, String)],
    externals: &BTreeSet<String>,
    allowed: &[(&str, &str)],
) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut parsed = Vec::new();
    for (shown, text) in files {
        match syn::parse_file(text) {
            Ok(file) => parsed.push((shown, file)),
            Err(error) => found.push(Violation(format!(
                "{shown} does not parse as Rust, so tidy cannot check {CORE}'s public API: {error}"
            ))),
        }
    }
    let mut public_types = BTreeSet::new();
    for (_, file) in &parsed {
        collect_public_types(&file.items, &mut public_types);
    }
    let entry_for = |path: &str| {
        allowed.iter().map(|(entry, _)| *entry).find(|entry| {
            path == *entry
                || path
                    .strip_prefix(entry)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
    };
    let mut needed = BTreeSet::new();
    for (shown, file) in &parsed {
        let mut surface = Surface {
            imports: BTreeMap::new(),
            externals,
            public_types: &public_types,
            exposed: BTreeSet::new(),
        };
        surface.module(&file.items);
        for path in surface.exposed {
            match entry_for(&path) {
                Some(entry) => {
                    needed.insert(entry);
                }
                None => found.push(Violation(format!(
                    "{shown}: {CORE}'s public API names `{path}`, an external type that is \
                     not on the allow-list (xtask/src/tidy/api.rs): keep it out of the API, \
                     or allow-list it with the reason"
                ))),
            }
        }
    }
    for (entry, _) in allowed {
        if !needed.contains(entry) {
            found.push(Violation(format!(
                "xtask/src/tidy/api.rs allow-lists `{entry}`, which {CORE}'s public API no \
                 longer names: remove the entry"
            )));
        }
    }
    found
}

fn is_public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Items that exist only in tests or doctests.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    has_cfg(attrs, "test") || has_cfg(attrs, "doctest")
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(item) => &item.attrs,
        syn::Item::Enum(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Static(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Trait(item) => &item.attrs,
        syn::Item::Type(item) => &item.attrs,
        syn::Item::Union(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        _ => &[],
    }
}

/// The names of the crate's `pub` types and traits, for telling which trait
/// impls are public.
fn collect_public_types(items: &[syn::Item], names: &mut BTreeSet<String>) {
    for item in items.iter().filter(|item| !test_only(item_attrs(item))) {
        let name = match item {
            syn::Item::Enum(item) if is_public(&item.vis) => Some(&item.ident),
            syn::Item::Struct(item) if is_public(&item.vis) => Some(&item.ident),
            syn::Item::Union(item) if is_public(&item.vis) => Some(&item.ident),
            syn::Item::Trait(item) if is_public(&item.vis) => Some(&item.ident),
            syn::Item::Type(item) if is_public(&item.vis) => Some(&item.ident),
            syn::Item::Mod(item) => {
                if let Some((_, content)) = &item.content {
                    collect_public_types(content, names);
                }
                None
            }
            _ => None,
        };
        if let Some(name) = name {
            names.insert(name.to_string());
        }
    }
}

/// Every name the `use` items of one module (not its inline submodules,
/// which have their own scope) bring in, to the path it stands for.
fn module_imports(items: &[syn::Item]) -> BTreeMap<String, Vec<String>> {
    items
        .iter()
        .filter(|item| !test_only(item_attrs(item)))
        .filter_map(|item| match item {
            syn::Item::Use(item) => Some(use_paths(&item.tree)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The `(local name, full path)` pairs of a use tree (globs left out).
fn use_paths(tree: &syn::UseTree) -> Vec<(String, Vec<String>)> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
        let named = |ident: &syn::Ident, prefix: &[String]| {
            let mut full = prefix.to_vec();
            if ident != "self" {
                full.push(ident.to_string());
            }
            full
        };
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                walk(&path.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let full = named(&name.ident, prefix);
                if let Some(last) = full.last() {
                    out.push((last.clone(), full.clone()));
                }
            }
            syn::UseTree::Rename(rename) => {
                out.push((rename.rename.to_string(), named(&rename.ident, prefix)));
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    walk(tree, prefix, out);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// Walks one file's public surface and gathers the external paths it names.
struct Surface<'a> {
    /// The imports of the module being walked.
    imports: BTreeMap<String, Vec<String>>,
    externals: &'a BTreeSet<String>,
    public_types: &'a BTreeSet<String>,
    exposed: BTreeSet<String>,
}

impl Surface<'_> {
    /// `path` with its first segment resolved through the imports (unless
    /// `absolute`: `::x`, or a `use` path), when it starts with an external
    /// crate.
    fn external(&self, absolute: bool, segments: &[String]) -> Option<String> {
        let (first, rest) = segments.split_first()?;
        let full: Vec<String> = match self.imports.get(first) {
            Some(import) if !absolute => import.iter().chain(rest).cloned().collect(),
            _ => segments.to_vec(),
        };
        full.first()
            .is_some_and(|krate| self.externals.contains(krate))
            .then(|| full.join("::"))
    }

    /// The items of one module, in its own import scope.
    fn module(&mut self, items: &[syn::Item]) {
        let outer = std::mem::replace(&mut self.imports, module_imports(items));
        self.items(items);
        self.imports = outer;
    }

    fn items(&mut self, items: &[syn::Item]) {
        for item in items.iter().filter(|item| !test_only(item_attrs(item))) {
            match item {
                syn::Item::Fn(item) if is_public(&item.vis) => self.signature(&item.sig),
                syn::Item::Struct(item) if is_public(&item.vis) => {
                    self.derives(&item.attrs);
                    self.visit_generics(&item.generics);
                    self.fields(&item.fields, true);
                }
                syn::Item::Union(item) if is_public(&item.vis) => {
                    self.derives(&item.attrs);
                    self.visit_generics(&item.generics);
                    for field in item.fields.named.iter().filter(|f| is_public(&f.vis)) {
                        self.visit_type(&field.ty);
                    }
                }
                syn::Item::Enum(item) if is_public(&item.vis) => {
                    self.derives(&item.attrs);
                    self.visit_generics(&item.generics);
                    for variant in &item.variants {
                        self.fields(&variant.fields, false);
                    }
                }
                syn::Item::Type(item) if is_public(&item.vis) => {
                    self.visit_generics(&item.generics);
                    self.visit_type(&item.ty);
                }
                syn::Item::Const(item) if is_public(&item.vis) => self.visit_type(&item.ty),
                syn::Item::Static(item) if is_public(&item.vis) => self.visit_type(&item.ty),
                syn::Item::Trait(item) if is_public(&item.vis) => self.public_trait(item),
                syn::Item::Impl(item) => self.impl_block(item),
                syn::Item::Use(item) if is_public(&item.vis) => {
                    for (_, path) in use_paths(&item.tree) {
                        if let Some(full) = self.external(true, &path) {
                            self.exposed.insert(full);
                        }
                    }
                }
                syn::Item::Mod(item) => {
                    if let Some((_, content)) = &item.content {
                        self.module(content);
                    }
                }
                _ => {}
            }
        }
    }

    fn signature(&mut self, sig: &syn::Signature) {
        self.visit_generics(&sig.generics);
        for input in &sig.inputs {
            match input {
                syn::FnArg::Typed(arg) => self.visit_type(&arg.ty),
                syn::FnArg::Receiver(receiver) => self.visit_receiver(receiver),
            }
        }
        self.visit_return_type(&sig.output);
    }

    /// A struct's `pub` fields (`only_public`), or all fields of a variant.
    fn fields(&mut self, fields: &syn::Fields, only_public: bool) {
        for field in fields {
            if !only_public || is_public(&field.vis) {
                self.visit_type(&field.ty);
            }
        }
    }

    /// The traits in `#[derive(…)]`.
    fn derives(&mut self, attrs: &[syn::Attribute]) {
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
            let parser = syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated;
            if let Ok(paths) = attr.parse_args_with(parser) {
                for path in &paths {
                    self.visit_path(path);
                }
            }
        }
    }

    fn public_trait(&mut self, item: &syn::ItemTrait) {
        self.visit_generics(&item.generics);
        for bound in &item.supertraits {
            self.visit_type_param_bound(bound);
        }
        for member in &item.items {
            match member {
                syn::TraitItem::Fn(function) => self.signature(&function.sig),
                syn::TraitItem::Type(ty) => {
                    self.visit_generics(&ty.generics);
                    for bound in &ty.bounds {
                        self.visit_type_param_bound(bound);
                    }
                    if let Some((_, default)) = &ty.default {
                        self.visit_type(default);
                    }
                }
                syn::TraitItem::Const(constant) => self.visit_type(&constant.ty),
                _ => {}
            }
        }
    }

    fn impl_block(&mut self, item: &syn::ItemImpl) {
        match &item.trait_ {
            None => {
                for member in &item.items {
                    match member {
                        syn::ImplItem::Fn(function) if is_public(&function.vis) => {
                            self.visit_generics(&item.generics);
                            self.signature(&function.sig);
                        }
                        syn::ImplItem::Const(constant) if is_public(&constant.vis) => {
                            self.visit_type(&constant.ty);
                        }
                        _ => {}
                    }
                }
            }
            Some((trait_path, _)) => {
                let for_public_type =
                    match item.self_ty.as_ref() {
                        syn::Type::Path(path) => path.path.segments.last().is_some_and(|last| {
                            self.public_types.contains(&last.ident.to_string())
                        }),
                        _ => false,
                    };
                if for_public_type {
                    self.visit_generics(&item.generics);
                    self.visit_path(trait_path);
                    self.visit_type(&item.self_ty);
                    for member in &item.items {
                        if let syn::ImplItem::Type(ty) = member {
                            self.visit_type(&ty.ty);
                        }
                    }
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Surface<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        if let Some(full) = self.external(path.leading_colon.is_some(), &segments) {
            self.exposed.insert(full);
        }
        syn::visit::visit_path(self, path);
    }
}

#[cfg(test)]
mod tests;
