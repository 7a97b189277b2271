//! The facade only re-exports (DESIGN.md: "adds no logic beyond assembly").
//!
//! Allowed in `crates/testbed/src/**/*.rs`:
//! - `pub use …` (with any attributes: `#[doc(inline)]`, `#[cfg(feature)]`);
//! - modules (`mod x;`, whose file is checked in turn, or inline `pub mod
//!   prelude { … }`) holding only what is allowed here;
//! - docs and crate attributes (they are not items);
//! - any item under `#[cfg(doctest)]`: it exists only while rustdoc compiles
//!   the guide's and the README's examples, never in the library.
//!
//! Everything else is logic and belongs in a member crate: `fn`, `impl`,
//! `struct`, `enum`, `union`, `trait`, `type`, `static`, `const`, macros,
//! `extern` blocks, `extern crate`, and private `use` (an import only code
//! needs).

use std::path::Path;

use super::{Violation, has_cfg, rust_files};

/// The facade's sources, relative to the workspace root.
const FACADE_SRC: &str = "crates/testbed/src";

pub(super) fn check(root: &Path) -> anyhow::Result<Vec<Violation>> {
    let mut found = Vec::new();
    for file in rust_files(root, &root.join(FACADE_SRC))? {
        found.extend(facade_violations(&file.shown, &file.text));
    }
    Ok(found)
}

/// Every item of one facade file that is not a re-export.
pub(crate) fn facade_violations(shown: &str, text: &str) -> Vec<Violation> {
    match syn::parse_file(text) {
        Ok(file) => {
            let mut found = Vec::new();
            items(shown, &file.items, &mut found);
            found
        }
        Err(error) => vec![Violation(format!(
            "{shown} does not parse as Rust, so tidy cannot check that the facade only re-exports: {error}"
        ))],
    }
}

fn items(shown: &str, items: &[syn::Item], found: &mut Vec<Violation>) {
    for item in items {
        let what = match item {
            syn::Item::Use(item) if has_cfg(&item.attrs, "doctest") => None,
            syn::Item::Use(item) => (!matches!(item.vis, syn::Visibility::Public(_)))
                .then(|| "a private `use` (an import only code needs)".to_owned()),
            syn::Item::Mod(item) if has_cfg(&item.attrs, "doctest") => None,
            syn::Item::Mod(item) => {
                if let Some((_, content)) = &item.content {
                    self::items(shown, content, found);
                }
                None
            }
            syn::Item::Const(item) => logic(&item.attrs, "const", &item.ident),
            syn::Item::Enum(item) => logic(&item.attrs, "enum", &item.ident),
            syn::Item::ExternCrate(item) => logic(&item.attrs, "extern crate", &item.ident),
            syn::Item::Fn(item) => logic(&item.attrs, "fn", &item.sig.ident),
            syn::Item::Static(item) => logic(&item.attrs, "static", &item.ident),
            syn::Item::Struct(item) => logic(&item.attrs, "struct", &item.ident),
            syn::Item::Trait(item) => logic(&item.attrs, "trait", &item.ident),
            syn::Item::TraitAlias(item) => logic(&item.attrs, "trait", &item.ident),
            syn::Item::Type(item) => logic(&item.attrs, "type", &item.ident),
            syn::Item::Union(item) => logic(&item.attrs, "union", &item.ident),
            syn::Item::Impl(item) => (!has_cfg(&item.attrs, "doctest")).then(|| {
                let mut what = "an `impl` block".to_owned();
                if let syn::Type::Path(path) = item.self_ty.as_ref()
                    && let Some(last) = path.path.segments.last()
                {
                    what = format!("an `impl` block for {}", last.ident);
                }
                what
            }),
            syn::Item::Macro(item) => (!has_cfg(&item.attrs, "doctest")).then(|| {
                let name = item
                    .mac
                    .path
                    .segments
                    .last()
                    .map_or_else(String::new, |segment| segment.ident.to_string());
                format!("a macro item (`{name}!`)")
            }),
            syn::Item::ForeignMod(item) => {
                (!has_cfg(&item.attrs, "doctest")).then(|| "an `extern` block".to_owned())
            }
            _ => Some("an item tidy does not know".to_owned()),
        };
        if let Some(what) = what {
            found.push(Violation(format!(
                "{shown}: {what}: the testbed facade only re-exports (`pub use`); \
                 logic lives in a member crate (DESIGN.md)"
            )));
        }
    }
}

/// `kind ident` as a violation, unless the item exists only for doctests.
fn logic(attrs: &[syn::Attribute], kind: &str, ident: &syn::Ident) -> Option<String> {
    (!has_cfg(attrs, "doctest")).then(|| format!("`{kind} {ident}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facade_of_re_exports_docs_and_doctests_is_fine() {
        let text = r#"//! The facade.
#![doc = "more docs"]
#[doc(inline)]
pub use scenario_core::*;
#[cfg(feature = "local")]
pub use deployer_local as local;
mod more;
pub mod prelude {
    #[doc(inline)]
    pub use scenario_core::prelude::*;
}
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct Readme;
#[cfg(doctest)]
mod guide {
    struct Chapter;
    fn helper() {}
}
"#;
        let found = facade_violations("crates/testbed/src/lib.rs", text);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn logic_in_the_facade_is_reported_item_by_item() {
        let text = r#"//! A facade that grew logic.
pub use scenario_core::*;
use std::time::Duration;
pub fn default_window() -> Duration { Duration::from_secs(30) }
pub const WINDOW: u64 = 30;
static COUNT: u32 = 0;
pub struct Wrapper;
impl Wrapper { pub fn new() -> Self { Self } }
pub mod prelude {
    pub use scenario_core::prelude::*;
    pub trait Ext {}
    pub type Window = u64;
}
macro_rules! helper { () => {} }
#[cfg(not(doctest))]
enum Hidden {}
"#;
        let found = facade_violations("crates/testbed/src/lib.rs", text);
        let what: Vec<String> = found
            .iter()
            .map(|v| {
                v.0.trim_start_matches("crates/testbed/src/lib.rs: ")
                    .split(": the testbed facade")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            what,
            [
                "a private `use` (an import only code needs)",
                "`fn default_window`",
                "`const WINDOW`",
                "`static COUNT`",
                "`struct Wrapper`",
                "an `impl` block for Wrapper",
                "`trait Ext`",
                "`type Window`",
                "a macro item (`macro_rules!`)",
                "`enum Hidden`",
            ]
        );
    }

    #[test]
    fn a_facade_file_that_does_not_parse_is_reported() {
        let found = facade_violations("crates/testbed/src/lib.rs", "pub use {;\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].0.contains("does not parse"), "{found:?}");
    }
}
