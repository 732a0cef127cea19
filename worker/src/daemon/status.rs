//! The daemon's HTTP API (127.0.0.1:8000 by default): `GET /health` and `GET /status`.
//! With `--serve`, the OpenAI-compatible API shares the port and `/status` adds the serving
//! engine's figures; the web studio reads `/status`.

use crate::daemon::Shared;
use crate::serve::engine::Engine;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

/// What the daemon is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Connecting to the node.
    #[default]
    Starting,
    /// Waiting for a job it can serve.
    Idle,
    /// Fetching and verifying the data, hyper-parameters and base model.
    Fetching,
    Training,
    /// Scoring the base and the adapted model on the held-out rows.
    Evaluating,
    /// Submitting the training proof and uploading the adapter.
    Proving,
    /// The proof is on chain; waiting for its challenge window to pass.
    ChallengeWindow,
    /// Someone challenged the proof; waiting for the resolution.
    Challenged,
    Settling,
}

/// The last proof this worker submitted.
#[derive(Debug, Clone, Serialize)]
pub struct ProofSummary {
    pub job: u64,
    pub adapter_hash: String,
    pub proof_hash: String,
    pub base_loss: f64,
    pub adapted_loss: f64,
    pub base_rouge_l: f64,
    pub adapted_rouge_l: f64,
    /// Finalized block at submission.
    pub block: u32,
}

/// `GET /status`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Status {
    /// The operator account (SS58).
    pub operator: String,
    /// The node's WebSocket URL.
    pub node: String,
    pub connected: bool,
    pub finalized_block: Option<u32>,
    pub phase: Phase,
    pub job: Option<u64>,
    /// Optimizer steps done and planned, while training.
    pub step: usize,
    pub steps: usize,
    pub loss: Option<f32>,
    pub tokens_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    /// Last block of the current proof's challenge window.
    pub challenge_end: Option<u32>,
    pub last_proof: Option<ProofSummary>,
    /// OPEN paid to the operator by settled jobs since the daemon started, in plancks (a
    /// decimal string: the amount does not fit a JSON number).
    pub earned: String,
    pub jobs_settled: u32,
    /// The last thing that went wrong, in words.
    pub last_error: Option<String>,
}

/// The API's routes over the daemon's shared state and, when it serves, its engine.
pub fn router(shared: Shared, serving: Option<Engine>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .fallback(not_found)
        .with_state((shared, serving))
}

async fn health(State((shared, _)): State<(Shared, Option<Engine>)>) -> Response {
    let status = shared.read();
    let (code, state) = if status.connected {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "node unreachable")
    };
    (
        code,
        Json(json!({ "status": state, "phase": status.phase, "finalized_block": status.finalized_block })),
    )
        .into_response()
}

/// The daemon's status, with the serving engine's figures under `serving` when it serves.
async fn status(
    State((shared, serving)): State<(Shared, Option<Engine>)>,
) -> Json<serde_json::Value> {
    let mut status = serde_json::to_value(shared.read().clone()).unwrap_or_default();
    if let Some(engine) = serving {
        status["serving"] = serde_json::to_value(engine.stats()).unwrap_or_default();
    }
    Json(status)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": { "message": "no such endpoint: try GET /health or GET /status", "type": "not_found" } })),
    )
        .into_response()
}
