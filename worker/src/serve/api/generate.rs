//! `/v1/chat/completions` and `/v1/completions`: validate, tokenize, queue on the engine, then
//! answer at once or stream Server-Sent Events.

use super::gate::{Admission, Outcome, Ticket};
use super::grounding::Grounded;
use super::wire::*;
use super::{ApiError, ApiState, ServedModel};
use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::serve::engine::{
    AdapterId, Event as EngineEvent, FinishReason, Finished, GenerateRequest,
};
use crate::serve::sampling::{Sampling, TokenLogprob as EngineLogprob};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokenizers::Tokenizer;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Most log-probability alternatives per token (OpenAI's bound).
const MAX_TOP_LOGPROBS: i64 = 20;

/// A validated request, ready for the engine.
struct Prepared {
    model: ServedModel,
    /// The retrieved sources, when the model is grounded: the answer is attributed to them.
    grounded: Option<Grounded>,
    request: GenerateRequest,
    stream: bool,
    include_usage: bool,
}

pub async fn chat(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let body = bytes(body)?;
        let request: ChatRequest = parse(&body)?;
        let template = state.chat_template.as_ref().ok_or_else(|| {
            ApiError::invalid(
                "messages",
                "this model has no chat template; use /v1/completions",
            )
        })?;
        if request.messages.is_empty() {
            return Err(ApiError::invalid("messages", "messages must not be empty"));
        }
        let model = state
            .model(&request.common.model)
            .ok_or_else(|| ApiError::unknown_model(&request.common.model))?;
        let messages = chat_messages(&request)?;
        let retrieval = match (request.retrieval, &model.grounding) {
            (Some(true), None) => {
                return Err(ApiError::invalid(
                    "retrieval",
                    format!("model `{}` has no datanet rows to retrieve from", model.id),
                ))
            }
            (retrieval, _) => retrieval.unwrap_or(true),
        };
        // A grounded model answers the last user message from retrieved sources, or the
        // conversation without them when the request asks for no retrieval.
        let grounded = match &model.grounding {
            Some(grounding) => Grounded::for_chat(
                grounding.clone(),
                state.engine.tokenizer(),
                template,
                state.special,
                &messages,
                retrieval,
            )?,
            None => None,
        };
        let prompt = match &grounded {
            Some(grounded) => grounded.layout.full(),
            None => rendered(state.engine.tokenizer(), template, &messages)?,
        };
        let top = match (request.logprobs, request.top_logprobs) {
            (false, Some(_)) => {
                return Err(ApiError::invalid(
                    "top_logprobs",
                    "top_logprobs needs logprobs: true",
                ))
            }
            (false, None) => None,
            (true, top) => Some(bounded(
                "top_logprobs",
                top.unwrap_or(0),
                0,
                MAX_TOP_LOGPROBS,
            )?),
        };
        let mut prepared = prepare(&state, request.common, prompt, top)?;
        // ContextCite reuses the prompt's cache; an answer without sources ablates nothing.
        prepared.request.keep_prompt = grounded
            .as_ref()
            .is_some_and(|g| !g.contributions.is_empty());
        prepared.grounded = grounded;
        let ticket = admit(&state, &headers, &body, &prepared).await?;
        Ok(respond(state.clone(), prepared, ticket, Kind::Chat).await)
    }
    .await;
    finish(&state, "chat", result)
}

pub async fn completion(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let body = bytes(body)?;
        let request: CompletionRequest = parse(&body)?;
        let prompt = tokens_of(state.engine.tokenizer(), &request.prompt, true)?;
        let top = request
            .logprobs
            .map(|n| bounded("logprobs", n, 0, MAX_TOP_LOGPROBS))
            .transpose()?;
        let prepared = prepare(&state, request.common, prompt, top)?;
        let ticket = admit(&state, &headers, &body, &prepared).await?;
        Ok(respond(state.clone(), prepared, ticket, Kind::Completion).await)
    }
    .await;
    finish(&state, "completions", result)
}

fn finish(
    state: &ApiState,
    endpoint: &'static str,
    result: Result<Response, ApiError>,
) -> Response {
    let response = result.unwrap_or_else(IntoResponse::into_response);
    state.metrics.request(endpoint, response.status().as_u16());
    response
}

fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(),
        _ => ApiError {
            status: rejection.status(),
            kind: "invalid_request_error",
            code: "invalid_body",
            param: None,
            message: rejection.body_text(),
        },
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("invalid JSON body: {e}")))
}

/// Passes the request through the deployment's gate (paid inference), if it has one.
async fn admit(
    state: &ApiState,
    headers: &HeaderMap,
    body: &[u8],
    prepared: &Prepared,
) -> Result<Option<Ticket>, ApiError> {
    let Some(gate) = &state.gate else {
        return Ok(None);
    };
    gate.admit(Admission {
        headers,
        body,
        model: &prepared.model,
        prompt_tokens: prepared.request.prompt.len(),
        max_tokens: prepared.request.max_tokens,
    })
    .await
    .map(Some)
}

/// Records what was served for `ticket` (a free deployment has no ticket and no receipt).
/// Attributes the answer (grounded models) and records what was served for `ticket` (a free
/// deployment has no ticket and no receipt): `(attribution, receipt)`.
async fn record(
    state: &ApiState,
    adapter: Option<AdapterId>,
    grounded: Option<Grounded>,
    ticket: Option<Ticket>,
    finished: &Finished,
) -> Result<(Option<serde_json::Value>, Option<serde_json::Value>), ApiError> {
    let (entries, provenance, attribution) = match grounded {
        Some(grounded) => {
            let method = grounded.grounding.method.clone();
            let (entries, provenance, described) = grounded
                .attribute(
                    &state.engine,
                    &method,
                    adapter,
                    finished.tokens.clone(),
                    finished.prompt.as_ref(),
                )
                .await?;
            (entries, provenance, Some(described))
        }
        None => (Default::default(), Default::default(), None),
    };
    let (Some(gate), Some(ticket)) = (&state.gate, ticket) else {
        return Ok((attribution, None));
    };
    let receipt = gate
        .record(
            ticket,
            Outcome {
                answer: &finished.text,
                prompt_tokens: finished.prompt_tokens,
                completion_tokens: finished.tokens.len(),
                attribution: entries,
                provenance,
            },
        )
        .await?;
    Ok((attribution, Some(receipt)))
}

/// Frees `ticket` when its request ends without an answer to charge.
struct Guard<'a> {
    state: &'a ApiState,
    ticket: Option<Ticket>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let (Some(gate), Some(ticket)) = (&self.state.gate, self.ticket.take()) {
            gate.release(ticket);
        }
    }
}

/// A chat request's messages as the chat template takes them: the roles checked (`developer`
/// is `system`), the contents' text.
pub(super) fn chat_messages(request: &ChatRequest) -> Result<Vec<ChatMessage>, ApiError> {
    request
        .messages
        .iter()
        .map(|message| {
            let role = match message.role.as_str() {
                "developer" => "system",
                role @ ("system" | "user" | "assistant") => role,
                role => {
                    return Err(ApiError::invalid(
                        "messages",
                        format!("unsupported role `{role}`"),
                    ))
                }
            };
            Ok(ChatMessage::new(role, &text_of(&message.content)?))
        })
        .collect()
}

/// The tokens of `messages` rendered by the chat template, with the assistant's header.
pub(super) fn rendered(
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    messages: &[ChatMessage],
) -> Result<Vec<u32>, ApiError> {
    let text = template
        .render(messages, true)
        .map_err(|e| ApiError::invalid("messages", format!("chat template: {e:#}")))?;
    tokens_of(tokenizer, &text, false)
}

pub(super) fn text_of(content: &MessageContent) -> Result<String, ApiError> {
    match content {
        MessageContent::Text(text) => Ok(text.clone()),
        MessageContent::Parts(parts) => parts
            .iter()
            .map(|part| match (part.kind.as_str(), &part.text) {
                ("text", Some(text)) => Ok(text.as_str()),
                (kind, _) => Err(ApiError::invalid(
                    "messages",
                    format!("content parts of type `{kind}` are not served; only text"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.concat()),
    }
}

fn tokens_of(tokenizer: &Tokenizer, text: &str, special: bool) -> Result<Vec<u32>, ApiError> {
    let encoding = tokenizer
        .encode(text, special)
        .map_err(|e| ApiError::invalid("prompt", format!("cannot tokenize the prompt: {e}")))?;
    Ok(encoding.get_ids().to_vec())
}

fn bounded(param: &'static str, value: i64, min: i64, max: i64) -> Result<usize, ApiError> {
    if value < min || value > max {
        return Err(ApiError::invalid(
            param,
            format!("{param} must be between {min} and {max}, not {value}"),
        ));
    }
    Ok(value as usize)
}

fn prepare(
    state: &ApiState,
    common: Common,
    prompt: Vec<u32>,
    logprobs: Option<usize>,
) -> Result<Prepared, ApiError> {
    let model = state
        .model(&common.model)
        .ok_or_else(|| ApiError::unknown_model(&common.model))?;
    if common.n.is_some_and(|n| n != 1) {
        return Err(ApiError::invalid("n", "only n = 1 is served"));
    }
    let temperature = common.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::invalid(
            "temperature",
            format!("temperature must be between 0 and 2, not {temperature}"),
        ));
    }
    let top_p = common.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::invalid(
            "top_p",
            format!("top_p must be in (0, 1], not {top_p}"),
        ));
    }
    let top_k = bounded("top_k", common.top_k.unwrap_or(0), 0, i64::from(u32::MAX))?;
    let limit = state.max_tokens_limit as i64;
    let (param, max_tokens) = match (common.max_completion_tokens, common.max_tokens) {
        (Some(n), _) => ("max_completion_tokens", n),
        (None, Some(n)) => ("max_tokens", n),
        (None, None) => ("max_tokens", limit.min(256)),
    };
    let max_tokens = bounded(param, max_tokens, 1, limit)?;
    let stop = common.stop.map(Stop::into_vec).unwrap_or_default();
    if stop.len() > 4 || stop.iter().any(|s| s.len() > 256) {
        return Err(ApiError::invalid(
            "stop",
            "at most 4 stop strings of at most 256 bytes",
        ));
    }
    let seed = common.seed.map(|s| s as u64);
    Ok(Prepared {
        grounded: None,
        request: GenerateRequest {
            adapter: model.adapter,
            prompt,
            max_tokens,
            sampling: Sampling {
                temperature,
                top_p,
                top_k,
                seed,
            },
            stop,
            logprobs,
            keep_prompt: false,
        },
        model,
        stream: common.stream,
        include_usage: common
            .stream_options
            .map(|o| o.include_usage)
            .unwrap_or(false),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Completion,
}

async fn respond(
    state: Arc<ApiState>,
    mut prepared: Prepared,
    ticket: Option<Ticket>,
    kind: Kind,
) -> Response {
    if let Some(ticket) = &ticket {
        prepared.request.max_tokens = ticket.max_tokens;
    }
    let adapter = prepared.request.adapter;
    let mut grounded = prepared.grounded.take();
    let mut events = match state.engine.generate(prepared.request) {
        Ok(events) => events,
        Err(refused) => {
            drop(Guard {
                state: &state,
                ticket,
            });
            return ApiError::from(refused).into_response();
        }
    };
    let id = format!(
        "{}-{}",
        if kind == Kind::Chat {
            "chatcmpl"
        } else {
            "cmpl"
        },
        uuid_like()
    );
    let created = now();
    let model = prepared.model.id.clone();
    if !prepared.stream {
        let mut guard = Guard {
            state: &state,
            ticket,
        };
        let mut logprobs = Vec::new();
        let finished = loop {
            match events.recv().await {
                Some(EngineEvent::Token { logprob, .. }) => logprobs.extend(logprob),
                Some(EngineEvent::Finished(finished)) => break finished,
                Some(EngineEvent::Failed(error)) => {
                    return ApiError::internal(error).into_response()
                }
                None => return ApiError::internal("the engine stopped").into_response(),
            }
        };
        record_usage(&state, &finished);
        let (attribution, receipt) =
            match record(&state, adapter, grounded, guard.ticket.take(), &finished).await {
                Ok(recorded) => recorded,
                Err(error) => return error.into_response(),
            };
        let usage = usage(&finished);
        return match kind {
            Kind::Chat => Json(ChatResponse {
                id,
                object: "chat.completion",
                created,
                model,
                choices: vec![ChatChoice {
                    index: 0,
                    message: AssistantMessage {
                        role: "assistant",
                        content: finished.text.clone(),
                    },
                    logprobs: (!logprobs.is_empty()).then(|| chat_logprobs(&state, &logprobs)),
                    finish_reason: reason(finished.reason),
                }],
                usage,
                attribution,
                receipt,
            })
            .into_response(),
            Kind::Completion => Json(CompletionResponse {
                id,
                object: "text_completion",
                created,
                model,
                choices: vec![CompletionChoice {
                    index: 0,
                    text: finished.text.clone(),
                    logprobs: (!logprobs.is_empty())
                        .then(|| completion_logprobs(&state, &logprobs)),
                    finish_reason: Some(reason(finished.reason)),
                }],
                usage: Some(usage),
                receipt,
            })
            .into_response(),
        };
    }

    // Streaming: a task forwards engine events as SSE events; when the client hangs up the
    // SSE stream is dropped, the task's send fails and it drops the engine's receiver, which
    // cancels the request at the next step.
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    let include_usage = prepared.include_usage;
    tokio::spawn(async move {
        let mut guard = Guard {
            state: &state,
            ticket,
        };
        let chunk_value = |choices: serde_json::Value, usage: Option<Usage>| -> serde_json::Value {
            let object = if kind == Kind::Chat {
                "chat.completion.chunk"
            } else {
                "text_completion"
            };
            let mut value = serde_json::json!({
                "id": id, "object": object, "created": created, "model": model,
                "choices": choices,
            });
            if let Some(usage) = usage {
                value["usage"] = serde_json::to_value(usage).unwrap_or_default();
            }
            value
        };
        let chunk = |choices: serde_json::Value, usage: Option<Usage>| -> Event {
            Event::default().data(chunk_value(choices, usage).to_string())
        };
        let delta = |text: Option<String>,
                     logprob: Option<&EngineLogprob>,
                     finish: Option<&str>| {
            match kind {
                Kind::Chat => {
                    let mut delta = serde_json::json!({});
                    if let Some(text) = text {
                        delta["content"] = text.into();
                    }
                    serde_json::json!([{
                        "index": 0, "delta": delta, "finish_reason": finish,
                        "logprobs": logprob.map(|l| chat_logprobs(&state, std::slice::from_ref(l))),
                    }])
                }
                Kind::Completion => serde_json::json!([{
                    "index": 0, "text": text.unwrap_or_default(), "finish_reason": finish,
                    "logprobs": logprob.map(|l| completion_logprobs(&state, std::slice::from_ref(l))),
                }]),
            }
        };
        if kind == Kind::Chat {
            let first = serde_json::json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null, "logprobs": null}]);
            if tx.send(Ok(chunk(first, None))).await.is_err() {
                return;
            }
        }
        loop {
            let event = match events.recv().await {
                Some(EngineEvent::Token { text, logprob, .. }) => {
                    if text.is_empty() && logprob.is_none() {
                        continue;
                    }
                    chunk(delta(Some(text), logprob.as_ref(), None), None)
                }
                Some(EngineEvent::Finished(finished)) => {
                    record_usage(&state, &finished);
                    let mut last =
                        chunk_value(delta(None, None, Some(reason(finished.reason))), None);
                    match record(
                        &state,
                        adapter,
                        grounded.take(),
                        guard.ticket.take(),
                        &finished,
                    )
                    .await
                    {
                        Ok((attribution, receipt)) => {
                            if let Some(attribution) = attribution {
                                last["attribution"] = attribution;
                            }
                            if let Some(receipt) = receipt {
                                last["receipt"] = receipt;
                            }
                        }
                        Err(error) => {
                            let error = serde_json::json!({"error": {"message": error.message, "type": error.kind, "param": null, "code": error.code}});
                            let _ = tx.send(Ok(Event::default().data(error.to_string()))).await;
                            return;
                        }
                    }
                    let last = Event::default().data(last.to_string());
                    if tx.send(Ok(last)).await.is_err() {
                        return;
                    }
                    if include_usage {
                        let usage = chunk(serde_json::json!([]), Some(self::usage(&finished)));
                        if tx.send(Ok(usage)).await.is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Ok(Event::default().data("[DONE]"))).await;
                    return;
                }
                Some(EngineEvent::Failed(error)) => {
                    let error = serde_json::json!({"error": {"message": error, "type": "server_error", "param": null, "code": "internal_error"}});
                    let _ = tx.send(Ok(Event::default().data(error.to_string()))).await;
                    return;
                }
                None => return,
            };
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
    });
    (
        StatusCode::OK,
        Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default()),
    )
        .into_response()
}

fn record_usage(state: &ApiState, finished: &Finished) {
    state
        .metrics
        .prompt_tokens
        .inc_by(finished.prompt_tokens as u64);
    state
        .metrics
        .completion_tokens
        .inc_by(finished.tokens.len() as u64);
    state
        .metrics
        .time_to_first_token
        .observe(finished.time_to_first_token);
}

fn usage(finished: &Finished) -> Usage {
    Usage {
        prompt_tokens: finished.prompt_tokens,
        completion_tokens: finished.tokens.len(),
        total_tokens: finished.prompt_tokens + finished.tokens.len(),
    }
}

fn reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
    }
}

fn token_text(state: &ApiState, token: u32) -> String {
    state
        .engine
        .tokenizer()
        .decode(&[token], false)
        .unwrap_or_default()
}

fn chat_logprobs(state: &ApiState, logprobs: &[EngineLogprob]) -> Logprobs {
    Logprobs {
        content: logprobs
            .iter()
            .map(|l| {
                let token = token_text(state, l.token);
                TokenLogprob {
                    bytes: token.as_bytes().to_vec(),
                    token,
                    logprob: l.logprob,
                    top_logprobs: l
                        .top
                        .iter()
                        .map(|&(id, logprob)| {
                            let token = token_text(state, id);
                            TopLogprob {
                                bytes: token.as_bytes().to_vec(),
                                token,
                                logprob,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

fn completion_logprobs(state: &ApiState, logprobs: &[EngineLogprob]) -> CompletionLogprobs {
    let mut out = CompletionLogprobs::default();
    let mut offset = 0;
    for l in logprobs {
        let token = token_text(state, l.token);
        out.text_offset.push(offset);
        offset += token.len();
        out.tokens.push(token);
        out.token_logprobs.push(l.logprob);
        out.top_logprobs.push(
            l.top
                .iter()
                .map(|&(id, logprob)| (token_text(state, id), logprob))
                .collect(),
        );
    }
    out
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A request id: unique within a process and across restarts.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}{:04x}", NEXT.fetch_add(1, Ordering::Relaxed))
}
