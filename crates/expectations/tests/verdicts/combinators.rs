//! `and`, `or`, `not` on closures and built-in expectations.

use super::*;

#[tokio::test(start_paused = true)]
async fn closures_combine_with_and_or_and_not() {
    let high = || check("high", |_ctx| async { Ok(Verdict::pass("height is high")) });
    let low = || check("low", |_ctx| async { Ok(Verdict::fail("height is low")) });
    let kind = || StubKind {
        finalized: same,
        forks: never,
    };
    assert!(!judge(kind(), high().and(low())).await.0);
    assert!(judge(kind(), high().or(low())).await.0);
    let (passed, message) = judge(kind(), low().not()).await;
    assert!(passed);
    assert_eq!(message, "expected the opposite of: height is low");
}

#[tokio::test(start_paused = true)]
async fn built_in_expectations_combine_with_each_other_and_with_closures() {
    let forked = StubKind {
        finalized: same,
        forks: |id| id == "validator-1",
    };
    let combined = Agreement.and(check("fine", |_ctx| async { Ok(Verdict::pass("fine")) }));
    assert_eq!(combined.name(), "agreement and fine");
    let (passed, message) = judge(forked, combined).await;
    assert!(!passed, "{message}");
    assert!(message.ends_with("; fine"), "{message}");

    let healthy = || StubKind {
        finalized: same,
        forks: never,
    };
    let either = Agreement.or(Recovery::within(Duration::from_secs(2)));
    assert!(judge(healthy(), either).await.0);
    assert!(!judge(healthy(), Agreement.not()).await.0);
}
