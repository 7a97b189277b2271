//! Where a run keeps each node's files, by the convention every deployer and
//! every log-reading expectation follows: `<run dir>/nodes/<id>/` holding
//! `node.log` and, on backends whose data lives on the host, `data/`.

use std::path::{Path, PathBuf};

use crate::topology::NodeId;

/// The directory under a run's artifact directory that holds one
/// directory per node.
pub const NODES_DIR: &str = "nodes";

/// The name of a node's log file inside its directory.
pub const NODE_LOG: &str = "node.log";

/// One node's files under a run's artifact directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeFiles {
    /// `<run dir>/nodes/<id>`.
    pub dir: PathBuf,
    /// `<run dir>/nodes/<id>/data`: the node's data directory on backends
    /// that keep it on the host (local processes).
    pub data: PathBuf,
    /// `<run dir>/nodes/<id>/node.log`: the node's output, across restarts.
    pub log: PathBuf,
}

impl NodeFiles {
    /// The files of `node` in the run whose artifact directory is `run_dir`.
    pub fn of(run_dir: &Path, node: &NodeId) -> Self {
        let dir = nodes_dir(run_dir).join(node.as_str());
        Self {
            data: dir.join("data"),
            log: dir.join(NODE_LOG),
            dir,
        }
    }
}

/// `<run dir>/nodes`: emptied and removed after a passing run.
pub fn nodes_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(NODES_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_files_sit_under_nodes_and_its_id() {
        let files = NodeFiles::of(Path::new("/runs/r1"), &NodeId::new("validator-0"));
        assert_eq!(files.dir, Path::new("/runs/r1/nodes/validator-0"));
        assert_eq!(files.log, Path::new("/runs/r1/nodes/validator-0/node.log"));
        assert_eq!(files.data, Path::new("/runs/r1/nodes/validator-0/data"));
    }
}
