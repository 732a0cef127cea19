//! The OpenAI-compatible HTTP API over an [`Engine`]: `/v1/chat/completions`,
//! `/v1/completions`, `/v1/models`, `/metrics`. The handlers only map the wire format onto the
//! engine; generation, batching and adapters live there, payments and attribution beside it.

mod error;
pub mod gate;
mod generate;
pub mod grounding;
mod metrics;
pub mod wire;

pub use error::ApiError;
pub use metrics::Metrics;

use crate::chat_template::ChatTemplate;
use crate::serve::engine::{AdapterId, Engine};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::{Arc, RwLock};
use wire::{ModelCard, ModelList};

/// One model id clients may ask for: the base, or one adapter on it.
#[derive(Clone)]
pub struct ServedModel {
    /// What clients put in `model`.
    pub id: String,
    /// `None` for the base model.
    pub adapter: Option<AdapterId>,
    /// The chain's model id, when the model is registered (paid requests name it).
    pub chain_model: Option<attribution_primitives::ModelId>,
    pub created: u64,
    pub owned_by: String,
    /// Answers from the rows of the version the model was trained on, attributed.
    pub grounding: Option<Arc<grounding::Grounding>>,
}

/// What the handlers share.
pub struct ApiState {
    pub engine: Engine,
    pub chat_template: Option<ChatTemplate>,
    pub special: crate::data::SpecialTokens,
    /// The base model's id; adapters list it as their `parent`.
    pub base: String,
    pub models: RwLock<Vec<ServedModel>>,
    /// Most new tokens a request may ask for.
    pub max_tokens_limit: usize,
    pub metrics: Metrics,
    /// What a token costs, when requests are paid (the operator's price on chain).
    pub price_per_token: Option<u128>,
    /// Paid inference: checks authorizations and records what was served.
    pub gate: Option<Arc<dyn gate::Gate>>,
    /// How grounded answers' sources are attributed (`--attribution-method`).
    pub attribution: crate::rag::method::Method,
    /// AT2's coefficients for the base model, when known (`--theta`, or committed with the
    /// worker): what `contextcite-prior-v1` serves and recomputes with.
    pub theta: Option<Arc<crate::rag::at2::Theta>>,
    /// What the runtime computes on (`--weights`, `--kv-cache`).
    pub numerics: crate::serve::runtime::Numerics,
}

impl ApiState {
    pub fn model(&self, id: &str) -> Option<ServedModel> {
        self.models
            .read()
            .unwrap()
            .iter()
            .find(|m| m.id == id)
            .cloned()
    }

    /// Adds or replaces a model clients may ask for.
    pub fn serve(&self, model: ServedModel) {
        let mut models = self.models.write().unwrap();
        match models.iter_mut().find(|m| m.id == model.id) {
            Some(served) => *served = model,
            None => models.push(model),
        }
    }
}

/// Lets web apps on other origins (the studio) call the API. Nothing is exposed that a direct
/// client could not already ask for: paid requests carry their own signed authorization.
pub fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(crate::daemon::paid::AUTHORIZATION_HEADER),
        ])
}

/// Largest request body the API reads: a prompt filling any context we serve is far smaller.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// The API's routes (mount beside `/health` and `/status`).
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(generate::chat))
        .route("/v1/completions", post(generate::completion))
        .route("/metrics", get(metrics::render))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_declared_oversize))
        .with_state(state)
}

/// Answers 413 before reading a body whose declared length is over the limit, so the client
/// reads the error instead of a reset connection halfway through sending. Chunked bodies are
/// cut by [`DefaultBodyLimit`] as they arrive.
async fn refuse_declared_oversize(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return ApiError::too_large().into_response();
    }
    next.run(request).await
}

async fn models(State(state): State<Arc<ApiState>>) -> Json<ModelList> {
    let data = state
        .models
        .read()
        .unwrap()
        .iter()
        .map(|m| ModelCard {
            id: m.id.clone(),
            object: "model",
            created: m.created,
            owned_by: m.owned_by.clone(),
            parent: m.adapter.map(|_| state.base.clone()),
            price_per_token: state.price_per_token.map(|p| p.to_string()),
            chain_model: m.chain_model,
            attribution_method: m.grounding.as_ref().map(|g| g.method_name(&g.method)),
        })
        .collect();
    Json(ModelList {
        object: "list",
        data,
    })
}
