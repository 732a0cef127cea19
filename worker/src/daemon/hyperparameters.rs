//! The hyper-parameters file a job commits to by its blake2-256 hash: a JSON document the
//! developer uploads to a node's content store after posting the job.
//!
//! ```json
//! {
//!   "method": { "kind": "lora", "rank": 8, "alpha": 16, "targets": ["q_proj", "v_proj"] },
//!   "train": { "steps": 60, "batch_size": 8, "learning_rate": 0.001, "checkpoint_every": 20 },
//!   "cutoff": 256,
//!   "eval_fraction": 0.1,
//!   "max_new_tokens": 32
//! }
//! ```
//!
//! The seed is not part of it: it is derived from the chain's genesis hash and the job id
//! ([`job_seed`]), so anyone can re-run the job exactly.

use crate::train::TrainConfig;
use crate::tuning::Method;
use anyhow::{bail, ensure, Context, Result};
use attribution_primitives::models::TrainingMethod;
use attribution_primitives::{Hash, JobId};
use serde::{Deserialize, Serialize};

/// Largest held-out share a job may ask for.
const MAX_EVAL_FRACTION: f64 = 0.5;

/// What a job trains with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyperparameters {
    pub method: Method,
    #[serde(default)]
    pub train: TrainConfig,
    /// Tokens per row, prompt included.
    #[serde(default = "default_cutoff")]
    pub cutoff: usize,
    /// Share of the rows held out for evaluation, chosen by each row's hash.
    #[serde(default = "default_eval_fraction")]
    pub eval_fraction: f64,
    /// Longest generation when scoring ROUGE on the held-out rows.
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: usize,
}

fn default_cutoff() -> usize {
    256
}
fn default_eval_fraction() -> f64 {
    0.1
}
fn default_max_new_tokens() -> usize {
    32
}

impl Hyperparameters {
    /// Parses the file's bytes and checks it fits the job's method on chain.
    pub fn parse(bytes: &[u8], method: TrainingMethod) -> Result<Self> {
        let mut parsed: Self =
            serde_json::from_slice(bytes).context("the hyper-parameters file is not valid")?;
        let matches = matches!(
            (&parsed.method, method),
            (Method::Lora(_), TrainingMethod::Lora)
                | (Method::Qlora(_), TrainingMethod::Qlora)
                | (Method::Full, TrainingMethod::Full)
        );
        if !matches {
            bail!(
                "the hyper-parameters train with `{}`, but the job on chain asks for {method:?}",
                parsed.method.name()
            );
        }
        parsed.method.validate()?;
        ensure!(parsed.cutoff >= 2, "cutoff must be at least 2 tokens");
        ensure!(
            parsed.eval_fraction > 0.0 && parsed.eval_fraction <= MAX_EVAL_FRACTION,
            "eval_fraction must be in (0, {MAX_EVAL_FRACTION}] (got {})",
            parsed.eval_fraction
        );
        ensure!(parsed.train.steps > 0, "train.steps must be at least 1");
        // A daemon shows its own progress; the file cannot turn a terminal bar on.
        parsed.train.progress = false;
        Ok(parsed)
    }
}

/// The training seed of `job` on the chain with genesis hash `genesis`.
pub fn job_seed(genesis: &Hash, job: JobId) -> u64 {
    let digest = crate::artifact::blake2b_256(
        &[
            b"attribution/job-seed".as_slice(),
            genesis.as_bytes(),
            &job.to_le_bytes(),
        ]
        .concat(),
    );
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lora::QloraBase;

    const LORA: &str = r#"{"method": {"kind": "lora", "rank": 4, "alpha": 8},
        "train": {"steps": 5}, "eval_fraction": 0.2}"#;

    #[test]
    fn parses_a_file_that_fits_the_job() {
        let parsed = Hyperparameters::parse(LORA.as_bytes(), TrainingMethod::Lora).unwrap();
        assert_eq!(parsed.train.steps, 5);
        assert_eq!(parsed.method.lora().unwrap().rank, 4);
        assert!(!parsed.train.progress);
    }

    #[test]
    fn refuses_another_method_unknown_fields_and_bad_values() {
        let error = Hyperparameters::parse(LORA.as_bytes(), TrainingMethod::Qlora).unwrap_err();
        assert!(format!("{error:#}").contains("Qlora"), "{error:#}");
        for bad in [
            r#"{"method": {"kind": "lora", "rank": 4, "alpha": 8}, "seed": 1}"#,
            r#"{"method": {"kind": "lora", "rank": 0, "alpha": 8}}"#,
            r#"{"method": {"kind": "lora", "rank": 4, "alpha": 8}, "eval_fraction": 0.9}"#,
            r#"{"method": {"kind": "lora", "rank": 4, "alpha": 8}, "cutoff": 1}"#,
            r#"not json"#,
        ] {
            assert!(
                Hyperparameters::parse(bad.as_bytes(), TrainingMethod::Lora).is_err(),
                "{bad}"
            );
        }
    }

    /// QLoRA's base: the checkpoint's own blocks unless the file says `"base": "nf4"`; a file
    /// without the field reads (and writes back) as before.
    #[test]
    fn qlora_base_is_stored_blocks_unless_the_file_asks_for_nf4() {
        let qlora = |method: &str| {
            let json = format!(r#"{{"method": {method}, "train": {{"steps": 5}}}}"#);
            Hyperparameters::parse(json.as_bytes(), TrainingMethod::Qlora)
        };
        let default = qlora(r#"{"kind": "qlora", "rank": 4, "alpha": 8}"#).unwrap();
        assert_eq!(default.method.lora().unwrap().base, QloraBase::Stored);
        let written = serde_json::to_value(&default.method).unwrap();
        assert_eq!(
            written,
            serde_json::json!({"kind": "qlora", "rank": 4, "alpha": 8.0, "dropout": 0.0,
                "targets": ["q_proj", "v_proj"]})
        );
        let nf4 = qlora(r#"{"kind": "qlora", "rank": 4, "alpha": 8, "base": "nf4"}"#).unwrap();
        assert_eq!(nf4.method.lora().unwrap().base, QloraBase::Nf4);
        let stored = qlora(r#"{"kind": "qlora", "rank": 4, "alpha": 8, "base": "stored"}"#);
        assert_eq!(
            stored.unwrap().method.lora().unwrap().base,
            QloraBase::Stored
        );

        let error =
            qlora(r#"{"kind": "qlora", "rank": 4, "alpha": 8, "base": "int3"}"#).unwrap_err();
        assert!(
            format!("{error:#}").contains("unknown variant `int3`"),
            "{error:#}"
        );
        let lora = r#"{"method": {"kind": "lora", "rank": 4, "alpha": 8, "base": "nf4"}}"#;
        let error = Hyperparameters::parse(lora.as_bytes(), TrainingMethod::Lora).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "`base` chooses how QLoRA stores its base; LoRA trains over the base in f32"
        );
    }

    #[test]
    fn seeds_differ_by_job_and_chain() {
        let genesis = Hash::repeat_byte(1);
        assert_eq!(job_seed(&genesis, 3), job_seed(&genesis, 3));
        assert_ne!(job_seed(&genesis, 3), job_seed(&genesis, 4));
        assert_ne!(job_seed(&genesis, 3), job_seed(&Hash::repeat_byte(2), 3));
    }
}
