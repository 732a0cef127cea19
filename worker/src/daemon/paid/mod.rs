//! Paid inference on the operator's side: the gate that checks a user's signed authorization
//! before anything is generated, the journal of served records, and the batcher that settles
//! them on chain.
//!
//! A request carries `X-Attribution-Authorization: 0x<hex>`, the SCALE encoding of
//! `(InferenceAuthorization, Signature)`; the authorization's `prompt_hash` is the blake2-256 of
//! the request body, exactly as sent. The gate admits it only if the signature is the user's for
//! this chain, it names this operator and the model asked, its nonce is fresh, it does not expire
//! before a batch can settle it, and the user's allowance for this operator covers every fee this
//! worker has not settled yet plus this request's `max_fee` (which only this operator can draw
//! on, so the worker is sure to be paid). `max_tokens` is lowered so that the fee, the
//! operator's advertised price per token times the tokens read and written, stays within
//! `max_fee`.

mod batcher;
mod journal;

pub use batcher::{run_batcher, BatchPolicy};
pub use journal::{Journal, Totals};

use crate::artifact::blake2b_256;
use crate::serve::api::gate::{Admission, Gate, GateFuture, Outcome, Ticket};
use crate::serve::api::ApiError;
use attribution_primitives::attribution::{InferenceAuthorization, InferenceRecord};
use attribution_primitives::{AccountId, Balance, BlockNumber, Hash, Signature};
use attribution_worker_chain::Chain;
use axum::http::StatusCode;
use codec::Decode;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The header that carries a request's authorization.
pub const AUTHORIZATION_HEADER: &str = "x-attribution-authorization";

/// Blocks an authorization must stay valid beyond the current finalized block, so that the batch
/// holding its record can settle in time.
pub const SETTLEMENT_MARGIN: BlockNumber = 20;

/// A request admitted and not yet recorded: its fee bound is held against the allowance.
struct Reservation {
    authorization: InferenceAuthorization,
    signature: Signature,
}

/// The daemon's [`Gate`].
pub struct PaidGate {
    chain: Chain,
    operator: AccountId,
    price_per_token: Balance,
    journal: Arc<Mutex<Journal>>,
    reserved: Mutex<BTreeMap<u64, Reservation>>,
    next: AtomicU64,
}

impl PaidGate {
    pub fn new(
        chain: Chain,
        operator: AccountId,
        price_per_token: Balance,
        journal: Arc<Mutex<Journal>>,
    ) -> Self {
        Self {
            chain,
            operator,
            price_per_token,
            journal,
            reserved: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        }
    }

    fn fee(&self, tokens: usize) -> Balance {
        self.price_per_token.saturating_mul(tokens as Balance)
    }

    async fn check(&self, admission: Admission<'_>) -> Result<Ticket, ApiError> {
        let header = admission
            .headers
            .get(AUTHORIZATION_HEADER)
            .ok_or_else(|| {
                refuse(
                    StatusCode::PAYMENT_REQUIRED,
                    "authorization_required",
                    format!(
                        "this operator serves paid requests: send a signed inference authorization in the {AUTHORIZATION_HEADER} header"
                    ),
                )
            })?;
        let (authorization, signature) = parse_header(header.as_bytes())?;
        let a = &authorization;
        if a.operator != self.operator {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "wrong_operator",
                format!(
                    "the authorization names operator {}, not this one",
                    a.operator
                ),
            ));
        }
        if admission.model.chain_model != Some(a.model) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "wrong_model",
                format!(
                    "the authorization is for model {}, the request asks for `{}`",
                    a.model, admission.model.id
                ),
            ));
        }
        if a.prompt_hash != Hash::from(blake2b_256(admission.body)) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "prompt_mismatch",
                "the authorization's prompt_hash is not the blake2-256 of this request's body",
            ));
        }
        if !a.verify(&self.chain.genesis(), &signature) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                "the authorization is not signed by its user for this chain",
            ));
        }
        let finalized = self.chain.finalized_number().await.map_err(unavailable)?;
        if a.expiry < finalized.saturating_add(SETTLEMENT_MARGIN) {
            return Err(refuse(
                StatusCode::PAYMENT_REQUIRED,
                "expired",
                format!(
                    "the authorization expires at block {}; this operator needs it valid until at least block {}",
                    a.expiry,
                    finalized.saturating_add(SETTLEMENT_MARGIN)
                ),
            ));
        }
        let window = self
            .chain
            .nonce_window(&a.user, &self.operator)
            .await
            .map_err(unavailable)?;
        let fresh_on_chain = window.is_none_or(|mut w| w.use_nonce(a.nonce).is_ok());
        // A free operator (price 0) lets the request ask for what it wants.
        let max_tokens = match a.max_fee.checked_div(self.price_per_token) {
            None => admission.max_tokens,
            Some(affordable) => {
                let affordable = usize::try_from(affordable).unwrap_or(usize::MAX);
                let allowed = affordable.saturating_sub(admission.prompt_tokens);
                if allowed == 0 {
                    return Err(refuse(
                    StatusCode::PAYMENT_REQUIRED,
                    "max_fee_too_low",
                    format!(
                        "max_fee {} does not pay for the prompt's {} tokens and one more at {} per token",
                        a.max_fee, admission.prompt_tokens, self.price_per_token
                    ),
                ));
                }
                admission.max_tokens.min(allowed)
            }
        };
        let allowance = self
            .chain
            .allowance(&a.user, &self.operator)
            .await
            .map_err(unavailable)?;
        // An announced reduction may unlock before this record settles: do not count on it.
        let usable = allowance
            .balance
            .saturating_sub(allowance.reduction.map_or(0, |r| r.amount));

        let mut reserved = self.reserved.lock().unwrap();
        let journal = self.journal.lock().unwrap();
        let replayed = !fresh_on_chain
            || journal.holds_nonce(&a.user, a.nonce)
            || reserved
                .values()
                .any(|r| r.authorization.user == a.user && r.authorization.nonce == a.nonce);
        if replayed {
            return Err(refuse(
                StatusCode::CONFLICT,
                "nonce_used",
                format!("nonce {} was already used with this operator", a.nonce),
            ));
        }
        let committed = journal.unsettled_fees(&a.user).saturating_add(
            reserved
                .values()
                .filter(|r| r.authorization.user == a.user)
                .map(|r| r.authorization.max_fee)
                .sum(),
        );
        if usable < committed.saturating_add(a.max_fee) {
            return Err(refuse(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_allowance",
                format!(
                    "the user's allowance for this operator ({usable}) does not cover its unsettled fees ({committed}) and max_fee ({})",
                    a.max_fee
                ),
            ));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        reserved.insert(
            id,
            Reservation {
                authorization,
                signature,
            },
        );
        Ok(Ticket { max_tokens, id })
    }
}

impl Gate for PaidGate {
    fn admit<'a>(&'a self, admission: Admission<'a>) -> GateFuture<'a, Ticket> {
        Box::pin(self.check(admission))
    }

    fn record<'a>(
        &'a self,
        ticket: Ticket,
        outcome: Outcome<'a>,
    ) -> GateFuture<'a, serde_json::Value> {
        Box::pin(async move {
            let reservation = self
                .reserved
                .lock()
                .unwrap()
                .remove(&ticket.id)
                .ok_or_else(|| ApiError::internal("the request's reservation is gone"))?;
            let tokens = outcome.prompt_tokens + outcome.completion_tokens;
            let fee = self.fee(tokens).min(reservation.authorization.max_fee);
            let record = InferenceRecord {
                output_hash: Hash::from(blake2b_256(outcome.answer.as_bytes())),
                tokens_in: outcome.prompt_tokens as u32,
                tokens_out: outcome.completion_tokens as u32,
                fee,
                attribution: outcome.attribution,
                provenance: outcome.provenance,
                user_signature: reservation.signature,
                authorization: reservation.authorization,
            };
            let nonce = record.authorization.nonce;
            let output_hash = record.output_hash;
            let seed = record.provenance.seed;
            let seq = self
                .journal
                .lock()
                .unwrap()
                .record(record)
                .map_err(|e| ApiError::internal(format!("recording the request: {e:#}")))?;
            Ok(json!({
                "record": seq,
                "nonce": nonce,
                "fee": fee.to_string(),
                "output_hash": format!("{output_hash:?}"),
                "seed": format!("{seed:?}"),
                "operator": self.operator.to_string(),
            }))
        })
    }

    fn release(&self, ticket: Ticket) {
        self.reserved.lock().unwrap().remove(&ticket.id);
    }
}

/// Decodes the header's `0x`-hex SCALE `(InferenceAuthorization, Signature)`, all of it.
pub fn parse_header(value: &[u8]) -> Result<(InferenceAuthorization, Signature), ApiError> {
    let malformed = |why: &str| {
        refuse(
            StatusCode::BAD_REQUEST,
            "invalid_authorization",
            format!("{AUTHORIZATION_HEADER} must be 0x-prefixed hex of SCALE (InferenceAuthorization, Signature): {why}"),
        )
    };
    let text = std::str::from_utf8(value).map_err(|_| malformed("not text"))?;
    let hex_digits = text
        .trim()
        .strip_prefix("0x")
        .ok_or_else(|| malformed("no 0x prefix"))?;
    let bytes = hex::decode(hex_digits).map_err(|_| malformed("not hex"))?;
    let mut input = bytes.as_slice();
    let decoded = <(InferenceAuthorization, Signature)>::decode(&mut input)
        .map_err(|_| malformed("does not decode"))?;
    if !input.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    Ok(decoded)
}

/// The header value for `authorization` signed with `signature`.
pub fn header_value(authorization: &InferenceAuthorization, signature: &Signature) -> String {
    use codec::Encode;
    format!("0x{}", hex::encode((authorization, signature).encode()))
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        kind: "payment_error",
        code,
        param: None,
        message: message.into(),
    }
}

fn unavailable(error: anyhow::Error) -> ApiError {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "chain_unavailable",
        format!("cannot check the authorization against the chain: {error:#}"),
    )
}
