//! Shared pieces of the compose end-to-end tests: the engine (or a printed
//! skip), the demo-node image built once per test process, and the
//! "nothing left" check; the demo-node scenarios come from `e2e-support`.

use deployer_compose::bollard::Docker;
use deployer_compose::image::ImageBuilder;
pub(crate) use e2e_support::{demo_node, scenario};
use scenario_core::prelude::*;

/// Set to `1` to make "no engine" a failure instead of a skip (CI does).
const REQUIRE_ENV: &str = "TESTBED_REQUIRE_DOCKER";

/// The engine, or `None` after printing why the test is skipped.
pub(crate) async fn engine(test: &str) -> Option<Docker> {
    match deployer_compose::connect(None).await {
        Ok(docker) => Some(docker),
        Err(e) if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_ENV}=1 but the Docker engine is unusable: {e}")
        }
        Err(e) => {
            eprintln!("skipped {test}: {e} (set {REQUIRE_ENV}=1 to fail instead)");
            None
        }
    }
}

static IMAGE_BUILT: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// The engine with the demo-node image of this build in it.
pub(crate) async fn engine_with_image(test: &str) -> Option<Docker> {
    let docker = engine(test).await?;
    let mut built = IMAGE_BUILT.lock().await;
    if !*built {
        ImageBuilder::new(demo_node().program(), demo_node::DEFAULT_IMAGE)
            .build(&docker)
            .await
            .expect("the demo-node image builds");
        *built = true;
    }
    Some(docker)
}

/// Nothing labelled with the run's id is left: no container, network or
/// volume (what `docker ps -a`, `docker network ls` and `docker volume ls`
/// filtered by the label would list).
pub(crate) async fn assert_nothing_left(docker: &Docker, report: &Report) {
    let left = deployer_compose::leftovers(docker, &report.run_id)
        .await
        .expect("the engine lists resources");
    assert!(left.is_empty(), "run {} left {left:?}", report.run_id);
}
