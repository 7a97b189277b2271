//! testbed's runnable examples live in `examples/` of this crate: `cargo run
//! -p examples --example <name>`. This library part is empty on purpose.
