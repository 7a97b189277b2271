//! The boxed error accepted at the user-code boundary (workloads,
//! expectations, node kinds, deployers).

/// The error type accepted from user code (workloads, expectations, node
/// kinds, deployers): anything that is an error and can cross threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
