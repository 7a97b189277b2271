//! A custom expectation in one closure. It combines with any other
//! expectation through `ExpectationExt` (`and`, `or`, `not`).

use std::sync::Arc;

use futures::future::BoxFuture;
use scenario_core::prelude::*;

type CheckFn = dyn Fn(RunContext) -> BoxFuture<'static, Result<Verdict, BoxError>> + Send + Sync;

/// An expectation made from a closure; combine it with any expectation
/// through [`ExpectationExt`](scenario_core::ExpectationExt).
#[derive(Clone)]
pub struct Check {
    name: String,
    run: Arc<CheckFn>,
}

/// A custom expectation: `check("height-above-10", |ctx| async move { … })`.
pub fn check<F, Fut>(name: impl Into<String>, run: F) -> Check
where
    F: Fn(RunContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Verdict, BoxError>> + Send + 'static,
{
    Check {
        name: name.into(),
        run: Arc::new(move |ctx| Box::pin(run(ctx))),
    }
}

impl Check {
    async fn verdict(&self, ctx: RunContext) -> Result<Verdict, BoxError> {
        (self.run)(ctx).await
    }
}

#[async_trait]
impl Expectation for Check {
    fn name(&self) -> &str {
        &self.name
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.verdict(ctx.clone()).await
    }
}
