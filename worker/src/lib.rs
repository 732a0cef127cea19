//! Attribution Chain worker: fine-tunes Llama-architecture models with burn.
//!
//! - [`model`]: the Llama causal LM, configured from a Hugging Face `config.json`.
//! - [`checkpoint`]: `config.json` + `model.safetensors` on disk.
//! - [`lora`], [`nf4`], [`ptuning`], [`tuning`]: the fine-tuning methods.

pub mod artifact;
pub mod checkpoint;
pub mod lora;
pub mod model;
pub mod data;
pub mod eval;
pub mod nf4;
pub mod peft;
pub mod ptuning;
pub mod rouge;
pub mod synthetic;
pub mod train;
pub mod tuning;
