//! The control API on the pod's loopback (reached through a port-forward)
//! and the probe listener on every address of the pod.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use netplane::agent::{Connected, SignalRequest, Signalled, Status, Sync};
use serde::Deserialize;

use crate::agent::{Agent, Refused};
use crate::tap::Path;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) agent: Arc<Agent>,
    /// `None` in a probe-only agent, which diverts nothing.
    pub(crate) path: Option<Path>,
}

type Answer<T> = Result<Json<T>, (StatusCode, String)>;

fn refused(error: &Refused) -> (StatusCode, String) {
    let code = match error {
        Refused::Lapsed(_) => StatusCode::CONFLICT,
        Refused::NotSynced => StatusCode::PRECONDITION_FAILED,
        Refused::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    (code, error.to_string())
}

/// The control API's routes.
pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/sync", put(sync))
        .route("/renew", post(renew))
        .route("/signal", post(signal))
        .route("/connect", get(connect))
        .with_state(shared)
}

async fn status(State(shared): State<Shared>) -> Json<Status> {
    Json(shared.agent.status())
}

async fn sync(State(shared): State<Shared>, Json(sync): Json<Sync>) -> Answer<Status> {
    let Some(path) = &shared.path else {
        return Err((
            StatusCode::NOT_IMPLEMENTED,
            "this agent diverts no traffic (started with --probe-only)".to_owned(),
        ));
    };
    let steps = shared.agent.sync(sync).map_err(|error| refused(&error))?;
    path.carry_out(steps);
    Ok(Json(shared.agent.status()))
}

async fn renew(State(shared): State<Shared>) -> Answer<Status> {
    shared.agent.renew().map_err(|error| refused(&error))?;
    Ok(Json(shared.agent.status()))
}

async fn signal(
    State(shared): State<Shared>,
    Json(request): Json<SignalRequest>,
) -> Answer<Signalled> {
    let processes = crate::signals::send(&request.signal)
        .map_err(|reason| (StatusCode::UNPROCESSABLE_ENTITY, reason))?;
    match request.signal.as_str() {
        "SIGSTOP" => shared.agent.set_paused(true),
        "SIGCONT" => shared.agent.set_paused(false),
        _ => {}
    }
    Ok(Json(Signalled { processes }))
}

#[derive(Deserialize)]
struct ConnectQuery {
    to: SocketAddr,
}

async fn connect(Query(query): Query<ConnectQuery>) -> Json<Connected> {
    let attempt = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(query.to),
    )
    .await;
    Json(match attempt {
        Ok(Ok(_)) => Connected {
            connected: true,
            error: None,
        },
        Ok(Err(error)) => Connected {
            connected: false,
            error: Some(error.to_string()),
        },
        Err(_) => Connected {
            connected: false,
            error: Some("no answer within 1 s".to_owned()),
        },
    })
}

/// Accept and close connections on the probe listener, for as long as the
/// agent runs.
pub(crate) async fn serve_probe(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(stream);
    }
}
