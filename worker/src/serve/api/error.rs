//! Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with the status a
//! client library maps to its exception (400 bad request, 402 payment, 404 model, 429 busy).

use crate::serve::engine::Refused;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub param: Option<&'static str>,
    pub message: String,
}

impl ApiError {
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_value",
            param: Some(param),
            message: message.into(),
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_json",
            param: None,
            message: message.into(),
        }
    }

    pub fn unknown_model(model: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "model_not_found",
            param: Some("model"),
            message: format!("the model `{model}` does not exist or is not served here"),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "not_found",
            param: None,
            message: "no such endpoint".into(),
        }
    }

    /// A body larger than the API reads ([`super::MAX_BODY_BYTES`]).
    pub fn too_large() -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "invalid_request_error",
            code: "request_too_large",
            param: None,
            message: format!(
                "the request body is larger than {} bytes",
                super::MAX_BODY_BYTES
            ),
        }
    }

    pub fn payment(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::PAYMENT_REQUIRED,
            kind: "payment_error",
            code,
            param: None,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "server_error",
            code: "internal_error",
            param: None,
            message: message.into(),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        let message = refused.to_string();
        match refused {
            Refused::Busy => Self {
                status: StatusCode::TOO_MANY_REQUESTS,
                kind: "rate_limit_error",
                code: "too_many_requests",
                param: None,
                message,
            },
            Refused::TooLong { .. } => Self {
                status: StatusCode::BAD_REQUEST,
                kind: "invalid_request_error",
                code: "context_length_exceeded",
                param: Some("messages"),
                message,
            },
            Refused::UnknownAdapter(_) => Self {
                status: StatusCode::NOT_FOUND,
                kind: "invalid_request_error",
                code: "model_not_found",
                param: Some("model"),
                message,
            },
            Refused::EmptyPrompt => Self::invalid("messages", message),
            Refused::Stopped => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }});
        (self.status, Json(body)).into_response()
    }
}
