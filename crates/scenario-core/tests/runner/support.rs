//! Shared pieces of the runner tests: a log of what workloads and
//! expectations did, in order, and workloads / expectations that behave as
//! each test needs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scenario_core::fake::{FakeDeployer, FakeNodeKind};
use scenario_core::prelude::*;
use scenario_core::{ScenarioBuilder, report::Report};

/// What happened, in order, across workloads and expectations.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub(crate) fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn position(&self, entry: &str) -> usize {
        self.entries()
            .iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| panic!("{entry} is not in the log {:?}", self.entries()))
    }
}

/// How a [`ScriptedWorkload`] behaves once running.
#[derive(Clone)]
pub(crate) enum Script {
    /// Runs until the window closes.
    UntilCancelled,
    /// Returns this error at once.
    Fail(&'static str),
    /// Panics with this message at once.
    Panic(&'static str),
    /// Never returns, even when cancelled.
    IgnoreCancel,
    /// Restarts a node through node control, then runs until cancelled.
    Restart(&'static str),
    /// Adds a node of this role to the running network, then restarts it
    /// through node control, then runs until cancelled.
    Join(&'static str),
}

pub(crate) struct ScriptedWorkload {
    pub(crate) name: &'static str,
    pub(crate) log: Log,
    pub(crate) script: Script,
    pub(crate) needs: Requirements,
}

impl ScriptedWorkload {
    pub(crate) fn new(name: &'static str, log: &Log, script: Script) -> Self {
        Self {
            name,
            log: log.clone(),
            script,
            needs: Requirements::none(),
        }
    }
}

#[async_trait]
impl Workload for ScriptedWorkload {
    fn name(&self) -> &str {
        self.name
    }

    fn requirements(&self) -> Requirements {
        self.needs.clone()
    }

    async fn init(&self, _ctx: &RunContext) -> Result<(), BoxError> {
        self.log.push(format!("init:{}", self.name));
        Ok(())
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        self.log.push(format!("run:{}", self.name));
        match self.script {
            Script::UntilCancelled => {}
            Script::Fail(message) => return Err(message.into()),
            Script::Panic(message) => panic!("{message}"),
            Script::IgnoreCancel => std::future::pending::<()>().await,
            Script::Restart(node) => {
                let control = ctx.node_control().ok_or("no node control")?;
                control.restart(&NodeId::new(node)).await?;
            }
            Script::Join(role) => {
                let id = ctx.add_node(&Role::custom(role)).await?;
                self.log.push(format!("joined:{id}"));
                let control = ctx.node_control().ok_or("no node control")?;
                control.restart(&id).await?;
            }
        }
        cancel.cancelled().await;
        self.log.push(format!("cancelled:{}", self.name));
        Ok(())
    }

    fn stats(&self) -> WorkloadStats {
        WorkloadStats {
            submitted: 3,
            accepted: 2,
            failed: 1,
            ..WorkloadStats::default()
        }
    }
}

/// How a [`ScriptedExpectation`] judges.
#[derive(Clone, Copy)]
pub(crate) enum Judgement {
    Pass,
    Fail(&'static str),
    Panic(&'static str),
    CaptureError(&'static str),
    /// Fails while the run goes on, from 3 s into it.
    FailEarly(&'static str),
}

pub(crate) struct ScriptedExpectation {
    pub(crate) name: &'static str,
    pub(crate) log: Log,
    pub(crate) judgement: Judgement,
}

impl ScriptedExpectation {
    pub(crate) fn new(name: &'static str, log: &Log, judgement: Judgement) -> Self {
        Self {
            name,
            log: log.clone(),
            judgement,
        }
    }
}

#[async_trait]
impl Expectation for ScriptedExpectation {
    fn name(&self) -> &str {
        self.name
    }

    async fn capture(&self, _ctx: &RunContext) -> Result<(), BoxError> {
        self.log.push(format!("capture:{}", self.name));
        match self.judgement {
            Judgement::CaptureError(message) => Err(message.into()),
            _ => Ok(()),
        }
    }

    async fn check_now(&self, ctx: &RunContext) -> Result<Option<Verdict>, BoxError> {
        Ok(match self.judgement {
            Judgement::FailEarly(message) if ctx.timeline().elapsed_ms() >= 3000 => {
                Some(Verdict::fail(message))
            }
            _ => None,
        })
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.log.push(format!("evaluate:{}", self.name));
        Ok(match self.judgement {
            Judgement::Pass | Judgement::CaptureError(_) | Judgement::FailEarly(_) => {
                Verdict::pass(format!("{} nodes seen", ctx.clients().len()))
                    .figure("nodes", ctx.clients().len() as f64)
            }
            Judgement::Fail(message) => Verdict::fail(message),
            Judgement::Panic(message) => panic!("{message}"),
        })
    }
}

/// A scenario of `validators` fake validators with a one-minute window,
/// writing its artifacts under `root`.
pub(crate) fn scenario(validators: usize, root: &std::path::Path) -> ScenarioBuilder {
    Scenario::builder("runner-test")
        .topology(Topology::new().validators(validators))
        .node_kind(FakeNodeKind)
        .window(Duration::from_secs(60))
        .seed(7)
        .artifacts_root(root)
}

/// Build and run on `deployer`, expecting the run to start.
pub(crate) async fn run(builder: ScenarioBuilder, deployer: &FakeDeployer) -> Report {
    builder
        .build()
        .expect("the test plan is valid")
        .run(deployer)
        .await
        .expect("the run starts")
}

/// Every node cleaned up exactly once.
pub(crate) fn assert_each_cleaned_once(deployer: &FakeDeployer, expected: &[&str]) {
    let cleanups = deployer.probe().cleanups();
    let got: Vec<(&str, usize)> = cleanups.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    let want: Vec<(&str, usize)> = expected.iter().map(|id| (*id, 1)).collect();
    assert_eq!(got, want, "cleanup count per node");
}
