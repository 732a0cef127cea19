//! The attribution methods by name: what the worker serves (`--attribution-method`), what a record's
//! `method` names and a juror recomputes ([`Method::served`]), and what `bench attribution`
//! measures.
//!
//! A served method must be causal (it measures what removing sources does to the answer), so
//! three are served: `contextcite-v1` (the exact ablation, 32 random masks), `contextcite-v2`
//! (attention knockout) and `contextcite-prior-v1` (the exact ablation on a few masks chosen for
//! their cost, fitted toward AT2's weights, named with its coefficients' hash). AT2 alone reads
//! attention, not removals: it is measured, never served.

use super::ablation::Ablation;
use super::at2::{attribute_at2, Theta};
use super::attribution::{attribute, AnswerAttribution, AttributionRequest, ContextCiteConfig};
use super::prior::{attribute_with_prior, PriorConfig, METHOD as PRIOR_METHOD};
use crate::serve::runtime::Runtime;
use anyhow::{bail, Result};
use std::sync::Arc;

/// An attribution method with its settings.
#[derive(Clone, Debug)]
pub enum Method {
    /// ContextCite, exact ablation (`contextcite-v1`) or attention knockout (`contextcite-v2`).
    ContextCite(ContextCiteConfig),
    /// AT2 with a model's fitted coefficients.
    At2(Arc<Theta>),
    /// ContextCite with AT2's weights as a prior (`contextcite-prior-v1`).
    Prior(PriorConfig),
}

impl Method {
    /// The method's name and version (AT2's and the prior's with their coefficients' hash).
    pub fn name(&self) -> String {
        match self {
            Self::ContextCite(config) => config.ablation.method().to_string(),
            Self::At2(theta) => theta.method(),
            Self::Prior(config) => config.method(),
        }
    }

    /// Most runtime slots it keeps alive.
    pub fn max_live_slots(&self) -> usize {
        match self {
            Self::ContextCite(config) => config.max_live_slots,
            Self::At2(_) => 1,
            Self::Prior(config) => config.max_live_slots,
        }
    }

    /// Attributes `request`.
    pub fn attribute<R: Runtime + ?Sized>(
        &self,
        runtime: &mut R,
        tokenizer: &tokenizers::Tokenizer,
        request: &AttributionRequest<'_>,
    ) -> Result<AnswerAttribution> {
        match self {
            Self::ContextCite(config) => attribute(runtime, tokenizer, request, config),
            Self::At2(theta) => attribute_at2(runtime, tokenizer, request, theta),
            Self::Prior(config) => attribute_with_prior(runtime, tokenizer, request, config),
        }
    }

    /// ContextCite with `ablation` and its serving settings ([`ContextCiteConfig::default`]'s).
    pub fn context_cite(ablation: Ablation) -> Self {
        Self::ContextCite(ContextCiteConfig {
            ablation,
            ..ContextCiteConfig::default()
        })
    }

    /// The served method named `name` (the context part of a record's method), with its
    /// serving settings: `contextcite-v1` and `contextcite-v2` as
    /// [`ContextCiteConfig::default`] sets them, `contextcite-prior-v1:<16 hex digits>` with
    /// the prior's defaults and `theta`, whose hash must begin with those digits. An error that
    /// says why for anything else: AT2 (not causal), another prior's settings or coefficients,
    /// an unknown name.
    pub fn served(name: &str, theta: Option<&Arc<Theta>>) -> Result<Self> {
        for ablation in [Ablation::Exact, Ablation::Knockout] {
            if name == ablation.method() {
                return Ok(Self::context_cite(ablation));
            }
        }
        if let Some(named) = name.strip_prefix(PRIOR_METHOD) {
            let Some(theta) = theta else {
                bail!("`{name}` needs AT2's coefficients for this model, and none are known here (pass --theta FILE)");
            };
            let prior = PriorConfig::new(theta.clone());
            if prior.method() != name {
                let Some(digits) = named.strip_prefix(':') else {
                    bail!("`{name}` has other settings than the served `{PRIOR_METHOD}`'s");
                };
                bail!(
                    "`{name}` was computed with the AT2 coefficients {digits}…, this worker holds {}",
                    &prior.method()[PRIOR_METHOD.len() + 1..]
                );
            }
            return Ok(Self::Prior(prior));
        }
        if name.starts_with(super::at2::METHOD) {
            bail!("`{name}` reads attention, not removals: it is not a served method");
        }
        bail!("`{name}` is not an attribution method this worker knows")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rag::at2::{ThetaFile, THETA_FORMAT};

    fn theta(seed: i64) -> Arc<Theta> {
        let file = ThetaFile {
            format: THETA_FORMAT.into(),
            model_blake2b_256: "ab".repeat(32),
            layers: 1,
            heads: 2,
            ridge: 0.1,
            calibration: Default::default(),
            theta_q32: vec![seed, -seed],
        };
        let bytes = serde_json::to_vec(&file).unwrap();
        Arc::new(Theta {
            theta: file.coefficients(),
            file,
            hash: crate::artifact::blake2b_256(&bytes),
        })
    }

    #[test]
    fn every_served_name_parses_back_to_itself() {
        let theta = theta(1 << 30);
        let prior = Method::Prior(PriorConfig::new(theta.clone())).name();
        for name in ["contextcite-v1", "contextcite-v2", prior.as_str()] {
            let method = Method::served(name, Some(&theta)).unwrap();
            assert_eq!(method.name(), name);
        }
        let Method::ContextCite(exact) = Method::served("contextcite-v1", None).unwrap() else {
            panic!("the exact ablation is ContextCite");
        };
        assert_eq!(exact, ContextCiteConfig::default());
    }

    #[test]
    fn names_no_served_method_has_are_refused_with_the_reason() {
        let (held, other) = (theta(1 << 30), theta(3));
        let other_prior = PriorConfig::new(other.clone()).method();
        let settings = PriorConfig {
            random: 2,
            ..PriorConfig::new(held.clone())
        }
        .method();
        let cases = [
            (
                other_prior.as_str(),
                Some(&held),
                "computed with the AT2 coefficients",
            ),
            (other_prior.as_str(), None, "none are known here"),
            (settings.as_str(), Some(&held), "other settings"),
            (&other.method(), Some(&other), "not a served method"),
            ("contextcite-v3", Some(&held), "not an attribution method"),
            ("", None, "not an attribution method"),
        ];
        for (name, theta, reason) in cases {
            let err = Method::served(name, theta).unwrap_err().to_string();
            assert!(err.contains(reason), "{name}: {err}");
        }
    }
}
