//! Planning nodes on local processes, before anything starts: each node
//! listens on ports reserved on the run's address, keeps its data under its
//! directory in the run, and reaches every peer's peer ports through the
//! link proxy for that directed link (API ports directly). The launch is
//! rendered and checked by `deploykit`, and its program must be runnable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit::plan;
use scenario_core::{HostPort, LaunchSpec, NodeFiles, NodeId, NodeKind, NodeSlot, PortSpec};

use crate::error::{Error, Result, io};

/// One node, rendered and checked, not yet started.
pub(crate) struct NodePlan {
    pub(crate) slot: NodeSlot,
    pub(crate) spec: LaunchSpec,
    pub(crate) program: PathBuf,
    pub(crate) files: NodeFiles,
    /// Where it listens, per port name.
    pub(crate) listen: BTreeMap<String, HostPort>,
    /// The network namespace it starts in (network plane only).
    pub(crate) namespace: Option<netplane::NodeNamespace>,
}

/// Where a node reaches a member: `reach(peer, port)`.
pub(crate) type Reach<'a> = dyn Fn(&NodeSlot, &PortSpec) -> HostPort + 'a;

/// Plan `slot` in a cluster of `members`, listening at `listen`.
pub(crate) fn plan_node(
    kind: &dyn NodeKind,
    run_dir: &Path,
    slot: &NodeSlot,
    members: &[NodeSlot],
    listen: BTreeMap<String, HostPort>,
    reach: &Reach<'_>,
) -> Result<NodePlan> {
    let files = NodeFiles::of(run_dir, &slot.id);
    let view = plan::view(
        slot,
        members,
        &kind.ports(),
        listen.clone(),
        files.data.display().to_string(),
        reach,
    );
    let spec = plan::render(kind, &view)?;
    let program = spec
        .require_program()
        .map_err(|problem| plan::unusable(&slot.id, problem))?
        .to_path_buf();
    check_program(&slot.id, &program)?;
    Ok(NodePlan {
        slot: slot.clone(),
        spec,
        program,
        files,
        listen,
        namespace: None,
    })
}

/// The program must be an executable file.
fn check_program(node: &NodeId, program: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let unusable = |problem: &str| Error::ProgramUnusable {
        node: node.clone(),
        program: program.to_path_buf(),
        problem: problem.to_owned(),
    };
    let metadata = std::fs::metadata(program).map_err(|_| unusable("does not exist"))?;
    if !metadata.is_file() {
        return Err(unusable("is not a file"));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(unusable("is not executable"));
    }
    Ok(())
}

impl NodePlan {
    /// Create the node's data directory and write its launch files (their
    /// paths were checked to stay inside it).
    pub(crate) fn write_files(&self) -> Result<()> {
        let id = &self.slot.id;
        std::fs::create_dir_all(&self.files.data)
            .map_err(io(format!("create the data directory of {id}")))?;
        for file in &self.spec.files {
            let path = self.files.data.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(format!(
                    "create the directory of {} for {id}",
                    file.path
                )))?;
            }
            std::fs::write(&path, &file.contents)
                .map_err(io(format!("write {} for {id}", file.path)))?;
        }
        Ok(())
    }
}
