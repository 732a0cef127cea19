//! The hook a paid deployment puts in front of generation: a [`Gate`] admits a request (checks
//! its authorization and reserves its fee) before anything is generated, and turns the answer
//! into a record afterwards. The free `serve` command has no gate; the operator daemon's gate
//! checks authorizations against the chain and settles the records in batches.

use super::{ApiError, ServedModel};
use attribution_primitives::attribution::{Attribution, AttributionProvenance};
use axum::http::HeaderMap;
use std::future::Future;
use std::pin::Pin;

pub type GateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// A request as the gate sees it.
pub struct Admission<'a> {
    pub headers: &'a HeaderMap,
    /// The raw request body: what the user's authorization hashes.
    pub body: &'a [u8],
    pub model: &'a ServedModel,
    pub prompt_tokens: usize,
    pub max_tokens: usize,
}

/// An admitted request: its fee is reserved until [`Gate::record`] or [`Gate::release`].
pub struct Ticket {
    /// What the gate allows: `max_tokens` lowered so that the fee stays within the user's bound.
    pub max_tokens: usize,
    /// The gate's own handle on the reservation.
    pub id: u64,
}

/// What was served for a ticket.
pub struct Outcome<'a> {
    pub answer: &'a str,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub attribution: Attribution,
    /// What the attribution was computed from (the record commits to it).
    pub provenance: AttributionProvenance,
}

pub trait Gate: Send + Sync {
    /// Checks the request's authorization before anything is generated.
    fn admit<'a>(&'a self, admission: Admission<'a>) -> GateFuture<'a, Ticket>;
    /// Persists the record of what was served (before the client gets the answer) and
    /// returns the receipt the response carries.
    fn record<'a>(
        &'a self,
        ticket: Ticket,
        outcome: Outcome<'a>,
    ) -> GateFuture<'a, serde_json::Value>;
    /// Frees a ticket whose request produced nothing to charge (an error, a client gone).
    fn release(&self, ticket: Ticket);
}
