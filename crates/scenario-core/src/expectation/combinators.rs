//! `and`, `or` and `not` on every [`Expectation`], the way kube-runtime's
//! `Condition` composes: `Liveness::new(..).and(Agreement)` is itself an
//! expectation, with both baselines captured, both verdicts in its message
//! and figures, the union of their requirements, and continuous checks
//! combined by the same rule.

use async_trait::async_trait;

use super::{Expectation, Verdict};
use crate::context::RunContext;
use crate::error::BoxError;
use crate::workload::Requirements;

/// The combinators, for every expectation: `use scenario_core::ExpectationExt`
/// (it is in the prelude).
pub trait ExpectationExt: Expectation + Sized {
    /// Holds when both hold.
    fn and<B: Expectation>(self, other: B) -> And<Self, B> {
        And(Pair::new(self, other, "and"))
    }

    /// Holds when either holds.
    fn or<B: Expectation>(self, other: B) -> Or<Self, B> {
        Or(Pair::new(self, other, "or"))
    }

    /// Holds when this does not.
    fn not(self) -> Not<Self> {
        Not {
            name: format!("not {}", self.name()),
            inner: self,
        }
    }
}

impl<E: Expectation> ExpectationExt for E {}

/// Two expectations judged together, named `a and b` / `a or b`.
struct Pair<A, B> {
    name: String,
    left: A,
    right: B,
}

impl<A: Expectation, B: Expectation> Pair<A, B> {
    fn new(left: A, right: B, word: &str) -> Self {
        Self {
            name: format!("{} {word} {}", left.name(), right.name()),
            left,
            right,
        }
    }

    fn requirements(&self) -> Requirements {
        self.left.requirements().union(self.right.requirements())
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.left.capture(ctx).await?;
        self.right.capture(ctx).await
    }

    async fn evaluate(
        &self,
        ctx: &RunContext,
        rule: fn(bool, bool) -> bool,
    ) -> Result<Verdict, BoxError> {
        let left = self.left.evaluate(ctx).await?;
        let right = self.right.evaluate(ctx).await?;
        Ok(joined(rule(left.passed, right.passed), &left, &right))
    }
}

/// One verdict from two: both messages, both figures and series (prefixed
/// with the side's name where they would clash).
fn joined(passed: bool, left: &Verdict, right: &Verdict) -> Verdict {
    let message = format!("{}; {}", left.message, right.message);
    let mut verdict = if passed {
        Verdict::pass(message)
    } else {
        Verdict::fail(message)
    };
    for side in [left, right] {
        verdict.figures.extend(side.figures.clone());
        verdict.series.extend(side.series.clone());
    }
    verdict
}

/// `a and b`: see [`ExpectationExt::and`].
pub struct And<A, B>(Pair<A, B>);

/// `a or b`: see [`ExpectationExt::or`].
pub struct Or<A, B>(Pair<A, B>);

/// `not a`: see [`ExpectationExt::not`].
pub struct Not<A> {
    name: String,
    inner: A,
}

#[async_trait]
impl<A: Expectation, B: Expectation> Expectation for And<A, B> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn requirements(&self) -> Requirements {
        self.0.requirements()
    }
    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.0.capture(ctx).await
    }
    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.0.evaluate(ctx, |a, b| a && b).await
    }
    /// Fails as soon as either side fails.
    async fn check_now(&self, ctx: &RunContext) -> Result<Option<Verdict>, BoxError> {
        let left = self.0.left.check_now(ctx).await?;
        let right = self.0.right.check_now(ctx).await?;
        Ok([left, right].into_iter().flatten().find(|v| !v.passed))
    }
}

#[async_trait]
impl<A: Expectation, B: Expectation> Expectation for Or<A, B> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn requirements(&self) -> Requirements {
        self.0.requirements()
    }
    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.0.capture(ctx).await
    }
    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.0.evaluate(ctx, |a, b| a || b).await
    }
    /// Fails early only when both sides have failed.
    async fn check_now(&self, ctx: &RunContext) -> Result<Option<Verdict>, BoxError> {
        let left = self.0.left.check_now(ctx).await?;
        let right = self.0.right.check_now(ctx).await?;
        Ok(match (left, right) {
            (Some(l), Some(r)) if !l.passed && !r.passed => Some(joined(false, &l, &r)),
            _ => None,
        })
    }
}

#[async_trait]
impl<A: Expectation> Expectation for Not<A> {
    fn name(&self) -> &str {
        &self.name
    }
    fn requirements(&self) -> Requirements {
        self.inner.requirements()
    }
    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.inner.capture(ctx).await
    }
    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let verdict = self.inner.evaluate(ctx).await?;
        let message = format!("expected the opposite of: {}", verdict.message);
        let mut flipped = if verdict.passed {
            Verdict::fail(message)
        } else {
            Verdict::pass(message)
        };
        flipped.figures = verdict.figures;
        flipped.series = verdict.series;
        Ok(flipped)
    }
    // No continuous check: that the inner one has not failed *yet* says
    // nothing about whether it will hold at the end.
}
