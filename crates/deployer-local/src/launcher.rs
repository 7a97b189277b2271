//! Starting planned nodes as processes, the same for deploy and join: write
//! the launch files, spawn the process in its group, and record it for
//! cleanup and in the run marker (so a reaper finds it after a SIGKILL).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use scenario_core::{DeployEnv, FailureReporter, HostPort, PortSpec, Timeline};

use crate::control::LocalNode;
use crate::error::{Result, io};
use crate::marker::MarkerFile;
use crate::network::RunNetwork;
use crate::plan::NodePlan;
use crate::process::NodeProcess;

/// Every node process started in the run, for cleanup to stop.
pub(crate) type Started = Arc<Mutex<Vec<Arc<NodeProcess>>>>;

/// What starting a node needs from the run.
pub(crate) struct Launcher {
    pub(crate) net: Arc<RunNetwork>,
    pub(crate) started: Started,
    pub(crate) marker: Arc<MarkerFile>,
    timeline: Timeline,
    failures: FailureReporter,
}

impl Launcher {
    pub(crate) fn new(
        env: &DeployEnv,
        net: Arc<RunNetwork>,
        started: Started,
        marker: Arc<MarkerFile>,
    ) -> Self {
        Self {
            net,
            started,
            marker,
            timeline: env.timeline().clone(),
            failures: env.failure_reporter(),
        }
    }

    /// Start `plan`'s node (not waiting for it to be ready); the runner
    /// reaches it at `endpoints`.
    pub(crate) fn start(
        &self,
        plan: &NodePlan,
        endpoints: BTreeMap<String, HostPort>,
        ports: &[PortSpec],
    ) -> Result<LocalNode> {
        plan.write_files()?;
        let process = NodeProcess::new(
            plan.slot.id.clone(),
            plan.program.clone(),
            plan.spec.args.clone(),
            plan.spec.env.clone(),
            plan.files.data.clone(),
            plan.files.log.clone(),
            plan.namespace.clone(),
            self.timeline.clone(),
            self.failures.clone(),
        );
        let pid = process.spawn()?;
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&process));
        self.marker
            .add_node(plan.slot.id.as_str(), pid)
            .map_err(io("update the run marker"))?;
        Ok(LocalNode {
            process,
            readiness: plan.spec.readiness.clone(),
            endpoints,
            ports: ports
                .iter()
                .map(|port| (port.name.clone(), port.container_port))
                .collect(),
            net: Arc::clone(&self.net),
        })
    }
}
