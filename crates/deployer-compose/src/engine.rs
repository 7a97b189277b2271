//! Reaching the Docker engine: connect as `DOCKER_HOST` (or the local
//! socket) says, negotiate the API version down to what the engine speaks,
//! and turn "nobody answers" into one clear error before anything starts.

use std::time::Duration;

use bollard::Docker;

use crate::error::{Error, Result};

/// The variable that points at the engine, e.g. `unix:///var/run/docker.sock`
/// or `tcp://127.0.0.1:2375`.
pub const DOCKER_HOST_ENV: &str = "DOCKER_HOST";

/// How long the engine gets to answer the first request.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Where the engine is looked for: `host`, else `DOCKER_HOST`, else the
/// local socket.
pub fn engine_address(host: Option<&str>) -> String {
    host.map(str::to_owned)
        .or_else(|| {
            std::env::var(DOCKER_HOST_ENV)
                .ok()
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// An error with every cause it carries, e.g. `client error (Connect): tcp
/// connect error: Connection refused (os error 111)`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// Connect to the engine at `host` (see [`engine_address`]) and check that
/// it answers, with the API version negotiated down to the engine's.
pub async fn connect(host: Option<&str>) -> Result<Docker> {
    let address = engine_address(host);
    let unreachable = |reason: String| Error::EngineUnreachable {
        host: address.clone(),
        reason,
    };
    let docker = Docker::connect_with_host(&address).map_err(|e| unreachable(with_causes(&e)))?;
    match tokio::time::timeout(ANSWER_WITHIN, docker.negotiate_version()).await {
        Ok(Ok(docker)) => Ok(docker),
        Ok(Err(e)) => Err(unreachable(with_causes(&e))),
        Err(_) => Err(unreachable(format!("no answer within {ANSWER_WITHIN:?}"))),
    }
}
