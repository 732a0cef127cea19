//! Attribution Chain worker: fine-tunes Llama-architecture models with burn.
//!
//! - [`model`]: the Llama causal LM, configured from a Hugging Face `config.json`.
//! - [`checkpoint`]: `config.json` + `model.safetensors` on disk.
//! - [`lora`], [`nf4`], [`ptuning`], [`tuning`]: the fine-tuning methods.

pub mod artifact;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod eval;
pub mod job;
pub mod lora;
pub mod memory;
pub mod model;
pub mod nf4;
pub mod peft;
pub mod ptuning;
pub mod rouge;
pub mod synthetic;
pub mod train;
pub mod tuning;
