//! A custom expectation in one closure, and `and` / `or` / `not` to combine
//! checks.

use std::sync::Arc;

use futures::future::BoxFuture;
use scenario_core::prelude::*;

type CheckFn = dyn Fn(RunContext) -> BoxFuture<'static, Result<Verdict, BoxError>> + Send + Sync;

/// An expectation made from a closure; combine with [`Check::and`],
/// [`Check::or`] and [`Check::not`].
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

    /// Both verdicts, joined by a rule on whether each passed.
    fn combine(self, other: Check, word: &str, rule: fn(bool, bool) -> bool) -> Check {
        let name = format!("{} {word} {}", self.name, other.name);
        check(name, move |ctx| {
            let (a, b) = (self.clone(), other.clone());
            async move {
                let left = a.verdict(ctx.clone()).await?;
                let right = b.verdict(ctx).await?;
                let message = format!("{}; {}", left.message, right.message);
                Ok(if rule(left.passed, right.passed) {
                    Verdict::pass(message)
                } else {
                    Verdict::fail(message)
                })
            }
        })
    }

    /// Holds when both hold.
    pub fn and(self, other: Check) -> Check {
        self.combine(other, "and", |a, b| a && b)
    }

    /// Holds when either holds.
    pub fn or(self, other: Check) -> Check {
        self.combine(other, "or", |a, b| a || b)
    }

    /// Holds when this does not.
    #[allow(clippy::should_implement_trait)] // Reads as a combinator, like kube's Condition::not.
    pub fn not(self) -> Check {
        let name = format!("not {}", self.name);
        check(name, move |ctx| {
            let inner = self.clone();
            async move {
                let verdict = inner.verdict(ctx).await?;
                let message = format!("expected the opposite of: {}", verdict.message);
                Ok(if verdict.passed {
                    Verdict::fail(message)
                } else {
                    Verdict::pass(message)
                })
            }
        })
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
